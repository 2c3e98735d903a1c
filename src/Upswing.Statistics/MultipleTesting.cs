namespace Upswing.Statistics;

/// <summary>Adjusted p-values for a family of tests (all metrics × treatments of an experiment).</summary>
public static class MultipleTesting
{
    /// <summary>Holm-Bonferroni step-down adjustment (controls the family-wise error rate); same order as the input.</summary>
    public static double[] HolmBonferroni(ReadOnlySpan<double> pValues)
    {
        var m = pValues.Length;
        var order = SortedIndices(pValues);
        var adjusted = new double[m];
        double running = 0;
        for (var rank = 0; rank < m; rank++)
        {
            var i = order[rank];
            running = Math.Max(running, Math.Min(1, (m - rank) * pValues[i]));
            adjusted[i] = running;
        }

        return adjusted;
    }

    /// <summary>Benjamini-Hochberg step-up adjustment (controls the false discovery rate); same order as the input.</summary>
    public static double[] BenjaminiHochberg(ReadOnlySpan<double> pValues)
    {
        var m = pValues.Length;
        var order = SortedIndices(pValues);
        var adjusted = new double[m];
        var running = 1.0;
        for (var rank = m - 1; rank >= 0; rank--)
        {
            var i = order[rank];
            running = Math.Min(running, Math.Min(1, pValues[i] * m / (rank + 1)));
            adjusted[i] = running;
        }

        return adjusted;
    }

    private static int[] SortedIndices(ReadOnlySpan<double> pValues)
    {
        var keys = pValues.ToArray();
        var order = new int[keys.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        Array.Sort(keys, order);
        return order;
    }
}
