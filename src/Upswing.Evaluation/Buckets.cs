namespace Upswing.Evaluation;

/// <summary>A half-open bucket range [Start, End) on the unit interval.</summary>
public readonly record struct BucketRange(double Start, double End)
{
    /// <summary>True when <paramref name="n"/> is in [Start, End).</summary>
    public bool Contains(double n) => n >= Start && n < End;
}

/// <summary>A namespace slice: users whose namespace hash falls in [Start, End) belong to it.</summary>
public sealed record ExperimentNamespace(string Id, double Start, double End);

/// <summary>Bucketing helpers: equal weights, bucket ranges, variation choice, namespaces, query-string overrides.</summary>
public static class Buckets
{
    /// <summary>n equal weights summing to 1 (empty when n is not positive).</summary>
    public static double[] GetEqualWeights(int numVariations)
    {
        if (numVariations <= 0)
        {
            return [];
        }

        var weights = new double[numVariations];
        Array.Fill(weights, 1.0 / numVariations);
        return weights;
    }

    /// <summary>
    /// Splits [0, 1) into one range per variation by weight; coverage shrinks each range in place.
    /// Bad weights (wrong count, or a sum outside 0.99..1.01) fall back to equal weights.
    /// </summary>
    public static BucketRange[] GetBucketRanges(int numVariations, double coverage, IReadOnlyList<double>? weights)
    {
        coverage = Math.Clamp(coverage, 0, 1);
        if (weights is null || weights.Count != numVariations || !SumsToOne(weights))
        {
            weights = GetEqualWeights(numVariations);
        }

        var ranges = new BucketRange[weights.Count];
        var cumulative = 0.0;
        for (var i = 0; i < ranges.Length; i++)
        {
            var start = cumulative;
            cumulative += weights[i];
            ranges[i] = new BucketRange(start, start + (coverage * weights[i]));
        }

        return ranges;
    }

    /// <summary>The index of the first range containing <paramref name="n"/>, or -1.</summary>
    public static int ChooseVariation(double n, IReadOnlyList<BucketRange> ranges)
    {
        for (var i = 0; i < ranges.Count; i++)
        {
            if (ranges[i].Contains(n))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>True when the hash of <paramref name="hashValue"/> under "__" + namespace id is inside the namespace slice.</summary>
    public static bool InNamespace(string hashValue, ExperimentNamespace ns)
    {
        var n = Hashing.Hash("__" + ns.Id, hashValue, 1);
        return n is { } v && v >= ns.Start && v < ns.End;
    }

    /// <summary>The variation forced by "?key=N" in <paramref name="url"/>, when N is a valid index; otherwise null.</summary>
    public static int? GetQueryStringOverride(string key, string? url, int numVariations)
    {
        if (string.IsNullOrEmpty(url))
        {
            return null;
        }

        var parts = url.Split('?');
        if (parts.Length < 2 || parts[1].Length == 0)
        {
            return null;
        }

        var search = parts[1];
        var hash = search.IndexOf('#', StringComparison.Ordinal);
        if (hash >= 0)
        {
            search = search[..hash];
        }

        foreach (var pair in search.Split('&'))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var name = eq >= 0 ? pair[..eq] : pair;
            if (name != key)
            {
                continue;
            }

            // Only the first occurrence counts, parsed like JavaScript's parseInt.
            var value = eq >= 0 ? pair[(eq + 1)..] : string.Empty;
            var end = value.IndexOf('=', StringComparison.Ordinal);
            if (end >= 0)
            {
                value = value[..end];
            }

            var parsed = JsValues.ParseIntPrefix(value);
            return parsed is { } p && p >= 0 && p < numVariations ? (int)p : null;
        }

        return null;
    }

    private static bool SumsToOne(IReadOnlyList<double> weights)
    {
        var total = 0.0;
        foreach (var w in weights)
        {
            total += w;
        }

        return total is >= 0.99 and <= 1.01;
    }
}
