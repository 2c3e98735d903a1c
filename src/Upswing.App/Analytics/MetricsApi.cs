using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Upswing.Access;
using Upswing.Common;
using Upswing.Common.Http;
using Upswing.Experiments;
using Upswing.Workspaces;

namespace Upswing.Analytics;

/// <summary>
/// Today's track events (UTC), and <see cref="Users"/>: the largest distinct-person count of any one event name today, a
/// lower bound of today's unique users. The daily rollup counts persons per day and event name, and persons are not
/// additive across event names or days, so summing would count a person once per event name.
/// </summary>
public sealed record MetricsToday(long Events, long Users);

/// <summary>The last 7 UTC days (today included): events, and on how many of the days any event came in.</summary>
public sealed record MetricsLast7Days(long Events, int ActiveDays);

/// <summary>The last 30 UTC days (today included): events.</summary>
public sealed record MetricsLast30Days(long Events);

/// <summary>An event name and its count over the last 7 days.</summary>
public sealed record MetricsTopEvent(string Event, long Events);

/// <summary>Running experiments, and experiments with experiment-metric rollup rows (results to show).</summary>
public sealed record MetricsExperiments(int Running, int WithResults);

/// <summary>A rollup job's latest run; both null before its first run.</summary>
public sealed record MetricsLastRollup(string Job, DateTimeOffset? FinishedAt, string? Outcome);

/// <summary>
/// GET /v1/metrics/summary. Users are given for today only (see <see cref="MetricsToday"/>): distinct persons are not
/// additive across days, so no multi-day user count is given.
/// </summary>
public sealed record MetricsSummaryDto(
    string Workspace, DateTimeOffset GeneratedAt, MetricsToday Today, MetricsLast7Days Last7Days, MetricsLast30Days Last30Days,
    IReadOnlyList<MetricsTopEvent> TopEvents, MetricsExperiments Experiments, IReadOnlyList<MetricsLastRollup> LastRollup);

/// <summary>A row of GET /v1/metrics/daily: one UTC day and event name from the daily rollup.</summary>
public sealed record MetricsDailyRow(DateOnly Day, string Event, long Events, long Users);

/// <summary>
/// A row of GET /v1/metrics/experiments: one experiment, metric and variation over the first-exposure days in the window.
/// <see cref="Mean"/> is sum / units (ratio metrics: sum / denominator sum); null when that is zero.
/// </summary>
public sealed record MetricsExperimentRow(string ExperimentKey, string MetricKey, int VariationIndex, string? VariationKey, long Units, double Sum, double? Mean);

/// <summary>
/// The AB Calicritters metrics API under <c>/v1/metrics</c>: aggregates for dashboards, read only from the rollup tables
/// (<c>daily_metric_rollups</c>, <c>experiment_metric_rollups</c>, <c>rollup_runs</c>), never from raw events. The key
/// travels as <c>x-dashboard-token</c> or <c>Authorization: Bearer</c>; the summary takes any key of the workspace, the
/// rest a read key (<c>us_rk_</c>) or a secret key. Every endpoint answers CSV when asked.
/// </summary>
public static class MetricsApi
{
    /// <summary>The longest window one query may ask for.</summary>
    public const int MaxWindowDays = 366;

    private const int TopEventsCount = 10;

