using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Upswing.Analytics;

/// <summary>A unit of an experiment as the calculator sees it: its person (identity links applied), variation and first exposure.</summary>
internal sealed record CalculatorUnit(string Person, int Variation, DateTimeOffset ExposedAt)
{
    public DateOnly Day => RollupWindow.DayOf(ExposedAt);
}

/// <summary>One track event of a person; its properties are parsed once, when a filter or value property first needs them.</summary>
internal sealed class CalculatorEvent(string name, DateTimeOffset at, string? properties)
{
    private JsonObject? parsed;
    private bool isParsed;

    public string Name { get; } = name;

    public DateTimeOffset At { get; } = at;

    /// <summary>The properties as stored (JSON text), or null.</summary>
    public string? Raw => properties;

    public JsonObject? Properties
    {
        get
        {
            if (!isParsed)
            {
                try
                {
                    parsed = properties is null ? null : JsonNode.Parse(properties) as JsonObject;
                }
                catch (JsonException)
                {
                    parsed = null;
                }

                isParsed = true;
            }

            return parsed;
        }
    }
}

/// <summary>
/// Per-unit metric values and the daily increments of their sufficient statistics (pure; no I/O). See
/// docs/modules/analytics.md for the definitions: which events count, windows, capping, CUPED and ratios.
/// </summary>
internal static class ExperimentMetricCalculator
{
    /// <summary>
    /// The rows of the units first exposed on the days <paramref name="from"/>…<paramref name="to"/>, one per metric,
    /// variation and day with units. Percentile caps are taken over <paramref name="units"/> (every unit given).
    /// </summary>
    /// <param name="experimentKey">The experiment's key, written into every row.</param>
    /// <param name="metrics">The experiment's metrics.</param>
    /// <param name="parts">Ratio metrics' numerator and denominator definitions, by key.</param>
    /// <param name="units">The units to compute (every unit of the experiment when a percentile cap is involved).</param>
    /// <param name="eventsOf">A person's events, any order.</param>
    /// <param name="end">Events at or after this instant do not count (now, or when the experiment stopped).</param>
    /// <param name="from">The first exposure day to write rows for.</param>
    /// <param name="to">The last exposure day to write rows for.</param>
    /// <param name="computedAt">The rows' computed_at.</param>
    public static List<ExperimentMetricRollupRow> Compute(
        string experimentKey, IReadOnlyList<MetricDto> metrics, IReadOnlyDictionary<string, MetricDto> parts, IReadOnlyList<CalculatorUnit> units,
        Func<string, IReadOnlyList<CalculatorEvent>> eventsOf, DateTimeOffset end, DateOnly from, DateOnly to, DateTimeOffset computedAt)
    {
        var rows = new List<ExperimentMetricRollupRow>();
        var inRange = units.Select((u, i) => (u, i)).Where(x => x.u.Day >= from && x.u.Day <= to).ToList();
        foreach (var metric in metrics)
        {
            if (metric.Type == MetricType.Ratio)
            {
                if (metric.Numerator is null || metric.Denominator is null || !parts.TryGetValue(metric.Numerator, out var numerator) || !parts.TryGetValue(metric.Denominator, out var denominator))
                {
                    continue;
                }

                var n = Values(numerator, units, eventsOf, end, pre: false);
                var d = Values(denominator, units, eventsOf, end, pre: false);
                foreach (var group in inRange.GroupBy(x => (x.u.Variation, x.u.Day)).OrderBy(g => g.Key.Variation).ThenBy(g => g.Key.Day))
                {
                    double sum = 0, squares = 0, dSum = 0, dSquares = 0, products = 0;
                    foreach (var (_, i) in group)
                    {
                        (sum, squares, dSum, dSquares, products) = (sum + n[i], squares + (n[i] * n[i]), dSum + d[i], dSquares + (d[i] * d[i]), products + (n[i] * d[i]));
                    }

                    rows.Add(new ExperimentMetricRollupRow(experimentKey, metric.Key, group.Key.Variation, group.Key.Day, group.Count(), sum, squares, dSum, dSquares, products,
                        ComputedAt: computedAt));
                }

                continue;
            }

            if (metric.Event is null)
            {
                continue;
            }

            var values = Values(metric, units, eventsOf, end, pre: false);
            var cuped = metric.CupedPreDays is > 0;
            var pre = cuped ? Values(metric, units, eventsOf, end, pre: true) : null;
            foreach (var group in inRange.GroupBy(x => (x.u.Variation, x.u.Day)).OrderBy(g => g.Key.Variation).ThenBy(g => g.Key.Day))
            {
                double sum = 0, squares = 0, preSum = 0, preSquares = 0, products = 0;
                foreach (var (_, i) in group)
                {
                    sum += values[i];
                    squares += values[i] * values[i];
                    if (pre is not null)
                    {
                        preSum += pre[i];
                        preSquares += pre[i] * pre[i];
                        products += values[i] * pre[i];
                    }
                }

                rows.Add(cuped
                    ? new ExperimentMetricRollupRow(experimentKey, metric.Key, group.Key.Variation, group.Key.Day, group.Count(), sum, squares,
                        PreSum: preSum, PreSumSquares: preSquares, SumProductsPre: products, ComputedAt: computedAt)
                    : new ExperimentMetricRollupRow(experimentKey, metric.Key, group.Key.Variation, group.Key.Day, group.Count(), sum, squares, ComputedAt: computedAt));
            }
        }

        return rows;
    }

