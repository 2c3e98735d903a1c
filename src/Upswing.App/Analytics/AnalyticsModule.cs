using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Upswing.Common;
using Upswing.Common.Http;
using Upswing.Jobs;
using Upswing.Workspaces;

namespace Upswing.Analytics;

/// <summary>Analytics: metric definitions, the rollup jobs (daily metrics, experiment metrics), the experiment results endpoint and the /v1/metrics API.</summary>
public static class AnalyticsModule
{
    public static IHostApplicationBuilder AddAnalytics(this IHostApplicationBuilder builder)
    {
        builder.Services.AddScoped<MetricService>();
        builder.Services.AddScoped<FunnelService>();
        builder.Services.AddScoped<FunnelQueries>();
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
        builder.Services.AddRollup<FunnelRollups>(FunnelRollups.Name);
        builder.Services.AddRollup<RetentionRollups>(RetentionRollups.Name);
        builder.Services.AddScoped<RetentionQuery>();
        builder.Services.AddRollup<KFactorRollups>(KFactorRollups.Name);
        builder.Services.AddScoped<KFactorQuery>();
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

        var funnels = app.MapManagementGroup("/funnels", "Funnels");
        funnels.MapGet("/", ListFunnels).WithName("ListFunnels").WithSummary("The workspace's funnel definitions, by key.");
        funnels.MapGet("/{key}", GetFunnel).WithName("GetFunnel").WithSummary("One funnel definition.");
        funnels.MapPost("/", CreateFunnel).WithName("CreateFunnel")
            .WithSummary("Defines a funnel: 2–10 steps (an event and its property filters), a conversion window in hours and an optional breakdown property of the first step's event.");
        funnels.MapPatch("/{key}", UpdateFunnel).WithName("UpdateFunnel")
            .WithSummary("Changes a funnel; only the fields present change, the key stays, and the next rollup run recomputes the funnel.");
        funnels.MapDelete("/{key}", DeleteFunnel).WithName("DeleteFunnel").WithSummary("Deletes a funnel and its rollup rows.");

        app.MapManagementGroup("/experiments", "Experiments").MapGet("/{key}/results", GetExperimentResults).WithName("GetExperimentResults")
            .WithSummary("Per metric and variation: estimate, interval, p-value (raw and adjusted) or chance to win, verdict, guardrail status, a cumulative daily series; the SRM check and a recommendation.");

        var analytics = app.MapManagementGroup("/analytics", "Analytics");
        analytics.MapGet("/retention", GetRetention).WithName("GetRetention")
            .Produces<RetentionDto>(StatusCodes.Status200OK, "application/json", Csv.ContentType).ProducesValidationProblem()
            .WithSummary("Retention cohorts from the retention rollup (first-time or recurring, by UTC day or ISO week): each cohort's size and the persons active N periods later, and the average per offset; text/csv when asked.");
        analytics.MapGet("/vitals", GetVitals).WithName("GetVitals")
            .Produces<IReadOnlyList<VitalsDto>>(StatusCodes.Status200OK, "application/json", Csv.ContentType).ProducesValidationProblem()
            .WithSummary("Web vitals per UTC day, metric, page path and device class from the vitals rollup: samples, p50, p75, p90 and the p75's rating; text/csv when asked.");
        analytics.MapGet("/funnels", GetFunnelResult).WithName("GetFunnelResult")
            .Produces<FunnelResultDto>(StatusCodes.Status200OK, "application/json", Csv.ContentType).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("A funnel's steps over a day range from the funnels rollup (sums of daily entries): persons, conversion, drop-off and time to convert, per breakdown value, and entries per day; text/csv when asked.");
        analytics.MapGet("/kfactor", GetKFactor).WithName("GetKFactor")
            .Produces<KFactorReport>(StatusCodes.Status200OK, "application/json", Csv.ContentType).ProducesValidationProblem()
            .WithSummary("K-factor per viral loop and per loop and cohort day from the kfactor rollup: inviters, invites sent, opened, joined, reached first value, their rates and K; text/csv (the cohort rows) when asked.");
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

    /// <summary>
    /// Query: from, to (YYYY-MM-DD, UTC; default the last 30 days), metric, path, device, environment (a key: its
    /// measurements and those sent with keys bound to no environment; every environment when absent). Reads only the rollup.
    /// </summary>
    private static async Task<IResult> GetVitals(
        string? from, string? to, string? metric, string? path, string? device, string? environment, HttpRequest request,
        WorkspaceContext caller, VitalsRollups vitals, WorkspaceService workspaces, TimeProvider time, CancellationToken ct)
    {
        var filter = VitalsFilter.Parse(from, to, metric, path, device, RollupWindow.DayOf(time.GetUtcNow()));
        if (!filter.Succeeded)
        {
            return filter.Failure!.ToProblem();
        }

        var environmentId = await workspaces.EnvironmentIdAsync(caller.WorkspaceId, environment, "environment", ct);
        if (!environmentId.Succeeded)
        {
            return environmentId.Failure!.ToProblem();
        }

        var f = filter.Value!;
        IReadOnlyList<VitalsDto> rows = [.. (await vitals.ReadAsync(caller.WorkspaceId, f.From, f.To, f.Metric, f.Path, f.Device, environmentId.Value, ct))
            .Select(r => new VitalsDto(r.Day, r.Metric, r.Path, r.DeviceClass, r.Samples, r.P50, r.P75, r.P90, Vitals.Rating(r.Metric, r.P75)))];
        return Csv.Wanted(request) ? Csv.Result(rows, VitalsCsv.Columns, "vitals.csv") : TypedResults.Ok(rows);
    }

    private static async Task<Ok<IReadOnlyList<FunnelDto>>> ListFunnels(WorkspaceContext caller, FunnelService funnels, CancellationToken ct) =>
        TypedResults.Ok(await funnels.ListAsync(caller.WorkspaceId, ct));

    private static async Task<Results<Ok<FunnelDto>, ProblemHttpResult>> GetFunnel(string key, WorkspaceContext caller, FunnelService funnels, CancellationToken ct) =>
        await funnels.GetAsync(caller.WorkspaceId, key, ct) is { } funnel ? TypedResults.Ok(funnel) : Problems.NotFoundProblem($"No funnel with key '{key}'.");

    private static async Task<Results<Created<FunnelDto>, ProblemHttpResult>> CreateFunnel(FunnelRequest request, WorkspaceContext caller, FunnelService funnels, CancellationToken ct)
    {
        var result = await funnels.CreateAsync(caller, request, ct);
        return result.Succeeded ? TypedResults.Created($"/api/v1/funnels/{result.Value!.Key}", result.Value) : result.Failure!.ToProblem();
    }

    private static async Task<Results<Ok<FunnelDto>, ProblemHttpResult>> UpdateFunnel(string key, FunnelRequest request, WorkspaceContext caller, FunnelService funnels, CancellationToken ct) =>
        (await funnels.UpdateAsync(caller, key, request, ct)).ToOkOrProblem();

    private static async Task<Results<Ok<FunnelDto>, ProblemHttpResult>> DeleteFunnel(string key, WorkspaceContext caller, FunnelService funnels, CancellationToken ct) =>
        (await funnels.DeleteAsync(caller, key, ct)).ToOkOrProblem();

    /// <summary>
    /// Query: funnel (key, required), from, to (YYYY-MM-DD, UTC; default the last 30 days, at most 366), environment (a key,
    /// see <see cref="RollupEnvironment"/>; every environment when absent), breakdown (a value of the funnel's breakdown
    /// property, "(none)" for entries without one: only those entries). Reads only the rollup and the definition.
    /// </summary>
    private static async Task<IResult> GetFunnelResult(
        string? funnel, string? from, string? to, string? environment, string? breakdown, HttpRequest request, WorkspaceContext caller, FunnelQueries queries,
        WorkspaceService workspaces, TimeProvider time, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var range = DayRange.Parse(from, to, RollupWindow.DayOf(time.GetUtcNow()), 30, errors);
        if (string.IsNullOrWhiteSpace(funnel))
        {
            errors.Add("funnel", "The funnel field is required: the key of the funnel.");
        }

        var environmentId = await workspaces.EnvironmentIdAsync(caller.WorkspaceId, environment, "environment", ct);
        foreach (var (field, messages) in environmentId.Failure?.Errors ?? new Dictionary<string, string[]>())
        {
            errors.Add(field, string.Join(" ", messages));
        }

        if (errors.Any)
        {
            return errors.ToFailure().ToProblem();
        }

        var result = await queries.GetAsync(caller.WorkspaceId, funnel!, range.From, range.To, environmentId.Value, string.IsNullOrEmpty(breakdown) ? null : breakdown, ct);
        if (!result.Succeeded)
        {
            return result.Failure!.ToProblem();
        }

        return Csv.Wanted(request) ? Csv.Result(FunnelQueries.CsvRows(result.Value!), FunnelQueries.CsvColumns, "funnel.csv") : TypedResults.Ok(result.Value);
    }

    /// <summary>Query: type (first_time|recurring), period (day|week), from, to (cohort starts, YYYY-MM-DD, UTC), environment (a key). Reads only the rollup.</summary>
    private static async Task<IResult> GetRetention(
        string? type, string? period, string? from, string? to, string? environment, HttpRequest request,
        WorkspaceContext caller, RetentionQuery retention, WorkspaceService workspaces, TimeProvider time, CancellationToken ct)
    {
        var today = RollupWindow.DayOf(time.GetUtcNow());
        var filter = RetentionFilter.Parse(type, period, from, to, today);
        if (!filter.Succeeded)
        {
            return filter.Failure!.ToProblem();
        }

        var environmentId = await workspaces.EnvironmentIdAsync(caller.WorkspaceId, environment, "environment", ct);
        if (!environmentId.Succeeded)
        {
            return environmentId.Failure!.ToProblem();
        }

        var answer = await retention.GetAsync(caller.WorkspaceId, filter.Value!, environmentId.Value, today, ct);
        return Csv.Wanted(request) ? Csv.Result(RetentionQuery.CsvRows(answer), RetentionQuery.CsvColumns, "retention.csv") : TypedResults.Ok(answer);
    }

    /// <summary>Query: from, to (cohort days, YYYY-MM-DD, UTC; default the last 30 days), loop, environment (a key). Reads only the rollup.</summary>
    private static async Task<IResult> GetKFactor(
        string? from, string? to, string? loop, string? environment, HttpRequest request, WorkspaceContext caller, KFactorQuery kfactor,
        WorkspaceService workspaces, TimeProvider time, CancellationToken ct)
    {
        var filter = KFactorFilter.Parse(from, to, loop, RollupWindow.DayOf(time.GetUtcNow()));
        if (!filter.Succeeded)
        {
            return filter.Failure!.ToProblem();
        }

        var environmentId = await workspaces.EnvironmentIdAsync(caller.WorkspaceId, environment, "environment", ct);
        if (!environmentId.Succeeded)
        {
            return environmentId.Failure!.ToProblem();
        }

        var report = await kfactor.GetAsync(caller.WorkspaceId, filter.Value!, environmentId.Value, ct);
        return Csv.Wanted(request) ? Csv.Result(report.Cohorts, KFactorCsv.Columns, "kfactor.csv") : TypedResults.Ok(report);
    }

    private static async Task<Results<Ok<MetricDto>, ProblemHttpResult>> DeleteMetric(string key, WorkspaceContext caller, MetricService metrics, CancellationToken ct) =>
        (await metrics.DeleteAsync(caller, key, ct)).ToOkOrProblem();
}
