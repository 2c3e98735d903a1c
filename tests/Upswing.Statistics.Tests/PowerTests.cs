namespace Upswing.Statistics.Tests;

/// <summary>
/// Sample size and MDE of the unpooled two-sample z-test, n = (z₁₋α/₂ + z₁₋β)² (σ²_A + σ²_B) / δ², against values worked
/// out by hand and the published examples of Chow, Shao &amp; Wang (2008), Sample Size Calculations in Clinical Research,
/// pp. 58 and 89 (as reproduced by powerandsamplesize.com's calculators).
/// </summary>
public sealed class PowerTests
{
    private static readonly PowerBaseline TenPercent = PowerBaseline.ForProportion(0.10);

    [Fact]
    public void SampleSize_ClassicTenPercentBaselineTenPercentLift_Needs14749PerArm()
    {
        // (1.959964 + 0.841621)² × (0.1 × 0.9 + 0.11 × 0.89) / 0.01² = 14,748.05 → 14,749.
        var n = PowerAnalysis.SampleSize(TenPercent, 0.10, DifferenceType.Relative);

        Assert.Equal(14_748.045, n.ExactPerArm, 3);
        Assert.Equal(14_749, n.PerArm);
        Assert.Equal(2 * 14_749, n.Total);
        Assert.Equal(0.05, n.AlphaPerComparison);
    }

    [Fact]
    public void SampleSize_AbsoluteEffect_EqualsTheSameRelativeEffect() =>
        Assert.Equal(
            PowerAnalysis.SampleSize(TenPercent, 0.10, DifferenceType.Relative).ExactPerArm,
            PowerAnalysis.SampleSize(TenPercent, 0.01, DifferenceType.Absolute).ExactPerArm,
            6);

    [Theory]
    [InlineData(TestSide.TwoSided, 70)]
    [InlineData(TestSide.OneSidedGreater, 55)]
    public void SampleSize_ChowShaoWangProportions_MatchesPublishedExample(TestSide side, long expected)
    {
        // pA = 0.65, pB = 0.85, alpha 0.05, power 0.8 (Chow et al. p. 89).
        var n = PowerAnalysis.SampleSize(PowerBaseline.ForProportion(0.65), 0.20, DifferenceType.Absolute, new PowerOptions { Side = side });

        Assert.Equal(expected, n.PerArm);
    }

    [Fact]
    public void SampleSize_ChowShaoWangMeans_MatchesPublishedExample()
    {
        // muA = 5, muB = 10, sd = 10 (Chow et al. p. 58): 62.79 → 63. Cohen's t-based table says 64 for d = 0.5;
        // the z approximation used here is one unit lower at this size and the same for realistic experiments.
        var n = PowerAnalysis.SampleSize(PowerBaseline.ForMean(5, 10), 5, DifferenceType.Absolute);

        Assert.Equal(62.791, n.ExactPerArm, 3);
        Assert.Equal(63, n.PerArm);
    }

    [Fact]
    public void SampleSize_MeanMetric_FollowsTheSixteenSigmaSquaredRuleOfThumb()
    {
        // Kohavi et al.'s rule of thumb n ≈ 16σ²/δ² for alpha 0.05 and power 0.8; exactly 2 × 2.8016² = 15.70.
        var n = PowerAnalysis.SampleSize(PowerBaseline.ForMean(50, 20), 0.02, DifferenceType.Relative);

        Assert.InRange(n.ExactPerArm / (20.0 * 20 / (1.0 * 1)), 15.6, 16.0);
    }

    [Fact]
    public void SampleSize_ThreeTreatmentsWithBonferroni_TestsEachAtAlphaOverThree()
    {
        var options = new PowerOptions { Treatments = 3, Bonferroni = true };

        var n = PowerAnalysis.SampleSize(TenPercent, 0.10, DifferenceType.Relative, options);

        // (z(1 − 0.05/6) + z(0.8))² × 0.1879 / 0.0001, worked out by hand.
        Assert.Equal(0.05 / 3, n.AlphaPerComparison, 12);
        Assert.Equal(19_671.465, n.ExactPerArm, 3);
        Assert.Equal(4 * n.PerArm, n.Total);
    }

    [Fact]
    public void SampleSize_ThreeTreatmentsWithoutBonferroni_NeedsTheAbTestsUnitsPerArm()
    {
        var ab = PowerAnalysis.SampleSize(TenPercent, 0.10, DifferenceType.Relative);
        var abcd = PowerAnalysis.SampleSize(TenPercent, 0.10, DifferenceType.Relative, new PowerOptions { Treatments = 3 });

        Assert.Equal(ab.PerArm, abcd.PerArm);
        Assert.Equal(4 * ab.PerArm, abcd.Total);
    }

    [Fact]
    public void SampleSize_LargerMde_NeedsFewerUnits()
    {
        var small = PowerAnalysis.SampleSize(TenPercent, 0.05, DifferenceType.Relative);
        var large = PowerAnalysis.SampleSize(TenPercent, 0.20, DifferenceType.Relative);

        Assert.True(large.PerArm < small.PerArm / 3, $"{large.PerArm} vs {small.PerArm}");
    }

    [Fact]
    public void SampleSize_HigherPower_NeedsMoreUnits() =>
        Assert.True(
            PowerAnalysis.SampleSize(TenPercent, 0.1, DifferenceType.Relative, new PowerOptions { Power = 0.9 }).PerArm
            > PowerAnalysis.SampleSize(TenPercent, 0.1, DifferenceType.Relative).PerArm);

