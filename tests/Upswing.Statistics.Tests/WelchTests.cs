namespace Upswing.Statistics.Tests;

public sealed class WelchTests
{
    private static UnitEstimate FromSummary(double n, double mean, double sd)
    {
        var moments = new Moments(n, n * mean, ((n - 1) * sd * sd) + (n * mean * mean));
        return new UnitEstimate(n, moments.Mean, moments.SampleVariance);
    }

    [Fact]
    public void Welch_WorkedExample_MatchesTextbookTAndDegreesOfFreedom()
    {
        var example = ReferenceCases.Load("worked-examples.json")["welch_m10_s3_n100_vs_m11_s4_n120"]!;
        var d = DifferenceEstimate.Of(FromSummary(100, 10, 3), FromSummary(120, 11, 4), DifferenceType.Absolute);

        var result = FrequentistTest.Welch(d, 0.05, TestSide.TwoSided);

        Tolerance.Equal(example["t"]!.GetValue<double>(), d.Point / Math.Sqrt(d.Variance), "t");
        Tolerance.Equal(example["df"]!.GetValue<double>(), d.DegreesOfFreedom, "df");
        Tolerance.Equal(example["p"]!.GetValue<double>(), result.PValue, "p");
        Assert.True(result.CiLower < d.Point && d.Point < result.CiUpper);
    }

    [Fact]
    public void Welch_ZeroVarianceBaseline_ReturnsDefaultResult()
    {
        var control = new UnitEstimate(100, 0, 0);
        var treatment = new UnitEstimate(100, 0, 0);

        var result = FrequentistTest.Welch(DifferenceEstimate.Of(control, treatment, DifferenceType.Relative), 0.05, TestSide.TwoSided);

        Assert.Equal(FrequentistTest.Default, result);
    }

    [Fact]
    public void Welch_OneSided_HasUnboundedUpperEnd()
    {
        var d = DifferenceEstimate.Of(FromSummary(100, 10, 3), FromSummary(120, 11, 4), DifferenceType.Absolute);

        var result = FrequentistTest.Welch(d, 0.05, TestSide.OneSidedGreater);

        Assert.Null(result.CiUpper);
        Assert.True(result.PValue < 0.05);
    }
}

public sealed class TQuantileTests
{
    public static TheoryData<double> DegreesOfFreedom => [50, 99.5, 100, 150, 1_000, 19_000, 250_000];

    [Theory]
    [MemberData(nameof(DegreesOfFreedom))]
    public void TQuantile_MatchesTheExactQuantile(double df)
    {
        foreach (var p in new[] { 0.5, 0.8, 0.9, 0.95, 0.975, 0.99, 0.995, 0.9995, 0.9999, 0.99999, 0.999999 })
        {
            var exact = MathNet.Numerics.Distributions.StudentT.InvCDF(0, 1, df, p);
            var fast = FrequentistTest.TQuantile(df, p);
            Assert.True(Math.Abs(fast - exact) <= 1e-8 * Math.Max(1, Math.Abs(exact)), $"df {df}, p {p}: {fast:R} against {exact:R}");
        }
    }
}