    /// <summary>
    /// How long after a unit's first exposure its value can still change, over all <paramref name="metrics"/>; null when
    /// unbounded (count, sum and mean metrics count every event until the experiment ends).
    /// </summary>
    public static TimeSpan? Horizon(IReadOnlyList<MetricDto> metrics, IReadOnlyDictionary<string, MetricDto> parts)
    {
        var horizon = TimeSpan.Zero;
        foreach (var metric in metrics)
        {
            IEnumerable<MetricDto> measured = metric.Type == MetricType.Ratio
                ? new[] { metric.Numerator, metric.Denominator }.Where(k => k is not null && parts.ContainsKey(k)).Select(k => parts[k!])
                : [metric];
            foreach (var m in measured)
            {
                if (Window(m) is not { } window)
                {
                    return null;
                }

                horizon = window.To > horizon ? window.To : horizon;
            }
        }

        return horizon;
    }

    /// <summary>Whether any metric (or ratio part) is capped at a percentile of the units' values, which ties every unit to all others.</summary>
    public static bool HasPercentileCap(IReadOnlyList<MetricDto> metrics, IReadOnlyDictionary<string, MetricDto> parts) =>
        metrics.Any(m => m.Capping?.Type == MetricCappingType.Percentile
            || (m.Type == MetricType.Ratio && new[] { m.Numerator, m.Denominator }.Any(k => k is not null && parts.TryGetValue(k, out var p) && p.Capping?.Type == MetricCappingType.Percentile)));

    /// <summary>The longest CUPED pre-period of the metrics.</summary>
    public static TimeSpan PrePeriod(IReadOnlyList<MetricDto> metrics) => TimeSpan.FromDays(metrics.Max(m => (int?)(m.CupedPreDays ?? 0)) ?? 0);

    /// <summary>The window after first exposure in which a metric counts events: [From, To] (retention: [From, To)); null To = until the end.</summary>
    internal static (TimeSpan From, TimeSpan To)? Window(MetricDto metric) => metric.Type switch
    {
        MetricType.Binomial => (TimeSpan.Zero, TimeSpan.FromHours(metric.ConversionWindowHours ?? MetricService.DefaultConversionWindowHours)),
        MetricType.Retention => (TimeSpan.FromDays(metric.RetentionDay ?? 1), TimeSpan.FromDays((metric.RetentionDay ?? 1) + 1)),
        _ when metric.ConversionWindowHours is { } hours => (TimeSpan.Zero, TimeSpan.FromHours(hours)),
        _ => null,
    };

    /// <summary>Each unit's value of a (non-ratio) metric, capped; with <paramref name="pre"/>, over the CUPED pre-period instead.</summary>
    internal static double[] Values(MetricDto metric, IReadOnlyList<CalculatorUnit> units, Func<string, IReadOnlyList<CalculatorEvent>> eventsOf, DateTimeOffset end, bool pre)
    {
        var values = new double[units.Count];
        for (var i = 0; i < units.Count; i++)
        {
            values[i] = Value(metric, units[i], eventsOf(units[i].Person), end, pre);
        }

        if (metric.Capping is { } capping)
        {
            var cap = capping.Type == MetricCappingType.Absolute ? capping.Value : Quantile(values, capping.Value);
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = Math.Min(values[i], cap);
            }
        }