    public static IEndpointRouteBuilder MapMetricsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/metrics").WithTags("Metrics API")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
        group.MapGet("/summary", GetSummary).WithName("GetMetricsSummary").RequireAuthorization(AccessPolicies.MetricsSummary)
            .Produces<MetricsSummaryDto>(StatusCodes.Status200OK, "application/json", Csv.ContentType)
            .WithSummary("Any key of the workspace: today's events and users, 7- and 30-day event counts, the top events, experiment counts and the last rollup runs; text/csv when asked.");
        group.MapGet("/daily", GetDaily).WithName("GetMetricsDaily").RequireAuthorization(AccessPolicies.MetricsRead)
            .Produces<IReadOnlyList<MetricsDailyRow>>(StatusCodes.Status200OK, "application/json", Csv.ContentType).ProducesValidationProblem()
            .WithSummary("Read or secret key: events and distinct users per UTC day and event over the last window_days days (today included); text/csv when asked.");
        group.MapGet("/experiments", GetExperiments).WithName("GetMetricsExperiments").RequireAuthorization(AccessPolicies.MetricsRead)
            .Produces<IReadOnlyList<MetricsExperimentRow>>(StatusCodes.Status200OK, "application/json", Csv.ContentType).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Read or secret key: units, sum and mean per experiment, metric and variation over the exposure days in the window; text/csv when asked.");
        group.MapGet("/funnels", GetFunnels).WithName("GetMetricsFunnels").RequireAuthorization(AccessPolicies.MetricsRead)
            .Produces<IReadOnlyList<FunnelResultDto>>(StatusCodes.Status200OK, "application/json", Csv.ContentType).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Read or secret key: each funnel's steps (or the one named by funnel_name, its key) over the entry days of the window from the funnels rollup; text/csv when asked.");
        return app;
    }

    /// <summary>Parses window_days: 1…366, default 7; an invalid value is a field error.</summary>
    public static Result<int> ParseWindowDays(string? value)
    {
        if (value is null)
        {
            return 7;
        }

        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var days) && days is >= 1 and <= MaxWindowDays
            ? days
            : Failure.Invalid("window_days", $"window_days must be a whole number from 1 to {MaxWindowDays}.");
    }

    /// <summary>Query: environment (a key: its events and those sent with keys bound to no environment; every environment when absent).</summary>
    private static async Task<IResult> GetSummary(
        [FromQuery(Name = "environment")] string? environment, HttpRequest request, WorkspaceContext caller, DailyMetricRollups daily,
        ExperimentMetricRollups experimentRollups, ExperimentService experiments, RollupRunner runner, WorkspaceService workspaces, TimeProvider time, CancellationToken ct)
    {
        var environmentId = await workspaces.EnvironmentIdAsync(caller.WorkspaceId, environment, "environment", ct);
        if (!environmentId.Succeeded)
        {
            return environmentId.Failure!.ToProblem();
        }

        var now = time.GetUtcNow();
        var today = RollupWindow.DayOf(now);
        var rows = await daily.ReadAsync(caller.WorkspaceId, today.AddDays(-29), today, environmentId.Value, ct);
        var week = rows.Where(r => r.Day > today.AddDays(-7)).ToList();
        var running = (await experiments.ListAsync(caller.WorkspaceId, ExperimentStatus.Running, ct)).Count;
        var withResults = (await experimentRollups.ExperimentKeysAsync(caller.WorkspaceId, ct)).Count;
        var lastRollup = new List<MetricsLastRollup>();
        foreach (var job in runner.Jobs)
        {
            var runs = await runner.ListRunsAsync(caller.WorkspaceId, job, 1, ct);
            lastRollup.Add(runs.Count == 0 ? new MetricsLastRollup(job, null, null) : new MetricsLastRollup(job, runs[0].FinishedAt, runs[0].Outcome));
        }

        var summary = new MetricsSummaryDto(
            (await workspaces.GetAsync(caller.WorkspaceId, ct))?.Slug ?? "",
            now,
            new MetricsToday(rows.Where(r => r.Day == today).Sum(r => r.Events), rows.Where(r => r.Day == today).Select(r => r.Users).DefaultIfEmpty().Max()),
            new MetricsLast7Days(week.Sum(r => r.Events), week.Select(r => r.Day).Distinct().Count()),
            new MetricsLast30Days(rows.Sum(r => r.Events)),
            [.. week.GroupBy(r => r.Event).Select(g => new MetricsTopEvent(g.Key, g.Sum(r => r.Events)))
                .OrderByDescending(e => e.Events).ThenBy(e => e.Event, StringComparer.Ordinal).Take(TopEventsCount)],
            new MetricsExperiments(running, withResults),
            lastRollup);
        return Csv.Wanted(request) ? Csv.Result(SummaryCsv.Rows(summary), SummaryCsv.Columns, "summary.csv") : TypedResults.Ok(summary);
    }

    /// <summary>Query: window_days (1–366, default 7), event (one event name; empty means all), environment (a key, as for the summary).</summary>
    private static async Task<IResult> GetDaily(
        [FromQuery(Name = "window_days")] string? windowDays, [FromQuery(Name = "event")] string? eventName, [FromQuery(Name = "environment")] string? environment,
        HttpRequest request, WorkspaceContext caller, DailyMetricRollups daily, WorkspaceService workspaces, TimeProvider time, CancellationToken ct)
    {
        var window = ParseWindowDays(windowDays);
        if (!window.Succeeded)
        {
            return window.Failure!.ToProblem();
        }

        var environmentId = await workspaces.EnvironmentIdAsync(caller.WorkspaceId, environment, "environment", ct);
        if (!environmentId.Succeeded)
        {
            return environmentId.Failure!.ToProblem();
        }

        var today = RollupWindow.DayOf(time.GetUtcNow());
        IReadOnlyList<MetricsDailyRow> rows = [.. (await daily.ReadAsync(caller.WorkspaceId, today.AddDays(1 - window.Value), today, environmentId.Value, ct))
            .Where(r => string.IsNullOrEmpty(eventName) || r.Event == eventName)
            .Select(r => new MetricsDailyRow(r.Day, r.Event, r.Events, r.Users))];
        return Csv.Wanted(request) ? Csv.Result(rows, DailyColumns, "daily.csv") : TypedResults.Ok(rows);
    }

    /// <summary>Query: window_days (1–366, default 7), funnel_name (a funnel's key; unknown is 404; empty means every funnel), environment (a key).</summary>
    private static async Task<IResult> GetFunnels(
        [FromQuery(Name = "window_days")] string? windowDays, [FromQuery(Name = "funnel_name")] string? funnelName, [FromQuery(Name = "environment")] string? environment,
        HttpRequest request, WorkspaceContext caller, FunnelService funnels, FunnelQueries queries, WorkspaceService workspaces, TimeProvider time, CancellationToken ct)
    {
        var window = ParseWindowDays(windowDays);
        if (!window.Succeeded)
        {
            return window.Failure!.ToProblem();
        }

        var environmentId = await workspaces.EnvironmentIdAsync(caller.WorkspaceId, environment, "environment", ct);
        if (!environmentId.Succeeded)
        {
            return environmentId.Failure!.ToProblem();
        }

        var today = RollupWindow.DayOf(time.GetUtcNow());
        IReadOnlyList<string> keys = string.IsNullOrEmpty(funnelName) ? [.. (await funnels.ListAsync(caller.WorkspaceId, ct)).Select(f => f.Key)] : [funnelName];
        var results = new List<FunnelResultDto>(keys.Count);
        foreach (var key in keys)
        {
            var result = await queries.GetAsync(caller.WorkspaceId, key, today.AddDays(1 - window.Value), today, environmentId.Value, null, ct);
            if (!result.Succeeded)
            {
                return result.Failure!.ToProblem();
            }

            results.Add(result.Value!);
        }

        return Csv.Wanted(request)
            ? Csv.Result(results.SelectMany(r => FunnelQueries.CsvRows(r).Select(row => (Funnel: r.Funnel.Key, Row: row))), FunnelColumns, "funnels.csv")
            : TypedResults.Ok(results);
    }

    /// <summary>Query: window_days (1–366, default 7), experiment_id (an experiment's key or id; unknown is 404).</summary>
    private static async Task<IResult> GetExperiments(
        [FromQuery(Name = "window_days")] string? windowDays, [FromQuery(Name = "experiment_id")] string? experimentId, HttpRequest request,
        WorkspaceContext caller, ExperimentMetricRollups rollups, ExperimentService experiments, TimeProvider time, CancellationToken ct)
    {
        var window = ParseWindowDays(windowDays);
        if (!window.Succeeded)
        {
            return window.Failure!.ToProblem();
        }

        var known = await experiments.ListAsync(caller.WorkspaceId, null, ct);
        string? key = null;
        if (!string.IsNullOrEmpty(experimentId))
        {
            var match = known.FirstOrDefault(e => e.Key == experimentId)
                ?? (Guid.TryParse(experimentId, out var id) ? known.FirstOrDefault(e => e.Id == id) : null);
            if (match is null)
            {
                return Problems.NotFoundProblem($"No experiment with key or id '{experimentId}'.");
            }

            key = match.Key;
        }

        var variations = known.ToDictionary(e => e.Key, e => e.Variations);
        var today = RollupWindow.DayOf(time.GetUtcNow());
        IReadOnlyList<MetricsExperimentRow> rows = [.. (await rollups.SumAsync(caller.WorkspaceId, key, today.AddDays(1 - window.Value), today, ct))
            .Select(t => new MetricsExperimentRow(
                t.ExperimentKey, t.MetricKey, t.Variation,
                variations.TryGetValue(t.ExperimentKey, out var v) && t.Variation < v.Count ? v[t.Variation].Key : null,
                t.Units, t.Sum, MeanOf(t)))];
        return Csv.Wanted(request) ? Csv.Result(rows, ExperimentColumns, "experiments.csv") : TypedResults.Ok(rows);
    }

    private static double? MeanOf(ExperimentMetricTotals t)
    {
        var divisor = t.DenominatorSum ?? t.Units;
        return divisor == 0 ? null : t.Sum / divisor;
    }

    private static readonly IReadOnlyList<CsvColumn<(string Funnel, FunnelCsvRow Row)>> FunnelColumns =
        [new("funnel", r => r.Funnel), .. FunnelQueries.CsvColumns.Select(c => new CsvColumn<(string Funnel, FunnelCsvRow Row)>(c.Name, r => c.Value(r.Row)))];

    private static readonly IReadOnlyList<CsvColumn<MetricsDailyRow>> DailyColumns =
    [
        new("day", r => r.Day), new("event", r => r.Event), new("events", r => r.Events), new("users", r => r.Users),
    ];

    private static readonly IReadOnlyList<CsvColumn<MetricsExperimentRow>> ExperimentColumns =
    [
        new("experimentKey", r => r.ExperimentKey), new("metricKey", r => r.MetricKey), new("variationIndex", r => r.VariationIndex),
        new("variationKey", r => r.VariationKey), new("units", r => r.Units), new("sum", r => r.Sum), new("mean", r => r.Mean),
    ];
}

