using System.Globalization;
using Upswing.Events;
using Upswing.Experiments;

namespace Upswing.Analytics;

/// <summary>
/// The <c>experiments</c> rollup: fills <c>experiment_metric_rollups</c> from assignments and raw events, for every
/// started experiment with assignments. Per experiment it replaces the exposure days whose units' values may have
/// changed since the window's start (days whose metric windows were still open then; every day while a count, sum or
/// mean metric has no window, or when a percentile cap ties all units together), plus the window's own days. Per-unit
/// values are computed in memory (<see cref="ExperimentMetricCalculator"/>) from one scan of the metrics' events;
/// see ADR 8 for why this runs in C# rather than SQL.
/// </summary>
public sealed class ExperimentRollups(
    ExperimentService experiments, AssignmentHistory assignments, MetricService metrics, RawEventReader events, ExperimentMetricRollups store) : IRollup
{
    public const string Name = "experiments";

    /// <summary>Relative difference below which verification treats two sums as equal (floating-point summation order).</summary>
    private const double Tolerance = 1e-9;

    public Task<DateOnly?> EarliestDayAsync(Guid workspaceId, CancellationToken ct) => events.EarliestDayAsync(workspaceId, ct);

    public async Task<RollupWrite> WriteAsync(RollupWindow window, CancellationToken ct)
    {
        long written = 0;
        var from = window.From;
        foreach (var experiment in await StartedAsync(window.WorkspaceId, ct))
        {
            if (await ComputeAsync(experiment, window, ct) is not { } computed)
            {
                continue;
            }

            await store.ReplaceAsync(window.WorkspaceId, experiment.Key, computed.From, window.To, computed.Rows, ct);
            written += computed.Rows.Count;
            from = computed.From < from ? computed.From : from;
        }

        return new RollupWrite(written, from, window.To);
    }

    public async Task<IReadOnlyList<RollupDifference>> VerifyAsync(RollupWindow window, CancellationToken ct)
    {
        var differences = new List<RollupDifference>();
        foreach (var experiment in await StartedAsync(window.WorkspaceId, ct))
        {
            if (await ComputeAsync(experiment, window, ct) is not { } computed)
            {
                continue;
            }

            var stored = (await store.ReadAsync(window.WorkspaceId, experiment.Key, ct)).Where(r => r.Day >= computed.From && r.Day <= window.To)
                .ToDictionary(r => (r.MetricKey, r.Variation, r.Day));
            foreach (var row in computed.Rows)
            {
                var name = $"{experiment.Key} {row.MetricKey} variation {row.Variation} {row.Day:yyyy-MM-dd}";
                if (!stored.Remove((row.MetricKey, row.Variation, row.Day), out var old))
                {
                    differences.Add(new RollupDifference(name, "row", "missing", $"units={row.Units} sum={Text(row.Sum)}"));
                    continue;
                }

                Compare(differences, name, "units", old.Units, row.Units);
                Compare(differences, name, "sum", old.Sum, row.Sum);
                Compare(differences, name, "sum_squares", old.SumSquares, row.SumSquares);
                Compare(differences, name, "denominator_sum", old.DenominatorSum, row.DenominatorSum);
                Compare(differences, name, "denominator_sum_squares", old.DenominatorSumSquares, row.DenominatorSumSquares);
                Compare(differences, name, "sum_products", old.SumProducts, row.SumProducts);
                Compare(differences, name, "pre_sum", old.PreSum, row.PreSum);
                Compare(differences, name, "pre_sum_squares", old.PreSumSquares, row.PreSumSquares);
                Compare(differences, name, "sum_products_pre", old.SumProductsPre, row.SumProductsPre);
            }

            differences.AddRange(stored.Values.Select(r =>
                new RollupDifference($"{experiment.Key} {r.MetricKey} variation {r.Variation} {r.Day:yyyy-MM-dd}", "row", $"units={r.Units} sum={Text(r.Sum)}", "none")));
        }

        return differences;
    }

    private async Task<IReadOnlyList<ExperimentDto>> StartedAsync(Guid workspaceId, CancellationToken ct) =>
        [.. (await experiments.ListAsync(workspaceId, null, ct)).Where(e => e.Status != ExperimentStatus.Draft).OrderBy(e => e.Key, StringComparer.Ordinal)];

    /// <summary>The experiment's rows from the first day to recompute to the window's end; null when it has no assignments or no known metrics.</summary>
    private async Task<(DateOnly From, List<ExperimentMetricRollupRow> Rows)?> ComputeAsync(ExperimentDto experiment, RollupWindow window, CancellationToken ct)
    {
        var workspaceId = window.WorkspaceId;
        var definitions = await metrics.GetManyAsync(workspaceId, experiment.Metrics.Keys(), ct);
        var exposed = await assignments.ForExperimentAsync(workspaceId, experiment.Id, ct);
        if (definitions.Count == 0 || exposed.Count == 0)
        {
            return null;
        }

        var partKeys = definitions.Where(m => m.Type == MetricType.Ratio).SelectMany(m => new[] { m.Numerator, m.Denominator }).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var parts = (await metrics.GetManyAsync(workspaceId, partKeys, ct)).ToDictionary(m => m.Key, StringComparer.Ordinal);

        // Events count until the experiment stopped (or now); its units' values are final once their windows close.
        var end = experiment.Status == ExperimentStatus.Stopped && experiment.Phases is [.., { EndedAt: { } stopped }] && stopped < window.Now ? stopped : window.Now;
        var firstDay = RollupWindow.DayOf(exposed.Min(u => u.FirstExposedAt));
        var from = RecomputeFrom(definitions, parts, window, end, firstDay);

        var persons = await events.PersonsAsync(workspaceId, exposed.Select(u => u.UnitId).Distinct(StringComparer.Ordinal).ToList(), ct);
        var everyUnit = ExperimentMetricCalculator.HasPercentileCap(definitions, parts);
        var units = exposed.Where(u => everyUnit || RollupWindow.DayOf(u.FirstExposedAt) >= from)
            .Select(u => new CalculatorUnit(persons[u.UnitId], u.VariationIndex, u.FirstExposedAt)).ToList();
        if (units.Count == 0)
        {
            return (from, []);
        }

        // One scan of the metrics' events from the earliest pre-period to the end, kept only for the units' persons.
        var names = definitions.Concat(parts.Values).Select(m => m.Event).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var scanFrom = units.Min(u => u.ExposedAt) - ExperimentMetricCalculator.PrePeriod(definitions);
        var wanted = units.Select(u => u.Person).ToHashSet(StringComparer.Ordinal);
        var byPerson = new Dictionary<string, List<CalculatorEvent>>(StringComparer.Ordinal);
        await foreach (var e in events.ReadTrackAsync(workspaceId, names, scanFrom, end, ct))
        {
            if (!wanted.Contains(e.Person))
            {
                continue;
            }

            if (!byPerson.TryGetValue(e.Person, out var list))
            {
                byPerson[e.Person] = list = [];
            }

            list.Add(new CalculatorEvent(e.Name, e.Timestamp, e.Properties));
        }

        var ordered = definitions.OrderBy(m => m.Key, StringComparer.Ordinal).ToList();
        return (from, ExperimentMetricCalculator.Compute(experiment.Key, ordered, parts, units,
            person => byPerson.TryGetValue(person, out var list) ? list : [], end, from, window.To, window.Now));
    }

    /// <summary>
    /// The first exposure day to recompute: the window's start, or earlier for days whose units' values could still
    /// change after the window's start (their metric windows were open then), never before the first exposure.
    /// </summary>
    internal static DateOnly RecomputeFrom(IReadOnlyList<MetricDto> definitions, IReadOnlyDictionary<string, MetricDto> parts, RollupWindow window, DateTimeOffset end, DateOnly firstDay)
    {
        DateOnly open;
        if (end < window.Start)
        {
            // Nothing after the window's start counts: only the window's own days can have changed.
            open = window.From;
        }
        else if (ExperimentMetricCalculator.HasPercentileCap(definitions, parts) || ExperimentMetricCalculator.Horizon(definitions, parts) is not { } horizon)
        {
            open = firstDay;
        }
        else
        {
            // Units exposed on day D change until at most D + 1 day + horizon; a day before this one closed before the window.
            open = RollupWindow.DayOf(window.Start - horizon).AddDays(-1);
        }

        var from = open < window.From ? open : window.From;
        return from < firstDay ? firstDay : from;
    }

    private static void Compare(List<RollupDifference> differences, string row, string column, double? stored, double? computed)
    {
        var equal = (stored, computed) switch
        {
            (null, null) => true,
            ({ } a, { } b) => Math.Abs(a - b) <= Tolerance * Math.Max(1, Math.Max(Math.Abs(a), Math.Abs(b))),
            _ => false,
        };
        if (!equal)
        {
            differences.Add(new RollupDifference(row, column, stored is { } s ? Text(s) : "null", computed is { } c ? Text(c) : "null"));
        }
    }

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