        return values;
    }

    /// <summary>
    /// One unit's value. Events count when their name is the metric's event, they match every filter, they happened
    /// before <paramref name="end"/>, and inside the metric's window after first exposure: binomial [exposure, exposure +
    /// conversion window] (both ends included), retention [exposure + N days, exposure + N + 1 days), count/sum/mean from
    /// exposure on. The CUPED pre-period is [exposure − cupedPreDays days, exposure).
    /// </summary>
    internal static double Value(MetricDto metric, CalculatorUnit unit, IReadOnlyList<CalculatorEvent> events, DateTimeOffset end, bool pre)
    {
        DateTimeOffset from, to;
        bool toIncluded;
        if (pre)
        {
            (from, to, toIncluded) = (unit.ExposedAt - TimeSpan.FromDays(metric.CupedPreDays ?? 0), unit.ExposedAt, false);
        }
        else if (Window(metric) is { } window)
        {
            (from, to, toIncluded) = (unit.ExposedAt + window.From, unit.ExposedAt + window.To, metric.Type != MetricType.Retention);
        }
        else
        {
            (from, to, toIncluded) = (unit.ExposedAt, DateTimeOffset.MaxValue, false);
        }

        double count = 0, sum = 0;
        foreach (var e in events)
        {
            if (e.Name != metric.Event || e.At < from || e.At >= end || (toIncluded ? e.At > to : e.At >= to) || !Matches(metric.Filters, e))
            {
                continue;
            }

            count++;
            if (metric.Type is MetricType.Sum or MetricType.Mean && metric.ValueProperty is { } property)
            {
                sum += Number(e.Properties?[property]) ?? 0;
            }
        }

        return metric.Type switch
        {
            MetricType.Binomial or MetricType.Retention => count > 0 ? 1 : 0,
            MetricType.Count => count,
            // GrowthBook's convention: a mean metric's per-unit value is the unit's total; the analysis averages over units.
            _ => sum,
        };
    }

    /// <summary>The q-quantile of the values, interpolating linearly between order statistics (PERCENTILE_CONT, R's type 7).</summary>
    internal static double Quantile(double[] values, double q)
    {
        if (values.Length == 0)
        {
            return double.PositiveInfinity;
        }

        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        var h = (sorted.Length - 1) * q;
        var lower = (int)Math.Floor(h);
        var upper = Math.Min(lower + 1, sorted.Length - 1);
        return sorted[lower] + ((h - lower) * (sorted[upper] - sorted[lower]));
    }

    /// <summary>Whether an event matches every filter (top-level properties; a missing property matches only neq).</summary>
    internal static bool Matches(IReadOnlyList<MetricFilter> filters, CalculatorEvent e)
    {
        foreach (var filter in filters)
        {
            var actual = e.Properties?[filter.Property];
            var match = filter.Operator switch
            {
                MetricFilterOperator.Eq => actual is not null && Same(actual, filter.Value),
                MetricFilterOperator.Neq => actual is null || !Same(actual, filter.Value),
                MetricFilterOperator.In => actual is not null && filter.Value.ValueKind == JsonValueKind.Array && filter.Value.EnumerateArray().Any(v => Same(actual, v)),
                MetricFilterOperator.Contains => actual is JsonValue s && s.GetValueKind() == JsonValueKind.String && filter.Value.ValueKind == JsonValueKind.String
                    && s.GetValue<string>().Contains(filter.Value.GetString()!, StringComparison.Ordinal),
                _ => Number(actual) is { } x && filter.Value.ValueKind == JsonValueKind.Number && Compare(filter.Operator, x, filter.Value.GetDouble()),
            };
            if (!match)
            {
                return false;
            }
        }

        return true;
    }

    private static bool Compare(MetricFilterOperator op, double x, double y) => op switch
    {
        MetricFilterOperator.Gt => x > y,
        MetricFilterOperator.Gte => x >= y,
        MetricFilterOperator.Lt => x < y,
        MetricFilterOperator.Lte => x <= y,
        _ => false,
    };

    /// <summary>Equality of a property and a filter value: numbers by value, strings ordinally, booleans by value; kinds must agree.</summary>
    private static bool Same(JsonNode actual, JsonElement expected)
    {
        if (actual is not JsonValue value)
        {
            return false;
        }

        var kind = value.GetValueKind();
        return expected.ValueKind switch
        {
            JsonValueKind.Number => kind == JsonValueKind.Number && value.GetValue<double>() == expected.GetDouble(),
            JsonValueKind.String => kind == JsonValueKind.String && value.GetValue<string>() == expected.GetString(),
            JsonValueKind.True => kind == JsonValueKind.True,
            JsonValueKind.False => kind == JsonValueKind.False,
            _ => false,
        };
    }

    /// <summary>A property as a number: a JSON number, or a string holding one (invariant culture); otherwise null.</summary>
    private static double? Number(JsonNode? node) =>
        node is JsonValue value
            ? value.GetValueKind() switch
            {
                JsonValueKind.Number => value.GetValue<double>(),
                JsonValueKind.String when double.TryParse(value.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && double.IsFinite(parsed) => parsed,
                _ => null,
            }
            : null;
}
