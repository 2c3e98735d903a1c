using Upswing.Common;
using Upswing.Common.Http;

namespace Upswing.Analytics;

/// <summary>The funnel a result is of, as the analytics endpoint shows it.</summary>
public sealed record FunnelSummaryDto(string Key, string Name, int ConversionWindowHours, string? BreakdownProperty, int Version);

/// <summary>
/// One step's totals over the range's daily entries: persons who reached it, conversion from the first step and from the
/// previous one (null when that step has no persons), persons lost since the previous step, and the mean seconds from
/// entry to this step (null for the first step and when nobody reached it).
/// </summary>
public sealed record FunnelStepResultDto(int Index, string Event, long Persons, double? ConversionFromStart, double? ConversionFromPrevious, long DropOff, double? AverageSecondsToConvert);

/// <summary>The steps of the entries with one breakdown value ("(none)" when the entry event had no value, "(other)" beyond the 50 most frequent of a day).</summary>
public sealed record FunnelBreakdownDto(string Value, IReadOnlyList<FunnelStepResultDto> Steps);

/// <summary>One UTC day: entries into the funnel, and how many of them reached the last step.</summary>
public sealed record FunnelDayDto(DateOnly Day, long Entered, long Completed);

/// <summary>A funnel's result over <see cref="From"/>…<see cref="To"/>: counts are sums of daily entries.</summary>
public sealed record FunnelResultDto(
    FunnelSummaryDto Funnel, DateOnly From, DateOnly To, IReadOnlyList<FunnelStepResultDto> Steps, IReadOnlyList<FunnelBreakdownDto> Breakdowns, IReadOnlyList<FunnelDayDto> Daily);

/// <summary>A CSV row of the funnel result: one per breakdown value ("" = all entries) and step.</summary>
public sealed record FunnelCsvRow(string Breakdown, FunnelStepResultDto Step);

/// <summary>
/// Funnel results from <c>funnel_rollups</c> and the definition only (never raw events): the API's
/// <c>GET /api/v1/analytics/funnels</c>, and anything else that shows a funnel. Only rows of the definition's current
/// version count: after a change the funnel shows no data until the next rollup run.
/// </summary>
public sealed class FunnelQueries(FunnelService funnels, FunnelRollups rollups)
{
    /// <summary>The shown value of the empty breakdown (the entry event had no such property, or null).</summary>
    public const string None = "(none)";

    public static readonly IReadOnlyList<CsvColumn<FunnelCsvRow>> CsvColumns =
    [
        new("breakdown", r => r.Breakdown), new("step", r => r.Step.Index), new("event", r => r.Step.Event), new("persons", r => r.Step.Persons),
        new("conversionFromStart", r => r.Step.ConversionFromStart), new("conversionFromPrevious", r => r.Step.ConversionFromPrevious),
        new("dropOff", r => r.Step.DropOff), new("averageSecondsToConvert", r => r.Step.AverageSecondsToConvert),
    ];

    /// <summary>
    /// A funnel's result over the days <paramref name="from"/>…<paramref name="to"/> (UTC, both included) in the view of
    /// <paramref name="environmentId"/> (null: every environment; buckets are summed, see <see cref="RollupEnvironment"/>),
    /// of the entries whose breakdown property had the value <paramref name="breakdown"/> (<see cref="None"/>: had none;
    /// null: every entry); 404 for an unknown funnel, a field error for a value filter on a funnel without a breakdown.
    /// </summary>
    public async Task<Result<FunnelResultDto>> GetAsync(Guid workspaceId, string key, DateOnly from, DateOnly to, Guid? environmentId, string? breakdown, CancellationToken ct)
    {
        if (await funnels.GetAsync(workspaceId, key, ct) is not { } funnel)
        {
            return Failure.NotFound($"No funnel with key '{key}'.");
        }

        if (breakdown is not null && funnel.BreakdownProperty is null)
        {
            return Failure.Invalid("breakdown", $"The funnel '{key}' has no breakdown property to filter by.");
        }

        var value = breakdown == None ? "" : breakdown;
        var rows = (await rollups.ReadAsync(workspaceId, key, from, to, environmentId, ct))
            .Where(r => r.FunnelVersion == funnel.Version && r.Step < funnel.Steps.Count && (value is null || r.Breakdown == value)).ToList();
        var breakdowns = funnel.BreakdownProperty is null
            ? []
            : rows.GroupBy(r => r.Breakdown, StringComparer.Ordinal)
                .Select(g => (Value: g.Key, Entries: g.Where(r => r.Step == 0).Sum(r => r.Persons), Rows: g.ToList()))
                .OrderByDescending(b => b.Entries).ThenBy(b => b.Value, StringComparer.Ordinal)
                .Select(b => new FunnelBreakdownDto(b.Value.Length == 0 ? None : b.Value, Steps(funnel, b.Rows)))
                .ToList();
        var last = funnel.Steps.Count - 1;
        var byDay = rows.GroupBy(r => r.Day).ToDictionary(g => g.Key, g => (Entered: g.Where(r => r.Step == 0).Sum(r => r.Persons), Completed: g.Where(r => r.Step == last).Sum(r => r.Persons)));
        var daily = Enumerable.Range(0, to.DayNumber - from.DayNumber + 1).Select(i => from.AddDays(i))
            .Select(d => byDay.TryGetValue(d, out var c) ? new FunnelDayDto(d, c.Entered, c.Completed) : new FunnelDayDto(d, 0, 0)).ToList();
        return new FunnelResultDto(
            new FunnelSummaryDto(funnel.Key, funnel.Name, funnel.ConversionWindowHours, funnel.BreakdownProperty, funnel.Version), from, to, Steps(funnel, rows), breakdowns, daily);
    }

    /// <summary>The result as CSV rows: every step of all entries (breakdown ""), then every step of each breakdown value.</summary>
    public static IEnumerable<FunnelCsvRow> CsvRows(FunnelResultDto result) =>
        result.Steps.Select(s => new FunnelCsvRow("", s)).Concat(result.Breakdowns.SelectMany(b => b.Steps.Select(s => new FunnelCsvRow(b.Value, s))));

    private static List<FunnelStepResultDto> Steps(FunnelDto funnel, IReadOnlyList<FunnelRollupRow> rows)
    {
        var persons = new long[funnel.Steps.Count];
        var seconds = new double[funnel.Steps.Count];
        foreach (var row in rows)
        {
            persons[row.Step] += row.Persons;
            seconds[row.Step] += row.SecondsToStepSum;
        }

        return [.. funnel.Steps.Select((step, i) => new FunnelStepResultDto(
            i, step.Event, persons[i],
            Ratio(persons[i], persons[0]),
            Ratio(persons[i], persons[i == 0 ? 0 : i - 1]),
            i == 0 ? 0 : persons[i - 1] - persons[i],
            i == 0 || persons[i] == 0 ? null : seconds[i] / persons[i]))];
    }

    private static double? Ratio(long part, long whole) => whole == 0 ? null : (double)part / whole;
}
