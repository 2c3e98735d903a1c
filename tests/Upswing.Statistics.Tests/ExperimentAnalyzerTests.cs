namespace Upswing.Statistics.Tests;

public sealed class ExperimentAnalyzerTests
{
    private static readonly AnalysisInput Frequentist = new() { Engine = "frequentist" };

    private static VariationInput Rate(double n, double conversions) => new() { N = n, Sum = conversions };

    private static ExperimentMetricInput Proportion(string key, MetricRole role, MetricGoal goal, params VariationInput[] variations) =>
        new(key, "proportion", role, goal, variations);

    private static ExperimentAnalysis Analyze(AnalysisInput settings, PValueCorrection correction, params ExperimentMetricInput[] metrics) =>
        ExperimentAnalyzer.Analyze(new ExperimentAnalysisInput(settings, [.. metrics[0].Variations.Select(v => v.N ?? 0)], metrics) { Correction = correction });

    [Fact]
    public void Analyze_ClearWinnerWithHealthyGuardrail_RecommendsShippingIt()
    {
        var result = Analyze(Frequentist, PValueCorrection.HolmBonferroni,
            Proportion("signup", MetricRole.Primary, MetricGoal.Increase, Rate(10_000, 1000), Rate(10_000, 1000), Rate(10_000, 1150)),
            Proportion("errors", MetricRole.Guardrail, MetricGoal.Decrease, Rate(10_000, 500), Rate(10_000, 505), Rate(10_000, 490)));

        Assert.Equal(RecommendationKind.Ship, result.Recommendation.Kind);
        Assert.Equal(2, result.Recommendation.Variation);
        Assert.Equal(EffectVerdict.Winning, result.Metrics[0].Variations[2].Verdict);
        Assert.Equal(EffectVerdict.Inconclusive, result.Metrics[0].Variations[1].Verdict);
        Assert.Equal(GuardrailStatus.Ok, result.Metrics[1].Guardrail);
        Assert.Contains("signup", result.Recommendation.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_WinnerThatFailsAGuardrail_RecommendsRollingBack()
    {
        var result = Analyze(Frequentist, PValueCorrection.HolmBonferroni,
            Proportion("signup", MetricRole.Primary, MetricGoal.Increase, Rate(10_000, 1000), Rate(10_000, 1150)),
            Proportion("errors", MetricRole.Guardrail, MetricGoal.Decrease, Rate(10_000, 500), Rate(10_000, 600)));

        Assert.Equal(GuardrailStatus.Failing, result.Metrics[1].Variations[1].Guardrail);
        Assert.Equal(GuardrailStatus.Failing, result.Metrics[1].Guardrail);
        Assert.Equal(RecommendationKind.RollBack, result.Recommendation.Kind);
        Assert.Equal(1, result.Recommendation.Variation);
        Assert.Contains("errors", result.Recommendation.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_GuardrailDriftingTheWrongWay_WarnsButStillShips()
    {
        var result = Analyze(Frequentist, PValueCorrection.None,
            Proportion("signup", MetricRole.Primary, MetricGoal.Increase, Rate(10_000, 1000), Rate(10_000, 1150)),
            Proportion("errors", MetricRole.Guardrail, MetricGoal.Decrease, Rate(10_000, 500), Rate(10_000, 530)));

        var errors = result.Metrics[1].Variations[1];
        Assert.InRange(errors.PValue!.Value, 0.05, 0.4);
        Assert.Equal(EffectVerdict.Inconclusive, errors.Verdict);
        Assert.Equal(GuardrailStatus.Warning, errors.Guardrail);
        Assert.Equal(RecommendationKind.Ship, result.Recommendation.Kind);
        Assert.Contains("errors", result.Recommendation.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_DecreaseGoalMetricGoingDown_IsWinning()
    {
        var result = Analyze(Frequentist, PValueCorrection.None,
            Proportion("churn", MetricRole.Primary, MetricGoal.Decrease, Rate(10_000, 800), Rate(10_000, 650)));

        Assert.True(result.Metrics[0].Variations[1].Expected < 0);
        Assert.Equal(EffectVerdict.Winning, result.Metrics[0].Variations[1].Verdict);
        Assert.Equal(RecommendationKind.Ship, result.Recommendation.Kind);
    }

    [Fact]
    public void Analyze_PrimaryMetricSignificantlyWorse_RecommendsRollingBack()
    {
        var result = Analyze(Frequentist, PValueCorrection.None,
            Proportion("signup", MetricRole.Primary, MetricGoal.Increase, Rate(10_000, 1000), Rate(10_000, 850)));

        Assert.Equal(EffectVerdict.Losing, result.Metrics[0].Variations[1].Verdict);
        Assert.Equal(RecommendationKind.RollBack, result.Recommendation.Kind);
        Assert.Contains("loses on signup", result.Recommendation.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_NoSignificantDifference_KeepsRunning()
    {
        var result = Analyze(Frequentist, PValueCorrection.HolmBonferroni,
            Proportion("signup", MetricRole.Primary, MetricGoal.Increase, Rate(1000, 100), Rate(1000, 104)));

        Assert.Equal(RecommendationKind.KeepRunning, result.Recommendation.Kind);
        Assert.Null(result.Recommendation.Variation);
    }

    [Fact]
    public void Analyze_UnitsOffTheWeights_StopsForSrmWhateverTheMetricsSay()
    {
        var metric = Proportion("signup", MetricRole.Primary, MetricGoal.Increase, Rate(10_000, 1000), Rate(10_000, 1300));
        var result = ExperimentAnalyzer.Analyze(new ExperimentAnalysisInput(Frequentist, [10_000, 9_000], [metric]));

        Assert.True(result.Srm.Mismatch);
        Assert.True(result.Srm.PValue < Srm.Threshold);
        Assert.Equal(RecommendationKind.StopForSrm, result.Recommendation.Kind);
    }

    [Fact]
    public void Analyze_HolmAcrossManyMetrics_TurnsAMarginalWinInconclusive()
    {
        ExperimentMetricInput[] metrics =
        [
            Proportion("signup", MetricRole.Primary, MetricGoal.Increase, Rate(10_000, 1000), Rate(10_000, 1090)),
            .. Enumerable.Range(0, 4).Select(i => Proportion($"s{i}", MetricRole.Secondary, MetricGoal.Increase, Rate(10_000, 300), Rate(10_000, 301))),
        ];

        var raw = Analyze(Frequentist, PValueCorrection.None, metrics);
        var holm = Analyze(Frequentist, PValueCorrection.HolmBonferroni, metrics);

        Assert.InRange(raw.Metrics[0].Variations[1].PValue!.Value, 0.01, 0.05);
        Assert.Equal(RecommendationKind.Ship, raw.Recommendation.Kind);
        Assert.True(holm.Metrics[0].Variations[1].AdjustedPValue > 0.05);
        Assert.Equal(EffectVerdict.Inconclusive, holm.Metrics[0].Variations[1].Verdict);
        Assert.Equal(RecommendationKind.KeepRunning, holm.Recommendation.Kind);
    }

    [Fact]
    public void Analyze_AdjustedPValues_AreTheFamilyCorrectionOfPrimaryAndSecondaryOnly()
    {
        var result = Analyze(Frequentist, PValueCorrection.BenjaminiHochberg,
            Proportion("a", MetricRole.Primary, MetricGoal.Increase, Rate(5000, 500), Rate(5000, 540), Rate(5000, 560)),
            Proportion("b", MetricRole.Secondary, MetricGoal.Increase, Rate(5000, 200), Rate(5000, 230), Rate(5000, 190)),
            Proportion("g", MetricRole.Guardrail, MetricGoal.Decrease, Rate(5000, 100), Rate(5000, 130), Rate(5000, 90)));

        double[] raw = [.. result.Metrics.Take(2).SelectMany(m => m.Variations.Skip(1)).Select(v => v.PValue!.Value)];
        var expected = MultipleTesting.BenjaminiHochberg(raw);
        double[] actual = [.. result.Metrics.Take(2).SelectMany(m => m.Variations.Skip(1)).Select(v => v.AdjustedPValue!.Value)];
        Assert.Equal(expected, actual);
        Assert.All(result.Metrics[2].Variations.Skip(1), v => Assert.Equal(v.PValue, v.AdjustedPValue));
    }

    [Fact]
    public void Analyze_Bayesian_DecidesOnChanceToWinAndHasNoPValues()
    {
        var result = Analyze(new AnalysisInput { Engine = "bayesian" }, PValueCorrection.HolmBonferroni,
            Proportion("signup", MetricRole.Primary, MetricGoal.Increase, Rate(10_000, 1000), Rate(10_000, 1150)));

        var treatment = result.Metrics[0].Variations[1];
        Assert.True(treatment.ChanceToWin > 0.95);
        Assert.Null(treatment.PValue);
        Assert.Null(treatment.AdjustedPValue);
        Assert.Equal(EffectVerdict.Winning, treatment.Verdict);
        Assert.Equal(RecommendationKind.Ship, result.Recommendation.Kind);
    }

    [Fact]
    public void Analyze_InvalidMetric_CarriesItsErrorAndTheRestIsAnalysed()
    {
        var broken = new ExperimentMetricInput("revenue", "mean", MetricRole.Secondary, MetricGoal.Increase, [new VariationInput { N = 10_000, Sum = 5 }, new VariationInput { N = 10_000, Sum = 6 }]);
        var result = Analyze(Frequentist, PValueCorrection.HolmBonferroni,
            Proportion("signup", MetricRole.Primary, MetricGoal.Increase, Rate(10_000, 1000), Rate(10_000, 1150)), broken);

        Assert.Contains("sumSquares", result.Metrics[1].Error, StringComparison.Ordinal);
        Assert.Empty(result.Metrics[1].Variations);
        Assert.Equal(RecommendationKind.Ship, result.Recommendation.Kind);
    }

    [Fact]
    public void Analyze_VariationMeans_AreEachVariationsOwnValue()
    {
        var ratio = new ExperimentMetricInput("aov", "ratio", MetricRole.Secondary, MetricGoal.Increase,
        [
            new VariationInput { N = 100, Numerator = new SumsInput { Sum = 500, SumSquares = 4000 }, Denominator = new SumsInput { Sum = 50, SumSquares = 60 }, SumProducts = 300 },
            new VariationInput { N = 100, Numerator = new SumsInput { Sum = 660, SumSquares = 6000 }, Denominator = new SumsInput { Sum = 60, SumSquares = 70 }, SumProducts = 420 },
        ]);
        var result = Analyze(Frequentist, PValueCorrection.None, Proportion("signup", MetricRole.Primary, MetricGoal.Increase, Rate(100, 10), Rate(100, 20)), ratio);

        Assert.Equal(0.1, result.Metrics[0].Variations[0].Mean, 12);
        Assert.Equal(0.2, result.Metrics[0].Variations[1].Mean, 12);
        Assert.Equal(10, result.Metrics[1].Variations[0].Mean, 12);
        Assert.Equal(11, result.Metrics[1].Variations[1].Mean, 12);
    }

    [Fact]
    public void Analyze_UnitsNotMatchingWeights_Throws() =>
        Assert.Throws<ArgumentException>(() => ExperimentAnalyzer.Analyze(new ExperimentAnalysisInput(Frequentist with { Weights = [0.5, 0.5] }, [1, 2, 3], [])));
}
