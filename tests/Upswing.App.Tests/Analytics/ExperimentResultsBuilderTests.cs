using Upswing.Analytics;
using Upswing.Experiments;
using Upswing.Statistics;

namespace Upswing.App.Tests.Analytics;

public sealed class ExperimentResultsBuilderTests
{
    private static readonly DateOnly Day1 = new(2026, 11, 1);

    private static ExperimentDto Experiment(ExperimentMetrics metrics, params double[] weights) => new(
        Guid.NewGuid(), "checkout-test", "Checkout", null, "id", null, 2, "checkout-test",
        [.. weights.Select((w, i) => new ExperimentVariation(i == 0 ? "control" : $"v{i}", i == 0 ? "Control" : $"Variant {i}", w))],
        1, null, [], null, null, metrics, ExperimentStatus.Running, null, [], 1, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);

    private static DailySums Conversions(string metric, int variation, int day, double units, double converted) =>
        new(metric, variation, Day1.AddDays(day), units, converted, converted, 0, 0, 0, null, null, null);

    private static readonly Dictionary<string, ResultsMetric> Definitions = new(StringComparer.Ordinal)
    {
        ["signup"] = new("signup", "Signed up", "proportion", MetricGoal.Increase, false),
        ["errors"] = new("errors", "Saw an error", "proportion", MetricGoal.Decrease, false),
        ["aov"] = new("aov", "Revenue per order", "ratio", MetricGoal.Increase, false),
        ["revenue"] = new("revenue", "Revenue", "mean", MetricGoal.Increase, true),
    };

    [Fact]
    public void Build_SumsTheDailyIncrements_AsTheEngineWouldOnTheTotals()
    {
        var experiment = Experiment(new ExperimentMetrics(["signup"], [], ["errors"]), 0.5, 0.5);
        DailySums[] rows =
        [
            Conversions("signup", 0, 0, 4000, 400), Conversions("signup", 1, 0, 4000, 430),
            Conversions("signup", 0, 1, 6000, 600), Conversions("signup", 1, 1, 6000, 720),
            Conversions("errors", 0, 0, 4000, 200), Conversions("errors", 1, 0, 4000, 190),
            Conversions("errors", 0, 1, 6000, 300), Conversions("errors", 1, 1, 6000, 310),
        ];

        var results = ExperimentResultsBuilder.Build(experiment, Definitions, rows, new ResultsSettings());

        var direct = StatisticsEngine.Analyze(new AnalysisInput
        {
            Metric = "proportion",
            Engine = "frequentist",
            Variations = [new VariationInput { N = 10_000, Sum = 1000 }, new VariationInput { N = 10_000, Sum = 1150 }],
        });
        var signup = results.Metrics.Single(m => m.Key == "signup");
        Assert.Equal(direct.Output!.Variations[1].Expected, signup.Variations[1].Expected);
        Assert.Equal(direct.Output.Variations[1].PValue, signup.Variations[1].PValue);
        Assert.Equal(10_000, results.Variations[1].Units);
        Assert.Equal(Day1, results.From);
        Assert.Equal(Day1.AddDays(1), results.To);
        Assert.Equal(RecommendationKind.Ship, results.Recommendation.Kind);
        Assert.Equal("v1", results.Recommendation.VariationKey);
        Assert.StartsWith("Variant 1 wins on signup", results.Recommendation.Reason, StringComparison.Ordinal);
        Assert.Equal(GuardrailStatus.Ok, results.Metrics.Single(m => m.Key == "errors").Guardrail);
    }

    [Fact]
    public void Build_Series_HasOnePointPerDayEndingAtTheFinalEstimate()
    {
        var experiment = Experiment(new ExperimentMetrics(["signup"]), 1, 1, 1);
        var rows = Enumerable.Range(0, 5).SelectMany(d => Enumerable.Range(0, 3).Select(v => Conversions("signup", v, d, 1000, 100 + (v * 5) + d))).ToList();

        var results = ExperimentResultsBuilder.Build(experiment, Definitions, rows, new ResultsSettings());

        var signup = results.Metrics[0];
        Assert.Equal(5, signup.Series.Count);
        Assert.Equal(Enumerable.Range(0, 5).Select(d => Day1.AddDays(d)), signup.Series.Select(p => p.Day));
        Assert.All(signup.Series, p => Assert.Equal([1, 2], p.Variations.Select(v => v.Variation)));
        Assert.Equal(1000, signup.Series[0].Variations[0].Units);
        Assert.Equal(5000, signup.Series[^1].Variations[0].Units);
        Assert.Equal(signup.Variations[2].Expected, signup.Series[^1].Variations[1].Expected);
        Assert.Equal(signup.Variations[2].Ci![0], signup.Series[^1].Variations[1].Lower);

        // More data narrows the interval.
        var first = signup.Series[0].Variations[0];
        var last = signup.Series[^1].Variations[0];
        Assert.True(last.Upper - last.Lower < first.Upper - first.Lower);
    }

