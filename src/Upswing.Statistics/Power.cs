using MathNet.Numerics.Distributions;

namespace Upswing.Statistics;

/// <summary>What the metric looks like before the experiment: a conversion rate, or a mean and its standard deviation.</summary>
public readonly record struct PowerBaseline
{
    private PowerBaseline(bool isProportion, double mean, double standardDeviation)
    {
        IsProportion = isProportion;
        Mean = mean;
        StandardDeviation = standardDeviation;
    }

    /// <summary>True for a 0/1 metric, whose variance p(1 − p) follows from its rate.</summary>
    public bool IsProportion { get; }

    /// <summary>Baseline rate of a proportion, or baseline mean of a mean metric.</summary>
    public double Mean { get; }

    /// <summary>Per-unit standard deviation (√(p(1 − p)) for a proportion).</summary>
    public double StandardDeviation { get; }

    /// <summary>A proportion metric with baseline rate <paramref name="rate"/>, strictly between 0 and 1.</summary>
    public static PowerBaseline ForProportion(double rate)
    {
        if (!(rate > 0 && rate < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "a baseline rate must lie strictly between 0 and 1");
        }

        return new(true, rate, Math.Sqrt(rate * (1 - rate)));
    }

    /// <summary>A mean metric with its baseline mean and per-unit standard deviation (assumed the same in every arm).</summary>
    public static PowerBaseline ForMean(double mean, double standardDeviation)
    {
        if (!double.IsFinite(mean))
        {
            throw new ArgumentOutOfRangeException(nameof(mean), mean, "the baseline mean must be finite");
        }

        if (!(standardDeviation > 0 && double.IsFinite(standardDeviation)))
        {
            throw new ArgumentOutOfRangeException(nameof(standardDeviation), standardDeviation, "the standard deviation must be a positive number");
        }

        return new(false, mean, standardDeviation);
    }
}

/// <summary>Design of a fixed-horizon frequentist test: alpha, target power, sides and the number of treatments.</summary>
public sealed record PowerOptions
{
    /// <summary>False positive rate of the whole experiment; default 0.05.</summary>
    public double Alpha { get; init; } = 0.05;

    /// <summary>Probability of detecting the effect when it is real; default 0.8.</summary>
    public double Power { get; init; } = 0.8;

    /// <summary>Two-sided (default) or one-sided in the direction of the effect.</summary>
    public TestSide Side { get; init; } = TestSide.TwoSided;

    /// <summary>Number of treatments, each compared with the control; default 1 (an A/B test).</summary>
    public int Treatments { get; init; } = 1;

    /// <summary>True to test each treatment at alpha / <see cref="Treatments"/> (Bonferroni), keeping the family-wise error at alpha.</summary>
    public bool Bonferroni { get; init; }
}

/// <summary>Units needed per arm (rounded up), for all arms together, the unrounded figure, and the alpha each comparison is tested at.</summary>
public readonly record struct SampleSizeResult(long PerArm, long Total, double ExactPerArm, double AlphaPerComparison);

/// <summary>
/// Sample size, minimum detectable effect and power of a fixed-horizon two-sample z-test of the absolute difference
/// (unpooled variances: p(1 − p) of each arm for proportions, the baseline variance in both arms for means).
/// Invalid arguments throw <see cref="ArgumentOutOfRangeException"/>.
/// </summary>
public static class PowerAnalysis
{
    /// <summary>
    /// Units per arm to detect <paramref name="effect"/> (treatment − control, or relative to the baseline):
    /// n = (z₁₋α′ + z₁₋β)² (σ²_control + σ²_treatment) / δ², with α′ = α/2 two-sided (and / treatments with Bonferroni).
    /// </summary>
    public static SampleSizeResult SampleSize(PowerBaseline baseline, double effect, DifferenceType scale, PowerOptions? options = null)
    {
        options ??= new PowerOptions();
        var (zAlpha, zPower, comparisonAlpha) = CriticalValues(options);
        var (delta, varianceSum) = Effect(baseline, effect, scale);
        var z = zAlpha + zPower;
        var exact = z * z * varianceSum / (delta * delta);

        // The tiny tolerance keeps 14748.000000000002 from becoming 14749; a t-test needs at least two units per arm.
        var perArm = (long)Math.Max(2, Math.Ceiling(exact - (exact * 1e-12)));
        return new(perArm, perArm * (options.Treatments + 1), exact, comparisonAlpha);
    }

