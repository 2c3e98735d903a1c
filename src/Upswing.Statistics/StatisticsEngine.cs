namespace Upswing.Statistics;

/// <summary>Entry point: validates an <see cref="AnalysisInput"/> and computes SRM and per-treatment results.</summary>
public static class StatisticsEngine
{
    private enum MetricKind
    {
        Proportion,
        Mean,
        Ratio,
    }

    /// <summary>Analyses one metric across variations; invalid input gives an error result, never an exception.</summary>
    public static AnalysisResult Analyze(AnalysisInput? input)
    {
        if (input is null)
        {
            return Fail("input document is empty");
        }

        MetricKind metric;
        switch (input.Metric)
        {
            case "proportion": metric = MetricKind.Proportion; break;
            case "mean": metric = MetricKind.Mean; break;
            case "ratio": metric = MetricKind.Ratio; break;
            default: return Fail($"metric must be \"proportion\", \"mean\" or \"ratio\" (got {Show(input.Metric)})");
        }

        bool bayesian;
        switch (input.Engine)
        {
            case "frequentist": bayesian = false; break;
            case "bayesian": bayesian = true; break;
            default: return Fail($"engine must be \"frequentist\" or \"bayesian\" (got {Show(input.Engine)})");
        }

        DifferenceType differenceType;
        switch (input.DifferenceType)
        {
            case null or "relative": differenceType = DifferenceType.Relative; break;
            case "absolute": differenceType = DifferenceType.Absolute; break;
            default: return Fail($"differenceType must be \"relative\" or \"absolute\" (got {Show(input.DifferenceType)})");
        }

        TestSide side;
        switch (input.Test)
        {
            case null or "two-sided": side = TestSide.TwoSided; break;
            case "one-sided-greater": side = TestSide.OneSidedGreater; break;
            default: return Fail($"test must be \"two-sided\" or \"one-sided-greater\" (got {Show(input.Test)})");
        }

        var alpha = input.Alpha ?? 0.05;
        if (!(alpha > 0 && alpha < 1))
        {
            return Fail("alpha must be between 0 and 1 (exclusive)");
        }

        var variations = input.Variations;
        if (variations is null || variations.Count < 2)
        {
            return Fail("variations must list at least two variations (the first is the baseline)");
        }

        var k = variations.Count;
        var weights = input.Weights;
        if (weights is not null)
        {
            if (weights.Count != k)
            {
                return Fail($"weights has {weights.Count} entries but there are {k} variations");
            }

            double sum = 0;
            foreach (var w in weights)
            {
                if (!(w >= 0) || double.IsInfinity(w))
                {
                    return Fail("weights must be finite and non-negative");
                }

                sum += w;
            }

            if (!(sum > 0))
            {
                return Fail("weights must not all be zero");
            }
        }

        var cuped = !bayesian && input.Cuped == true;
        var sequential = !bayesian && input.Sequential is not null;
        var tuning = input.Sequential?.TuningParameter ?? 5000;
        if (sequential && !(tuning > 0 && double.IsFinite(tuning)))
        {
            return Fail("sequential.tuningParameter must be a positive number");
        }

        if (sequential && side != TestSide.TwoSided)
        {
            return Fail("sequential testing supports only the two-sided test");
        }

        if (cuped && metric == MetricKind.Ratio)
        {
            return Fail("cuped is not supported for ratio metrics");
        }

        var prior = new GaussianPrior(input.Prior?.Mean ?? 0, input.Prior?.Variance ?? 1, input.Prior?.Proper ?? false);
        if (bayesian && prior.Proper && !(prior.Variance > 0 && double.IsFinite(prior.Variance) && double.IsFinite(prior.Mean)))
        {
            return Fail("prior.variance must be a positive number and prior.mean finite");
        }

        var units = new UnitEstimate[k];
        var cupedMoments = cuped ? new CupedMoments[k] : null;
        var users = new double[k];
        for (var i = 0; i < k; i++)
        {
            var error = ReadVariation(variations[i], i, metric, cuped, out units[i], out var c);
            if (error is not null)
            {
                return Fail(error);
            }

            if (cupedMoments is not null)
            {
                cupedMoments[i] = c;
            }

            users[i] = units[i].N;
        }

        double[] weightArray;
        if (weights is null)
        {
            weightArray = new double[k];
            Array.Fill(weightArray, 1.0 / k);
        }
        else
        {
            weightArray = [.. weights];
        }

        var results = new VariationOutput[k];
        results[0] = new VariationOutput { N = units[0].N };
        for (var i = 1; i < k; i++)
        {
            var difference = cupedMoments is not null
                ? DifferenceEstimate.OfCuped(cupedMoments[0], cupedMoments[i], differenceType)
                : DifferenceEstimate.Of(units[0], units[i], differenceType);
            if (bayesian)
            {
                var b = BayesianTest.Analyze(difference, prior, alpha, differenceType, units[0].Mean);
                results[i] = new VariationOutput
                {
                    N = units[i].N,
                    Expected = b.Expected,
                    Ci = [b.CiLower, b.CiUpper],
                    ChanceToWin = b.ChanceToWin,
                    Risk = [b.RiskControl, b.RiskTreatment],
                };
            }
            else
            {
                var f = sequential
                    ? FrequentistTest.Sequential(difference, alpha, tuning)
                    : FrequentistTest.Welch(difference, alpha, side);
                results[i] = new VariationOutput
                {
                    N = units[i].N,
                    Expected = f.Expected,
                    Ci = [f.CiLower, f.CiUpper],
                    PValue = f.PValue,
                };
            }
        }

        return new AnalysisResult(new AnalysisOutput(new SrmOutput(Srm.PValue(users, weightArray)), results), null);
    }