    [Fact]
    public void Build_UndefinedMetric_CarriesAnErrorAndTheOthersAreAnalysed()
    {
        var experiment = Experiment(new ExperimentMetrics(["signup"], ["nope"]), 0.5, 0.5);

        var results = ExperimentResultsBuilder.Build(experiment, Definitions, [Conversions("signup", 0, 0, 100, 10), Conversions("signup", 1, 0, 100, 12)], new ResultsSettings());

        Assert.Equal("No metric definition named 'nope'.", results.Metrics[1].Error);
        Assert.Equal(MetricRole.Secondary, results.Metrics[1].Role);
        Assert.Null(results.Metrics[0].Error);
        Assert.NotNull(results.Metrics[0].Variations[1].PValue);
    }

    [Fact]
    public void Build_NoRows_KeepsRunningAndSaysThereIsNoData()
    {
        var results = ExperimentResultsBuilder.Build(Experiment(new ExperimentMetrics(["signup"]), 0.5, 0.5), Definitions, [], new ResultsSettings());

        Assert.Equal(RecommendationKind.KeepRunning, results.Recommendation.Kind);
        Assert.Contains("No metric data", results.Recommendation.Reason, StringComparison.Ordinal);
        Assert.Null(results.From);
        Assert.Empty(results.Metrics[0].Series);
        Assert.False(results.Srm.Mismatch);
    }

    [Fact]
    public void Build_RatioMetric_UsesTheDenominatorSums()
    {
        var experiment = Experiment(new ExperimentMetrics(["aov"]), 0.5, 0.5);
        DailySums[] rows =
        [
            new("aov", 0, Day1, 500, 25_000, 1_500_000, 600, 800, 30_000, null, null, null),
            new("aov", 1, Day1, 500, 30_000, 2_000_000, 620, 820, 36_000, null, null, null),
        ];

        var results = ExperimentResultsBuilder.Build(experiment, Definitions, rows, new ResultsSettings(DifferenceType: "absolute"));

        var aov = results.Metrics[0];
        Assert.Null(aov.Error);
        Assert.Equal(25_000.0 / 600, aov.Variations[0].Mean, 9);
        Assert.Equal((30_000.0 / 620) - (25_000.0 / 600), aov.Variations[1].Expected!.Value, 9);
    }

    [Fact]
    public void Build_MetricWithPrePeriod_AppliesCupedUnlessTurnedOff()
    {
        var experiment = Experiment(new ExperimentMetrics(["revenue"]), 0.5, 0.5);

        // Post values strongly correlated with the pre-period: CUPED must narrow the interval.
        DailySums[] rows =
        [
            new("revenue", 0, Day1, 1000, 10_000, 120_000, 0, 0, 0, 9_800, 110_000, 112_000),
            new("revenue", 1, Day1, 1000, 10_400, 128_000, 0, 0, 0, 9_900, 112_000, 116_500),
        ];

        var cuped = ExperimentResultsBuilder.Build(experiment, Definitions, rows, new ResultsSettings()).Metrics[0].Variations[1];
        var plain = ExperimentResultsBuilder.Build(experiment, Definitions, rows, new ResultsSettings(Cuped: false)).Metrics[0].Variations[1];

        Assert.True(cuped.Ci![1] - cuped.Ci[0] < plain.Ci![1] - plain.Ci[0]);
    }

    [Fact]
    public void Build_RowsOfUnknownVariations_AreIgnored()
    {
        var experiment = Experiment(new ExperimentMetrics(["signup"]), 0.5, 0.5);

        var results = ExperimentResultsBuilder.Build(experiment, Definitions,
            [Conversions("signup", 0, 0, 100, 10), Conversions("signup", 1, 0, 100, 12), Conversions("signup", 7, 0, 100, 50)], new ResultsSettings());

        Assert.Equal(2, results.Metrics[0].Variations.Count);
        Assert.Equal(100, results.Metrics[0].Variations[1].N);
    }
}