    /// <summary>
    /// Smallest increase (on <paramref name="scale"/>) detectable with <paramref name="unitsPerArm"/> units per arm at the
    /// target power; null when no increase the metric can take is detectable (a proportion would pass 1).
    /// The inverse of <see cref="SampleSize"/>: the opposite tail of a two-sided test is ignored in both.
    /// </summary>
    public static double? MinimumDetectableEffect(PowerBaseline baseline, double unitsPerArm, DifferenceType scale, PowerOptions? options = null)
    {
        options ??= new PowerOptions();
        RequireUnits(unitsPerArm);
        RequireBaseline(baseline, scale);
        var (zAlpha, zPower, _) = CriticalValues(options);
        var z = zAlpha + zPower;
        double delta;
        if (baseline.IsProportion)
        {
            // δ² = c (p₁q₁ + (p₁ + δ)(q₁ − δ)) with c = z²/n is a quadratic in δ; its positive root is the MDE.
            var p = baseline.Mean;
            var c = z * z / unitsPerArm;
            var b = c * (1 - (2 * p));
            delta = (b + Math.Sqrt((b * b) + (8 * (1 + c) * c * p * (1 - p)))) / (2 * (1 + c));
            if (p + delta > 1)
            {
                return null;
            }
        }
        else
        {
            delta = z * baseline.StandardDeviation * Math.Sqrt(2 / unitsPerArm);
        }

        return scale == DifferenceType.Absolute ? delta : delta / Math.Abs(baseline.Mean);
    }

    /// <summary>Probability that the test rejects (either tail when two-sided) with <paramref name="unitsPerArm"/> units per arm and a true <paramref name="effect"/>.</summary>
    public static double PowerAt(PowerBaseline baseline, double effect, DifferenceType scale, double unitsPerArm, PowerOptions? options = null)
    {
        options ??= new PowerOptions();
        RequireUnits(unitsPerArm);
        var (zAlpha, _, _) = CriticalValues(options);
        var (delta, varianceSum) = Effect(baseline, effect, scale);
        var shift = Math.Abs(delta) / Math.Sqrt(varianceSum / unitsPerArm);
        var power = Normal.CDF(0, 1, shift - zAlpha);
        return options.Side == TestSide.TwoSided ? power + Normal.CDF(0, 1, -shift - zAlpha) : power;
    }

    private static (double ZAlpha, double ZPower, double ComparisonAlpha) CriticalValues(PowerOptions options)
    {
        if (!(options.Alpha > 0 && options.Alpha < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Alpha, "alpha must lie strictly between 0 and 1");
        }

        if (!(options.Power > 0 && options.Power < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Power, "power must lie strictly between 0 and 1");
        }

        if (options.Treatments < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Treatments, "there must be at least one treatment");
        }

        var comparisonAlpha = options.Bonferroni ? options.Alpha / options.Treatments : options.Alpha;
        var tail = options.Side == TestSide.TwoSided ? comparisonAlpha / 2 : comparisonAlpha;
        var zAlpha = Normal.InvCDF(0, 1, 1 - tail);
        var zPower = Normal.InvCDF(0, 1, options.Power);
        if (!(zAlpha + zPower > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Power, "power must exceed the false positive rate of one tail");
        }

        return (zAlpha, zPower, comparisonAlpha);
    }

    private static (double Delta, double VarianceSum) Effect(PowerBaseline baseline, double effect, DifferenceType scale)
    {
        RequireBaseline(baseline, scale);
        if (!(effect != 0 && double.IsFinite(effect)))
        {
            throw new ArgumentOutOfRangeException(nameof(effect), effect, "the effect must be a non-zero number");
        }

        var delta = scale == DifferenceType.Absolute ? effect : effect * baseline.Mean;
        var controlVariance = baseline.StandardDeviation * baseline.StandardDeviation;
        if (!baseline.IsProportion)
        {
            return (delta, 2 * controlVariance);
        }

        var treated = baseline.Mean + delta;
        if (!(treated >= 0 && treated <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(effect), effect, $"the treatment's rate would be {treated}, outside [0, 1]");
        }

        return (delta, controlVariance + (treated * (1 - treated)));
    }

    private static void RequireBaseline(PowerBaseline baseline, DifferenceType scale)
    {
        // default(PowerBaseline) has no variance: it was not made by ForProportion or ForMean.
        if (!(baseline.StandardDeviation > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(baseline), "use PowerBaseline.ForProportion or PowerBaseline.ForMean");
        }

        if (scale == DifferenceType.Relative && baseline.Mean == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(baseline), "a relative effect needs a non-zero baseline mean");
        }
    }

    private static void RequireUnits(double unitsPerArm)
    {
        if (!(unitsPerArm > 0 && double.IsFinite(unitsPerArm)))
        {
            throw new ArgumentOutOfRangeException(nameof(unitsPerArm), unitsPerArm, "units per arm must be a positive number");
        }
    }
}
