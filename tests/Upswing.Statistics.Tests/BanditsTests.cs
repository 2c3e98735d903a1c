namespace Upswing.Statistics.Tests;

public sealed class BanditsTests
{
    private static UnitEstimate Rate(double units, double rate) => Bandits.ProportionArm(units, Math.Round(units * rate));

    private static readonly UnitEstimate[] ClearWinner = [Rate(5_000, 0.10), Rate(5_000, 0.10), Rate(5_000, 0.14), Rate(5_000, 0.09)];

    [Fact]
    public void TopTwoThompson_SameSeed_GivesIdenticalWeights()
    {
        UnitEstimate[] arms = [Rate(1_000, 0.10), Rate(1_000, 0.11), Rate(1_000, 0.105)];
        var options = new BanditOptions { Seed = 42 };

        var first = Bandits.TopTwoThompson(arms, options);
        var second = Bandits.TopTwoThompson(arms, options);

        Assert.Equal(first.Weights, second.Weights);
        Assert.Equal(first.BestArmProbabilities, second.BestArmProbabilities);
    }

    [Fact]
    public void TopTwoThompson_DifferentSeed_GivesSlightlyDifferentWeights()
    {
        UnitEstimate[] arms = [Rate(1_000, 0.10), Rate(1_000, 0.11), Rate(1_000, 0.105)];

        var a = Bandits.TopTwoThompson(arms, new BanditOptions { Seed = 1 }).Weights;
        var b = Bandits.TopTwoThompson(arms, new BanditOptions { Seed = 2 }).Weights;

        Assert.NotEqual(a, b);
        for (var i = 0; i < arms.Length; i++)
        {
            Assert.InRange(Math.Abs(a[i] - b[i]), 0, 0.03);
        }
    }

    [Fact]
    public void TopTwoThompson_ClearlyBetterArm_GetsMostWeightButTopTwoKeepsExploring()
    {
        var result = Bandits.TopTwoThompson(ClearWinner, new BanditOptions { Seed = 7 });

        Assert.True(result.Updated);
        Assert.Equal(1.0, result.BestArmProbabilities![2], 3);

        // β = 0.5: the leader is played half the time; the other half goes to the challengers.
        Assert.InRange(result.Weights[2], 0.49, 0.52);
        Assert.Equal(result.Weights.Max(), result.Weights[2]);
        Assert.True(result.Weights[3] < result.Weights[0] && result.Weights[3] < result.Weights[1], string.Join(", ", result.Weights));
    }

    [Fact]
    public void TopTwoThompson_BetaOne_IsPlainThompsonSampling()
    {
        var result = Bandits.TopTwoThompson(ClearWinner, new BanditOptions { Seed = 7, TopTwoBeta = 1 });

        // Plain Thompson sampling sends (nearly) everything to the leader; the floor keeps 1 % for each of the others.
        Assert.Equal(0.97, result.Weights[2], 3);
        Assert.All([0, 1, 3], i => Assert.Equal(0.01, result.Weights[i], 6));
    }

    [Fact]
    public void TopTwoThompson_EqualArms_GetRoughlyEqualWeights()
    {
        var arm = Bandits.MeanArm(new Moments(2_000, 20_000, 2_000 * (100 + 25)));

        var result = Bandits.TopTwoThompson([arm, arm, arm, arm], new BanditOptions { Seed = 3 });

        Assert.All(result.Weights, w => Assert.InRange(w, 0.23, 0.27));
        Assert.All(result.BestArmProbabilities!, p => Assert.InRange(p, 0.23, 0.27));
    }

    [Fact]
    public void TopTwoThompson_TwoArms_SplitsEvenlyWhateverTheEvidence()
    {
        // With two arms the challenger is always the other arm, so β = 0.5 gives 50/50: a known property of top-two sampling.
        var result = Bandits.TopTwoThompson([Rate(5_000, 0.10), Rate(5_000, 0.13)], new BanditOptions { Seed = 5 });

        Assert.Equal(0.5, result.Weights[0], 10);
        Assert.Equal(0.5, result.Weights[1], 10);
    }

