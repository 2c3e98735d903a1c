using Upswing.Analytics;
using Upswing.Statistics;

namespace Upswing.App.Tests.Analytics;

public sealed class MetricKindAndRollupRowTests
{
    private static readonly DateOnly Day = new(2026, 12, 1);

    [Theory]
    [InlineData(MetricType.Binomial, "proportion")]
    [InlineData(MetricType.Retention, "proportion")]
    [InlineData(MetricType.Count, "mean")]
    [InlineData(MetricType.Sum, "mean")]
    [InlineData(MetricType.Mean, "mean")]
    [InlineData(MetricType.Ratio, "ratio")]
    public void StatisticsKindOf_MapsEachTypeToTheEnginesKind(MetricType type, string kind) => Assert.Equal(kind, MetricDto.StatisticsKindOf(type));

    [Fact]
    public void StatisticsKindOf_EveryType_IsAKindTheStatisticsEngineAnalyses()
    {
        foreach (var type in Enum.GetValues<MetricType>())
        {
            var kind = MetricDto.StatisticsKindOf(type);
            var variations = kind == StatisticsMetricKinds.Ratio
                ? new[] { Ratio(100, 50, 100), Ratio(100, 60, 100) }
                : new[] { new VariationInput { N = 100, Sum = 10, SumSquares = 10 }, new VariationInput { N = 100, Sum = 14, SumSquares = 14 } };
            var result = StatisticsEngine.Analyze(new AnalysisInput { Metric = kind, Engine = "frequentist", Variations = variations });
            Assert.True(result.IsSuccess, $"{type} → {kind}: {result.Error}");
        }

        static VariationInput Ratio(double n, double numerator, double denominator) => new()
        {
            N = n,
            Numerator = new SumsInput { Sum = numerator, SumSquares = numerator * 1.5 },
            Denominator = new SumsInput { Sum = denominator, SumSquares = denominator },
            SumProducts = numerator,
        };
    }

    [Fact]
    public void StatisticsKind_OfADefinition_FollowsItsType()
    {
        var now = DateTimeOffset.UnixEpoch;
        var metric = new MetricDto(Guid.NewGuid(), "aov", "Order value", null, MetricType.Ratio, null, null, [], null, null, "revenue", "orders",
            MetricDirection.Increase, false, null, null, 1, now, now);
        Assert.Equal("ratio", metric.StatisticsKind());
    }

    [Fact]
    public void Check_PlainRatioAndCupedRows_AreAccepted() =>
        ExperimentMetricRollups.Check(
        [
            new("exp", "orders", 0, Day, 10, 3, 3),
            new("exp", "aov", 0, Day, 10, 120, 2400, 3, 3, 120),
            new("exp", "revenue", 1, Day, 10, 120, 2400, PreSum: 80, PreSumSquares: 1600, SumProductsPre: 1000),
        ]);

    [Fact]
    public void Check_TheSameKeyTwiceInABatch_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => ExperimentMetricRollups.Check([new("exp", "orders", 0, Day, 10, 3, 3), new("exp", "orders", 0, Day, 11, 4, 4)]));
        Assert.Contains("once", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_SomeButNotAllRatioColumns_Throws() =>
        Assert.Throws<ArgumentException>(() => ExperimentMetricRollups.Check([new("exp", "aov", 0, Day, 10, 120, 2400, DenominatorSum: 3)]));

    [Fact]
    public void Check_SomeButNotAllCupedColumns_Throws() =>
        Assert.Throws<ArgumentException>(() => ExperimentMetricRollups.Check([new("exp", "revenue", 0, Day, 10, 120, 2400, PreSum: 80, PreSumSquares: 1600)]));

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Check_NonFiniteSums_Throw(double value)
    {
        Assert.Throws<ArgumentException>(() => ExperimentMetricRollups.Check([new("exp", "orders", 0, Day, 10, value, 3)]));
        Assert.Throws<ArgumentException>(() => ExperimentMetricRollups.Check([new("exp", "aov", 0, Day, 10, 1, 1, 1, 1, value)]));
    }

    [Fact]
    public void Check_NegativeUnitsOrVariationAndOverlongKeys_Throw()
    {
        Assert.Throws<ArgumentException>(() => ExperimentMetricRollups.Check([new("exp", "orders", -1, Day, 10, 3, 3)]));
        Assert.Throws<ArgumentException>(() => ExperimentMetricRollups.Check([new("exp", "orders", 0, Day, -10, 3, 3)]));
        Assert.Throws<ArgumentException>(() => ExperimentMetricRollups.Check([new(new string('e', 101), "orders", 0, Day, 10, 3, 3)]));
        Assert.Throws<ArgumentException>(() => ExperimentMetricRollups.Check([new("exp", "", 0, Day, 10, 3, 3)]));
    }
}