    [Fact]
    public void SampleSize_Decrease_UsesTheLowerRatesVariance()
    {
        // 10% → 9%: (0.09 + 0.0819) instead of (0.09 + 0.0979), so fewer units than for the increase.
        var down = PowerAnalysis.SampleSize(TenPercent, -0.10, DifferenceType.Relative);

        Assert.Equal(7.848879734349 * 0.1719 / 0.0001, down.ExactPerArm, 2);
    }

    [Theory]
    [InlineData(true, 0.10, DifferenceType.Relative)]
    [InlineData(true, 0.02, DifferenceType.Absolute)]
    [InlineData(true, 0.60, DifferenceType.Relative)]
    [InlineData(false, 0.03, DifferenceType.Relative)]
    [InlineData(false, 1.5, DifferenceType.Absolute)]
    public void MinimumDetectableEffect_OfTheExactSampleSize_RoundTrips(bool proportion, double mde, DifferenceType scale)
    {
        var baseline = proportion ? PowerBaseline.ForProportion(0.3) : PowerBaseline.ForMean(40, 25);
        var n = PowerAnalysis.SampleSize(baseline, mde, scale);

        var back = PowerAnalysis.MinimumDetectableEffect(baseline, n.ExactPerArm, scale);
        var rounded = PowerAnalysis.MinimumDetectableEffect(baseline, n.PerArm, scale);

        Assert.NotNull(back);
        Assert.Equal(mde, back.Value, 10);
        Assert.True(rounded <= mde, $"MDE at the rounded-up n ({rounded}) should not exceed {mde}");
    }

    [Fact]
    public void MinimumDetectableEffect_ClassicProportion_IsTenPercent() =>
        Assert.Equal(0.10, PowerAnalysis.MinimumDetectableEffect(TenPercent, 14_748.045020841933, DifferenceType.Relative)!.Value, 8);

    [Fact]
    public void MinimumDetectableEffect_MoreUnits_DetectsSmallerEffects() =>
        Assert.True(
            PowerAnalysis.MinimumDetectableEffect(TenPercent, 40_000, DifferenceType.Relative)
            < PowerAnalysis.MinimumDetectableEffect(TenPercent, 10_000, DifferenceType.Relative));

    [Fact]
    public void MinimumDetectableEffect_TooFewUnitsForAHighRate_IsNull() =>
        // At 95 % even a rise to 100 % needs more than three units per arm to be detected.
        Assert.Null(PowerAnalysis.MinimumDetectableEffect(PowerBaseline.ForProportion(0.95), 3, DifferenceType.Absolute));

    [Fact]
    public void PowerAt_TheRequiredSampleSize_ReachesTheTargetPower()
    {
        var n = PowerAnalysis.SampleSize(TenPercent, 0.10, DifferenceType.Relative);

        var power = PowerAnalysis.PowerAt(TenPercent, 0.10, DifferenceType.Relative, n.PerArm);

        Assert.InRange(power, 0.8, 0.8001);
    }

    [Fact]
    public void PowerAt_HalfTheUnits_FallsWellShortOfTheTarget() =>
        Assert.InRange(PowerAnalysis.PowerAt(TenPercent, 0.10, DifferenceType.Relative, 7_374), 0.45, 0.55);

    [Fact]
    public void PowerAt_OneSided_CountsOnlyTheEffectsTail()
    {
        var options = new PowerOptions { Side = TestSide.OneSidedGreater };
        var n = PowerAnalysis.SampleSize(TenPercent, 0.10, DifferenceType.Relative, options);

        Assert.Equal(0.8, PowerAnalysis.PowerAt(TenPercent, 0.10, DifferenceType.Relative, n.ExactPerArm, options), 10);
    }

    public static TheoryData<Action> InvalidArguments => new()
    {
        () => PowerBaseline.ForProportion(0),
        () => PowerBaseline.ForProportion(1.2),
        () => PowerBaseline.ForMean(10, 0),
        () => PowerBaseline.ForMean(double.NaN, 1),
        () => PowerAnalysis.SampleSize(TenPercent, 0, DifferenceType.Relative),
        () => PowerAnalysis.SampleSize(TenPercent, 10, DifferenceType.Relative),
        () => PowerAnalysis.SampleSize(TenPercent, 0.1, DifferenceType.Relative, new PowerOptions { Alpha = 0 }),
        () => PowerAnalysis.SampleSize(TenPercent, 0.1, DifferenceType.Relative, new PowerOptions { Power = 1 }),
        () => PowerAnalysis.SampleSize(TenPercent, 0.1, DifferenceType.Relative, new PowerOptions { Power = 0.01 }),
        () => PowerAnalysis.SampleSize(TenPercent, 0.1, DifferenceType.Relative, new PowerOptions { Treatments = 0 }),
        () => PowerAnalysis.SampleSize(PowerBaseline.ForMean(0, 1), 0.1, DifferenceType.Relative),
        () => PowerAnalysis.SampleSize(default, 0.1, DifferenceType.Absolute),
        () => PowerAnalysis.MinimumDetectableEffect(TenPercent, 0, DifferenceType.Relative),
        () => PowerAnalysis.PowerAt(TenPercent, 0.1, DifferenceType.Relative, double.PositiveInfinity),
    };

    [Theory]
    [MemberData(nameof(InvalidArguments))]
    public void InvalidArgument_Throws(Action call) => Assert.Throws<ArgumentOutOfRangeException>(call);
}
