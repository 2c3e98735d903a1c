using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Upswing.Analytics;

/// <summary>
/// One row of <c>funnel_rollups</c>: the entries of one UTC day, breakdown value and environment bucket (<see cref="RollupEnvironment"/>)
/// that reached a step, and their summed seconds from entry to it.
/// </summary>
public sealed record FunnelRollupRow(string FunnelKey, DateOnly Day, string Breakdown, int Step, long Persons, double SecondsToStepSum, int FunnelVersion, Guid Environment = default);

/// <summary>One entry into a funnel: its day, breakdown value, and the seconds from entry to each step reached (step 0 is 0).</summary>
internal sealed record FunnelEntry(DateOnly Day, string Breakdown, IReadOnlyList<double> SecondsToStep);

/// <summary>
/// Which steps of a funnel each person reached (pure; no I/O). A person enters at most once per UTC day, at their first
/// event of that day matching the first step; from there each next step is the earliest unused event matching it at
/// or after the previous matched step, and no later than the entry plus the conversion window (both ends included).
/// Only timestamps count, never the order events arrived in.
/// </summary>
internal static class FunnelMatcher
{
    /// <summary>Breakdown values per funnel and day beyond this many (by entries) are merged into <see cref="Other"/>.</summary>
    public const int MaxBreakdownValues = 50;

    /// <summary>The longest stored breakdown value; longer values are cut.</summary>
    public const int MaxBreakdownLength = 200;

    public const string Other = "(other)";

    /// <summary>
    /// The entries of one person whose entry day is in <paramref name="from"/>…<paramref name="to"/>. Events may come in any
    /// order; they are ordered by timestamp, then name and properties (ordinal), so equal timestamps match the same way every time.
    /// </summary>
    public static List<FunnelEntry> Match(FunnelDto funnel, IEnumerable<CalculatorEvent> events, DateOnly from, DateOnly to)
    {
        var ordered = events.OrderBy(e => e.At).ThenBy(e => e.Name, StringComparer.Ordinal).ThenBy(e => e.Raw, StringComparer.Ordinal).ToList();
        var window = TimeSpan.FromHours(funnel.ConversionWindowHours);
        var entries = new List<FunnelEntry>();
        var seenDays = new HashSet<DateOnly>();
        for (var i = 0; i < ordered.Count; i++)
        {
            var entry = ordered[i];
            var day = RollupWindow.DayOf(entry.At);
            if (day < from || day > to || seenDays.Contains(day) || !IsStep(funnel.Steps[0], entry))
            {
                continue;
            }

            seenDays.Add(day);
            var seconds = new List<double> { 0 };
            var used = new HashSet<int> { i };
            var previous = entry.At;
            var deadline = entry.At + window;
            for (var s = 1; s < funnel.Steps.Count; s++)
            {
                var found = -1;
                for (var j = 0; j < ordered.Count; j++)
                {
                    var e = ordered[j];
                    if (e.At > deadline)
                    {
                        break;
                    }

                    if (e.At >= previous && !used.Contains(j) && IsStep(funnel.Steps[s], e))
                    {
                        found = j;
                        break;
                    }
                }

                if (found < 0)
                {
                    break;
                }

                used.Add(found);
                previous = ordered[found].At;
                seconds.Add((previous - entry.At).TotalSeconds);
            }

            entries.Add(new FunnelEntry(day, funnel.BreakdownProperty is { } property ? BreakdownValue(entry.Properties?[property]) : "", seconds));
        }

        return entries;
    }

    /// <summary>
    /// The rows of the entries: per day, breakdown value and step, the persons who reached it and their summed seconds.
    /// Per day, breakdown values beyond the <see cref="MaxBreakdownValues"/> most frequent (by entries; ties by ordinal
    /// value) count as <see cref="Other"/>. Every step gets a row, 0 persons included. In key order.
    /// </summary>
    public static List<FunnelRollupRow> Rows(FunnelDto funnel, IEnumerable<FunnelEntry> entries)
    {
        var rows = new List<FunnelRollupRow>();
        foreach (var day in entries.GroupBy(e => e.Day).OrderBy(g => g.Key))
        {
            var kept = day.GroupBy(e => e.Breakdown, StringComparer.Ordinal).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                .Take(MaxBreakdownValues).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
            foreach (var group in day.GroupBy(e => kept.Contains(e.Breakdown) ? e.Breakdown : Other, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                for (var s = 0; s < funnel.Steps.Count; s++)
                {
                    var reached = group.Where(e => e.SecondsToStep.Count > s).ToList();
                    rows.Add(new FunnelRollupRow(funnel.Key, day.Key, group.Key, s, reached.Count, reached.Sum(e => e.SecondsToStep[s]), funnel.Version));
                }
            }
        }

        return rows;
    }

    /// <summary>Whether an event is a step's: its name, and every filter matches (<see cref="ExperimentMetricCalculator.Matches"/>).</summary>
    public static bool IsStep(FunnelStep step, CalculatorEvent e) => e.Name == step.Event && ExperimentMetricCalculator.Matches(step.Filters, e);

    /// <summary>A property as breakdown text: strings as they are, numbers round-trip invariant, true/false; missing, null or anything else "".</summary>
    public static string BreakdownValue(JsonNode? node)
    {
        var text = node is JsonValue value
            ? value.GetValueKind() switch
            {
                JsonValueKind.String => value.GetValue<string>(),
                JsonValueKind.Number => value.GetValue<double>().ToString("R", CultureInfo.InvariantCulture),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => "",
            }
            : "";
        return text.Length > MaxBreakdownLength ? text[..MaxBreakdownLength] : text;
    }
}
