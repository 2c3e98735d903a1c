using MathNet.Numerics.Distributions;

namespace Upswing.Statistics;

/// <summary>Alternative hypothesis of a frequentist test.</summary>
public enum TestSide
{
    /// <summary>Treatment differs from control.</summary>
    TwoSided,

    /// <summary>Treatment is greater than control.</summary>
    OneSidedGreater,
}

/// <summary>Frequentist result for one treatment: estimate, confidence interval (null end = unbounded) and p-value.</summary>
public readonly record struct FrequentistResult(double Expected, double? CiLower, double? CiUpper, double PValue);

/// <summary>Fixed-horizon Welch t-tests and sequential (always-valid) tests, as gbstats 0.8.0 computes them.</summary>
public static class FrequentistTest
{
    /// <summary>Result reported when a difference cannot be tested.</summary>
    public static readonly FrequentistResult Default = new(0, 0, 0, 1);

    /// <summary>Welch t-test of the difference with a CI at level 1 − alpha.</summary>
    public static FrequentistResult Welch(in DifferenceEstimate d, double alpha, TestSide side)
    {
        if (d.IsDegenerate || !(d.DegreesOfFreedom > 0))
        {
            return Default;
        }

        var se = Math.Sqrt(d.Variance);
        var t = d.Point / se;
        if (side == TestSide.OneSidedGreater)
        {
            var critical = TQuantile(d.DegreesOfFreedom, 1 - alpha);
            return new(d.Point, d.Point - (critical * se), null, 1 - StudentT.CDF(0, 1, d.DegreesOfFreedom, t));
        }

        var c = TQuantile(d.DegreesOfFreedom, 1 - (alpha / 2));
        var p = 2 * (1 - StudentT.CDF(0, 1, d.DegreesOfFreedom, Math.Abs(t)));
        return new(d.Point, d.Point - (c * se), d.Point + (c * se), p);
    }

    /// <summary>Two-sided confidence sequence (normal mixture, tuning parameter = expected total sample size).</summary>
    public static FrequentistResult Sequential(in DifferenceEstimate d, double alpha, double tuningParameter)
    {
        if (d.IsDegenerate || !(d.TotalN > 0) || !(tuningParameter > 0))
        {
            return Default;
        }

        var n = d.TotalN;
        var logAlpha = -2 * Math.Log(alpha);
        var rho2 = (logAlpha + Math.Log(logAlpha + 1)) / tuningParameter;
        var s2 = d.Variance * n;
        var nrho = (n * rho2) + 1;
        var width = Math.Sqrt(s2) * Math.Sqrt(2 * nrho * Math.Log(Math.Sqrt(nrho) / alpha) / (n * n * rho2));

        // The alpha at which the sequence's boundary reaches zero.
        var exponent = -d.Point * d.Point * n * n * rho2 / (2 * s2 * nrho);
        var p = Math.Min(1, Math.Sqrt(nrho) * Math.Exp(exponent));
        return new(d.Point, d.Point - width, d.Point + width, p);
    }

    /// <summary>
    /// Student t quantile. From 100 degrees of freedom on (every experiment with a few hundred units), the Cornish-Fisher
    /// expansion to 1/ν⁴ (Abramowitz and Stegun 26.7.5) is within 1e-8 of the exact value and about 50 times faster
    /// than MathNet's root search, which dominated the analysis of a results page; below that, or in the far tail, the
    /// exact quantile.
    /// </summary>
    internal static double TQuantile(double degreesOfFreedom, double p)
    {
        if (degreesOfFreedom < 100 || p < 0.5 || p > 0.9999)
        {
            return StudentT.InvCDF(0, 1, degreesOfFreedom, p);
        }

        var z = Normal.InvCDF(0, 1, p);
        var z2 = z * z;
        var z3 = z2 * z;
        var z5 = z3 * z2;
        var z7 = z5 * z2;
        var z9 = z7 * z2;
        var g1 = (z3 + z) / 4;
        var g2 = ((5 * z5) + (16 * z3) + (3 * z)) / 96;
        var g3 = ((3 * z7) + (19 * z5) + (17 * z3) - (15 * z)) / 384;
        var g4 = ((79 * z9) + (776 * z7) + (1482 * z5) - (1920 * z3) - (945 * z)) / 92160;
        var v = degreesOfFreedom;
        return z + ((g1 + ((g2 + ((g3 + (g4 / v)) / v)) / v)) / v);
    }
}
