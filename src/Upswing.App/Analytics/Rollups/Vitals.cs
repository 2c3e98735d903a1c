namespace Upswing.Analytics;

/// <summary>Percentiles and ratings of web vitals.</summary>
public static class Vitals
{
    public const string Good = "good";
    public const string NeedsImprovement = "needs-improvement";
    public const string Poor = "poor";

    /// <summary>The metrics the rollup and the endpoint know, with their good / poor thresholds (web.dev's).</summary>
    public static readonly IReadOnlyDictionary<string, (double Good, double Poor)> Thresholds = new Dictionary<string, (double, double)>(StringComparer.Ordinal)
    {
        ["LCP"] = (2500, 4000),
        ["INP"] = (200, 500),
        ["CLS"] = (0.1, 0.25),
        ["FCP"] = (1800, 3000),
        ["TTFB"] = (800, 1800),
    };

    /// <summary>The device classes ingestion records.</summary>
    public static readonly IReadOnlySet<string> DeviceClasses = new HashSet<string>(StringComparer.Ordinal) { "mobile", "tablet", "desktop" };

    /// <summary>
    /// The <paramref name="p"/> quantile (0…1) of <paramref name="sorted"/> (ascending, not empty) by linear interpolation
    /// between the closest ranks (numpy's default, Hyndman–Fan type 7): h = (n − 1)·p, x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]).
    /// </summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        ArgumentOutOfRangeException.ThrowIfZero(sorted.Count);
        ArgumentOutOfRangeException.ThrowIfLessThan(p, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(p, 1);
        var h = (sorted.Count - 1) * p;
        var lower = (int)Math.Floor(h);
        if (lower >= sorted.Count - 1)
        {
            return sorted[^1];
        }

        return sorted[lower] + ((h - lower) * (sorted[lower + 1] - sorted[lower]));
    }

    /// <summary>good when value ≤ the metric's first threshold, needs-improvement when ≤ its second, else poor; null for an unknown metric.</summary>
    public static string? Rating(string metric, double value) =>
        Thresholds.TryGetValue(metric, out var t) ? value <= t.Good ? Good : value <= t.Poor ? NeedsImprovement : Poor : null;

    /// <summary>
    /// One row from rows of the same day, metric, page and device class in several environment buckets: their samples,
    /// and each percentile as the sample-weighted mean of theirs. Exact percentiles would need the measurements, which
    /// queries never read; the merge is exact when one bucket has samples, the usual case (a page reports through the
    /// client key of one environment).
    /// </summary>
    internal static VitalsRow Merge(IReadOnlyList<VitalsRow> rows)
    {
        var samples = rows.Sum(r => r.Samples);
        double Weighted(Func<VitalsRow, double> percentile) => rows.Sum(r => percentile(r) * r.Samples) / samples;
        var first = rows[0];
        return first with { Samples = samples, P50 = Weighted(r => r.P50), P75 = Weighted(r => r.P75), P90 = Weighted(r => r.P90) };
    }

    internal static VitalsRow Summarize(DateOnly day, string metric, string path, string device, List<double> values)
    {
        values.Sort();
        return new VitalsRow(day, metric, path, device, values.Count, Percentile(values, 0.5), Percentile(values, 0.75), Percentile(values, 0.9));
    }
}