/// <summary>
/// The summary as CSV: one row per value, columns <c>metric,key,value</c>. <c>metric</c> is the JSON path
/// (<c>today.events</c>, <c>topEvents.events</c>, <c>lastRollup.outcome</c>, …); <c>key</c> names the event or the job
/// where there are several; <c>value</c> is the number, text or instant.
/// </summary>
public static class SummaryCsv
{
    public sealed record Row(string Metric, string? Key, object? Value);

    public static readonly IReadOnlyList<CsvColumn<Row>> Columns = [new("metric", r => r.Metric), new("key", r => r.Key), new("value", r => r.Value)];

    public static IEnumerable<Row> Rows(MetricsSummaryDto s)
    {
        yield return new("workspace", null, s.Workspace);
        yield return new("generatedAt", null, s.GeneratedAt);
        yield return new("today.events", null, s.Today.Events);
        yield return new("today.users", null, s.Today.Users);
        yield return new("last7Days.events", null, s.Last7Days.Events);
        yield return new("last7Days.activeDays", null, s.Last7Days.ActiveDays);
        yield return new("last30Days.events", null, s.Last30Days.Events);
        foreach (var e in s.TopEvents)
        {
            yield return new("topEvents.events", e.Event, e.Events);
        }

        yield return new("experiments.running", null, s.Experiments.Running);
        yield return new("experiments.withResults", null, s.Experiments.WithResults);
        foreach (var r in s.LastRollup)
        {
            yield return new("lastRollup.finishedAt", r.Job, r.FinishedAt);
            yield return new("lastRollup.outcome", r.Job, r.Outcome);
        }
    }
}
