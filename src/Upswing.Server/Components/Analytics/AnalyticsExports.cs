using Upswing.Access;
using Upswing.Analytics;
using Upswing.Common.Http;

namespace Upswing.Server.Components.Analytics;

/// <summary>
/// The analytics pages' "Download CSV" links: the same rollup rows the page shows, for the signed-in member of the
/// workspace (another workspace is a 404), with the page's filters. The API answers the same CSV to keys.
/// </summary>
internal static class AnalyticsExports
{
    private static readonly IReadOnlyList<CsvColumn<DailyMetricRow>> DailyColumns =
        [new("day", r => r.Day), new("event", r => r.Event), new("events", r => r.Events), new("users", r => r.Users)];

    public static IEndpointRouteBuilder MapAnalyticsExports(this IEndpointRouteBuilder app)
    {
        var exports = app.MapGroup("/w/{slug}/analytics/export").RequireAuthorization(AccessPolicies.Dashboard).ExcludeFromDescription();
        exports.MapGet("/daily.csv", Daily);
        exports.MapGet("/vitals.csv", VitalsCsvExport);
        exports.MapGet("/funnels.csv", FunnelsCsv);
        exports.MapGet("/retention.csv", RetentionCsv);
        exports.MapGet("/kfactor.csv", KFactorCsvExport);
        return app;
    }

    private static async Task<IResult> Daily(
        string slug, string? env, string? from, string? to, string? @event, DashboardSession session, DailyMetricRollups daily, TimeProvider time, CancellationToken ct)
    {
        if (await session.OpenAsync(slug, env, ct) is not { } view)
        {
            return Problems.NotFoundProblem("No such workspace.");
        }

        var errors = new Upswing.Common.FieldErrors();
        var range = DayRange.Parse(from, to, RollupWindow.DayOf(time.GetUtcNow()), AnalyticsView.DefaultDays, errors);
        if (errors.Any)
        {
            return errors.ToFailure().ToProblem();
        }

        var rows = await daily.ReadAsync(view.Workspace.Id, range.From, range.To, view.Environment.Id, ct);
        return Csv.Result(rows.Where(r => string.IsNullOrEmpty(@event) || r.Event == @event), DailyColumns, $"{slug}-daily-{DayRange.Format(range.From)}-{DayRange.Format(range.To)}.csv");
    }

    private static async Task<IResult> VitalsCsvExport(
        string slug, string? env, string? from, string? to, string? metric, string? path, string? device, DashboardSession session, VitalsRollups vitals, TimeProvider time,
        CancellationToken ct)
    {
        if (await session.OpenAsync(slug, env, ct) is not { } view)
        {
            return Problems.NotFoundProblem("No such workspace.");
        }

        var filter = VitalsFilter.Parse(from, to, AnalyticsView.Blank(metric), AnalyticsView.Blank(path), AnalyticsView.Blank(device), RollupWindow.DayOf(time.GetUtcNow()));
        if (!filter.Succeeded)
        {
            return filter.Failure!.ToProblem();
        }

        var f = filter.Value!;
        var rows = (await vitals.ReadAsync(view.Workspace.Id, f.From, f.To, f.Metric, f.Path, f.Device, view.Environment.Id, ct))
            .Select(r => new VitalsDto(r.Day, r.Metric, r.Path, r.DeviceClass, r.Samples, r.P50, r.P75, r.P90, Upswing.Analytics.Vitals.Rating(r.Metric, r.P75)));
        return Csv.Result(rows, VitalsCsv.Columns, $"{slug}-vitals-{DayRange.Format(f.From)}-{DayRange.Format(f.To)}.csv");
    }

    private static async Task<IResult> FunnelsCsv(
        string slug, string? env, string? from, string? to, string? funnel, string? breakdown, DashboardSession session, FunnelQueries queries, TimeProvider time,
        CancellationToken ct)
    {
        if (await session.OpenAsync(slug, env, ct) is not { } view)
        {
            return Problems.NotFoundProblem("No such workspace.");
        }

        var errors = new Upswing.Common.FieldErrors();
        var range = DayRange.Parse(from, to, RollupWindow.DayOf(time.GetUtcNow()), AnalyticsView.DefaultDays, errors);
        if (errors.Any)
        {
            return errors.ToFailure().ToProblem();
        }

        var result = await queries.GetAsync(view.Workspace.Id, funnel ?? "", range.From, range.To, view.Environment.Id, AnalyticsView.Blank(breakdown), ct);
        return result.Succeeded
            ? Csv.Result(FunnelQueries.CsvRows(result.Value!), FunnelQueries.CsvColumns, $"{slug}-funnel-{funnel}-{DayRange.Format(range.From)}-{DayRange.Format(range.To)}.csv")
            : result.Failure!.ToProblem();
    }

    private static async Task<IResult> RetentionCsv(
        string slug, string? env, string? type, string? period, string? from, string? to, DashboardSession session, RetentionQuery retention, TimeProvider time, CancellationToken ct)
    {
        if (await session.OpenAsync(slug, env, ct) is not { } view)
        {
            return Problems.NotFoundProblem("No such workspace.");
        }

        var today = RollupWindow.DayOf(time.GetUtcNow());
        var filter = RetentionFilter.Parse(AnalyticsView.Blank(type), AnalyticsView.Blank(period), AnalyticsView.Blank(from), AnalyticsView.Blank(to), today);
        if (!filter.Succeeded)
        {
            return filter.Failure!.ToProblem();
        }

        var answer = await retention.GetAsync(view.Workspace.Id, filter.Value!, view.Environment.Id, today, ct);
        return Csv.Result(RetentionQuery.CsvRows(answer), RetentionQuery.CsvColumns, $"{slug}-retention-{answer.Type}-{answer.Period}.csv");
    }

    private static async Task<IResult> KFactorCsvExport(
        string slug, string? env, string? from, string? to, string? loop, DashboardSession session, KFactorQuery kfactor, TimeProvider time, CancellationToken ct)
    {
        if (await session.OpenAsync(slug, env, ct) is not { } view)
        {
            return Problems.NotFoundProblem("No such workspace.");
        }

        var filter = KFactorFilter.Parse(AnalyticsView.Blank(from), AnalyticsView.Blank(to), AnalyticsView.Blank(loop), RollupWindow.DayOf(time.GetUtcNow()));
        if (!filter.Succeeded)
        {
            return filter.Failure!.ToProblem();
        }

        var report = await kfactor.GetAsync(view.Workspace.Id, filter.Value!, view.Environment.Id, ct);
        return Csv.Result(report.Cohorts, KFactorCsv.Columns, $"{slug}-kfactor-{DayRange.Format(report.From)}-{DayRange.Format(report.To)}.csv");
    }
}