    [Fact]
    public void TopTwoThompson_Weights_SumToOneAndRespectTheFloor()
    {
        UnitEstimate[] arms = [Rate(3_000, 0.05), Rate(3_000, 0.20), Rate(3_000, 0.21), Rate(3_000, 0.02), Rate(3_000, 0.01), Rate(3_000, 0.03)];

        var result = Bandits.TopTwoThompson(arms, new BanditOptions { Seed = 11, MinWeight = 0.05 });

        Assert.Equal(1.0, result.Weights.Sum(), 12);
        Assert.All(result.Weights, w => Assert.True(w >= 0.05 - 1e-12, $"{w} is below the floor"));
        Assert.Equal(0.05, result.Weights[4], 12);
    }

    [Fact]
    public void TopTwoThompson_DecreaseGoal_FavoursTheSmallestMean()
    {
        UnitEstimate[] arms =
        [
            Bandits.MeanArm(new Moments(1_000, 1_000 * 250, 1_000 * ((250 * 250) + 400))),
            Bandits.MeanArm(new Moments(1_000, 1_000 * 200, 1_000 * ((200 * 200) + 400))),
            Bandits.MeanArm(new Moments(1_000, 1_000 * 300, 1_000 * ((300 * 300) + 400))),
        ];

        var higher = Bandits.TopTwoThompson(arms, new BanditOptions { Seed = 9, TopTwoBeta = 1 });
        var lower = Bandits.TopTwoThompson(arms, new BanditOptions { Seed = 9, TopTwoBeta = 1, Goal = MetricGoal.Decrease });

        Assert.Equal(2, IndexOfMax(higher.Weights));
        Assert.Equal(1, IndexOfMax(lower.Weights));
    }

    [Fact]
    public void TopTwoThompson_ArmBelowMinimumSample_KeepsCurrentWeightsWithAReason()
    {
        UnitEstimate[] arms = [Rate(5_000, 0.10), Rate(99, 0.5), Rate(5_000, 0.14)];

        var result = Bandits.TopTwoThompson(arms, new BanditOptions { CurrentWeights = [2, 1, 1] });

        Assert.False(result.Updated);
        Assert.Equal([0.5, 0.25, 0.25], result.Weights);
        Assert.Null(result.BestArmProbabilities);
        Assert.Contains("arm 1 has 99 units", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TopTwoThompson_ArmBelowMinimumSampleWithoutCurrentWeights_ReturnsEqualWeights()
    {
        var result = Bandits.TopTwoThompson([Rate(50, 0.1), Rate(5_000, 0.2)]);

        Assert.False(result.Updated);
        Assert.Equal([0.5, 0.5], result.Weights);
    }

    [Fact]
    public void TopTwoThompson_ZeroVarianceTies_AreSharedNotGivenToTheFirstArm()
    {
        // Arms with no conversions have point-mass posteriors at 0, so every draw is a tie.
        UnitEstimate[] arms = [Rate(500, 0), Rate(500, 0)];

        var result = Bandits.TopTwoThompson(arms, new BanditOptions { Seed = 4, TopTwoBeta = 1 });

        Assert.InRange(result.BestArmProbabilities![0], 0.47, 0.53);
    }

    public static TheoryData<Action> InvalidArguments => new()
    {
        () => Bandits.TopTwoThompson([Rate(500, 0.1)]),
        () => Bandits.TopTwoThompson([Rate(500, 0.1), new UnitEstimate(500, 0.1, -1)]),
        () => Bandits.TopTwoThompson([Rate(500, 0.1), Rate(500, 0.1)], new BanditOptions { Draws = 0 }),
        () => Bandits.TopTwoThompson([Rate(500, 0.1), Rate(500, 0.1)], new BanditOptions { TopTwoBeta = 1.5 }),
        () => Bandits.TopTwoThompson([Rate(500, 0.1), Rate(500, 0.1)], new BanditOptions { MinWeight = 0.6 }),
        () => Bandits.TopTwoThompson([Rate(500, 0.1), Rate(500, 0.1)], new BanditOptions { CurrentWeights = [0, 0] }),
        () => Bandits.ProportionArm(10, 11),
    };

    [Theory]
    [MemberData(nameof(InvalidArguments))]
    public void InvalidArgument_Throws(Action call) => Assert.Throws<ArgumentOutOfRangeException>(call);

    [Fact]
    public void TopTwoThompson_CurrentWeightsOfWrongLength_Throws() =>
        Assert.Throws<ArgumentException>(() => Bandits.TopTwoThompson([Rate(500, 0.1), Rate(500, 0.1)], new BanditOptions { CurrentWeights = [1] }));

    private static int IndexOfMax(IReadOnlyList<double> values)
    {
        var best = 0;
        for (var i = 1; i < values.Count; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }
}
