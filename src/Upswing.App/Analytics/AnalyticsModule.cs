using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Upswing.Common;
using Upswing.Common.Http;
using Upswing.Jobs;

namespace Upswing.Analytics;

/// <summary>Analytics: metric definitions, the rollup jobs (daily metrics, experiment metrics), the experiment results endpoint and the /v1/metrics API.</summary>
public static class AnalyticsModule
{
    public static IHostApplicationBuilder AddAnalytics(this IHostApplicationBuilder builder)
    {
        builder.Services.AddScoped<MetricService>();
        builder.Services.AddScoped<ExperimentMetricRollups>();
        builder.Services.AddScoped<ExperimentResultsService>();
        builder.Services.AddOptions<AnalyticsOptions>().BindConfiguration(AnalyticsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddScoped<RollupRunner>();
        // One job kind runs every rollup; each rollup adds its periodic job. A new kind of rollup is one class and one line here.
        builder.Services.AddJob<RollupJob, RollupJobHandler>(o =>
        {
            o.MaxAttempts = 1;
            o.Timeout = TimeSpan.FromMinutes(30);
        });
        builder.Services.AddJob<PruneRollupRuns, PruneRollupRunsHandler>();
        builder.Services.AddPeriodicJob("prune-rollup-runs", "0 17 * * * ?", new PruneRollupRuns());
        builder.Services.AddRollup<DailyMetricRollups>(DailyMetricRollups.Name);
        builder.Services.AddRollup<ExperimentRollups>(ExperimentRollups.Name);
        builder.Services.AddRollup<VitalsRollups>(VitalsRollups.Name);
        return builder;
    }

    public static IEndpointRouteBuilder MapAnalytics(this IEndpointRouteBuilder app)
    {
        var metrics = app.MapManagementGroup("/metrics", "Metrics");
        metrics.MapGet("/", ListMetrics).WithName("ListMetrics").WithSummary("The workspace's metric definitions, by key.");
        metrics.MapGet("/{key}", GetMetric).WithName("GetMetric").WithSummary("One metric definition.");
        metrics.MapPost("/", CreateMetric).WithName("CreateMetric")
            .WithSummary("Defines a metric: binomial, count, sum, mean, ratio (of two other metrics) or retention, from an event and its property filters.");
        metrics.MapPatch("/{key}", UpdateMetric).WithName("UpdateMetric")
            .WithSummary("Changes a metric's definition; only the fields present change, and the key stays.");
        metrics.MapDelete("/{key}", DeleteMetric).WithName("DeleteMetric").WithSummary("Deletes a metric that no ratio metric uses.");

        app.MapManagementGroup("/experiments", "Experiments").MapGet("/{key}/results", GetExperimentResults).WithName("GetExperimentResults")
            .WithSummary("Per metric and variation: estimate, interval, p-value (raw and adjusted) or chance to win, verdict, guardrail status, a cumulative daily series; the SRM check and a recommendation.");

        app.MapManagementGroup("/analytics", "Analytics").MapGet("/vitals", GetVitals).WithName("GetVitals")
            .Produces<IReadOnlyList<VitalsDto>>(StatusCodes.Status200OK, "application/json", Csv.ContentType).ProducesValidationProblem()
            .WithSummary("Web vitals per UTC day, metric, page path and device class from the vitals rollup: samples, p50, p75, p90 and the p75's rating; text/csv when asked.");
        app.MapMetricsApi();
        return app;
    }

    private static async Task<Ok<IReadOnlyList<MetricDto>>> ListMetrics(WorkspaceContext caller, MetricService metrics, CancellationToken ct) =>
        TypedResults.Ok(await metrics.ListAsync(caller.WorkspaceId, ct));

    private static async Task<Results<Ok<MetricDto>, ProblemHttpResult>> GetMetric(string key, WorkspaceContext caller, MetricService metrics, CancellationToken ct) =>
        await metrics.GetAsync(caller.WorkspaceId, key, ct) is { } metric ? TypedResults.Ok(metric) : Problems.NotFoundProblem($"No metric with key '{key}'.");

    private static async Task<Results<Created<MetricDto>, ProblemHttpResult>> CreateMetric(MetricRequest request, WorkspaceContext caller, MetricService metrics, CancellationToken ct)
    {
        var result = await metrics.CreateAsync(caller, request, ct);
        return result.Succeeded ? TypedResults.Created($"/api/v1/metrics/{result.Value!.Key}", result.Value) : result.Failure!.ToProblem();
    }

    private static async Task<Results<Ok<MetricDto>, ProblemHttpResult>> UpdateMetric(string key, MetricRequest request, WorkspaceContext caller, MetricService metrics, CancellationToken ct) =>
        (await metrics.UpdateAsync(caller, key, request, ct)).ToOkOrProblem();

    /// <summary>Query: engine (frequentist|bayesian), differenceType (relative|absolute), correction (holm|bh|none), alpha, sequential, cuped.</summary>
    private static async Task<Results<Ok<ExperimentResultsDto>, ProblemHttpResult>> GetExperimentResults(
        string key, string? engine, string? differenceType, string? correction, string? alpha, string? sequential, string? cuped,
        WorkspaceContext caller, ExperimentResultsService results, CancellationToken ct)
    {
        var settings = ExperimentResultsService.ParseSettings(engine, differenceType, correction, alpha, sequential, cuped);
        return settings.Succeeded
            ? (await results.GetAsync(caller.WorkspaceId, key, settings.Value!, ct)).ToOkOrProblem()
            : settings.Failure!.ToProblem();
    }

    /// <summary>Query: from, to (YYYY-MM-DD, UTC; default the last 30 days), metric, path, device. Reads only the rollup.</summary>
    private static async Task<IResult> GetVitals(
        string? from, string? to, string? metric, string? path, string? device, HttpRequest request,
        WorkspaceContext caller, VitalsRollups vitals, TimeProvider time, CancellationToken ct)
    {
        var filter = VitalsFilter.Parse(from, to, metric, path, device, RollupWindow.DayOf(time.GetUtcNow()));
        if (!filter.Succeeded)
        {
            return filter.Failure!.ToProblem();
        }

        var f = filter.Value!;
        IReadOnlyList<VitalsDto> rows = [.. (await vitals.ReadAsync(caller.WorkspaceId, f.From, f.To, f.Metric, f.Path, f.Device, ct))
            .Select(r => new VitalsDto(r.Day, r.Metric, r.Path, r.DeviceClass, r.Samples, r.P50, r.P75, r.P90, Vitals.Rating(r.Metric, r.P75)))];
        return Csv.Wanted(request) ? Csv.Result(rows, VitalsCsv.Columns, "vitals.csv") : TypedResults.Ok(rows);
    }

    private static async Task<Results<Ok<MetricDto>, ProblemHttpResult>> DeleteMetric(string key, WorkspaceContext caller, MetricService metrics, CancellationToken ct) =>
        (await metrics.DeleteAsync(caller, key, ct)).ToOkOrProblem();
}