    private static string? ReadVariation(VariationInput? v, int index, MetricKind metric, bool cuped, out UnitEstimate unit, out CupedMoments cupedMoments)
    {
        unit = default;
        cupedMoments = default;
        var where = $"variations[{index}]";
        if (v is null)
        {
            return $"{where} is missing";
        }

        if (v.N is not { } n || !(n >= 0) || !double.IsFinite(n))
        {
            return $"{where}.n must be a non-negative number";
        }

        if (metric == MetricKind.Ratio)
        {
            if (v.Numerator is null || v.Denominator is null || v.SumProducts is null)
            {
                return $"{where}: a ratio metric needs numerator, denominator and sumProducts";
            }

            if (!TryMoments(n, v.Numerator, out var numerator) || !TryMoments(n, v.Denominator, out var denominator) || !double.IsFinite(v.SumProducts.Value))
            {
                return $"{where}: numerator and denominator need finite sum and sumSquares";
            }

            var ratio = new RatioMoments(n, numerator, denominator, v.SumProducts.Value);
            unit = new UnitEstimate(n, ratio.Mean, ratio.Variance);
            return null;
        }

        if (v.Sum is not { } sum || !double.IsFinite(sum))
        {
            return $"{where}.sum must be a number";
        }

        double sumSquares;
        if (metric == MetricKind.Proportion)
        {
            // A 0/1 metric's sum of squares equals its sum.
            sumSquares = v.SumSquares ?? sum;
            if (sum < 0 || sum > n)
            {
                return $"{where}: a proportion's sum must lie between 0 and n";
            }
        }
        else if (v.SumSquares is { } ss && double.IsFinite(ss))
        {
            sumSquares = ss;
        }
        else
        {
            return $"{where}.sumSquares must be a number for a mean metric";
        }

        var post = new Moments(n, sum, sumSquares);
        unit = new UnitEstimate(n, post.Mean, metric == MetricKind.Proportion ? post.ProportionVariance : post.SampleVariance);
        if (cuped)
        {
            if (v.Pre is null || !TryMoments(n, v.Pre, out var pre) || v.SumProductsWithPre is not { } products || !double.IsFinite(products))
            {
                return $"{where}: cuped needs pre.sum, pre.sumSquares and sumProductsWithPre";
            }

            cupedMoments = new CupedMoments(n, post, pre, products, metric == MetricKind.Proportion);
        }

        return null;
    }

    private static bool TryMoments(double n, SumsInput sums, out Moments moments)
    {
        moments = default;
        if (sums.Sum is not { } s || sums.SumSquares is not { } ss || !double.IsFinite(s) || !double.IsFinite(ss))
        {
            return false;
        }

        moments = new Moments(n, s, ss);
        return true;
    }

    private static AnalysisResult Fail(string message) => new(null, message);

    private static string Show(string? value) => value is null ? "nothing" : $"\"{value}\"";
}
