namespace Upswing.Statistics;

/// <summary>What a metric is for in an experiment.</summary>
public enum MetricRole
{
    /// <summary>A goal metric: the experiment is shipped on it.</summary>
    Primary,

    /// <summary>Watched for insight, not for the decision.</summary>
    Secondary,

    /// <summary>Must not get worse; a failing guardrail argues for rolling back.</summary>
    Guardrail,
}

/// <summary>Which way a metric should move.</summary>
public enum MetricGoal
{
    /// <summary>Up is good (conversions, revenue).</summary>
    Increase,

    /// <summary>Down is good (errors, latency, unsubscribes).</summary>
    Decrease,
}

/// <summary>Adjustment of the p-values of all primary and secondary metrics × treatments.</summary>
public enum PValueCorrection
{
    /// <summary>No adjustment: adjusted p-values equal the raw ones.</summary>
    None,

    /// <summary>Holm-Bonferroni (family-wise error rate).</summary>
    HolmBonferroni,

    /// <summary>Benjamini-Hochberg (false discovery rate).</summary>
    BenjaminiHochberg,
}

/// <summary>How a treatment compares with the baseline on one metric, by the metric's goal.</summary>
public enum EffectVerdict
{
    /// <summary>No significant difference yet.</summary>
    Inconclusive,

    /// <summary>Significantly better than the baseline.</summary>
    Winning,

    /// <summary>Significantly worse than the baseline.</summary>
    Losing,
}

/// <summary>State of a guardrail metric for a treatment (or the worst over treatments).</summary>
public enum GuardrailStatus
{
    /// <summary>No sign of harm.</summary>
    Ok,

    /// <summary>Moving the wrong way with at least <see cref="ExperimentAnalyzer.GuardrailWarningConfidence"/> confidence.</summary>
    Warning,

    /// <summary>Significantly worse than the baseline.</summary>
    Failing,
}

/// <summary>What to do with the experiment now.</summary>
public enum RecommendationKind
{
    /// <summary>Nothing is decided yet: keep collecting data.</summary>
    KeepRunning,

    /// <summary>A treatment wins on a primary metric without failing a guardrail: roll it out.</summary>
    Ship,

    /// <summary>A treatment fails a guardrail or loses on a primary metric: go back to the baseline.</summary>
    RollBack,

    /// <summary>The traffic split does not match the weights: the results cannot be trusted.</summary>
    StopForSrm,
}

/// <summary>One metric of an experiment: its statistics kind ("proportion", "mean" or "ratio"), role, goal and per-variation statistics.</summary>
public sealed record ExperimentMetricInput(string Key, string Metric, MetricRole Role, MetricGoal Goal, IReadOnlyList<VariationInput> Variations)
{
    /// <summary>True to apply CUPED to this metric when the settings ask for it (its variations then carry pre-period sums).</summary>
    public bool Cuped { get; init; }
}

/// <summary>
/// Input of <see cref="ExperimentAnalyzer.Analyze"/>. <see cref="Settings"/> carries engine, difference type, alpha,
/// test, sequential, CUPED, prior and weights exactly as <c>upswing stats analyze</c> takes them; its metric and
/// variations are ignored in favour of <see cref="Metrics"/>.
/// </summary>
public sealed record ExperimentAnalysisInput(AnalysisInput Settings, IReadOnlyList<double> Units, IReadOnlyList<ExperimentMetricInput> Metrics)
{
    /// <summary>Adjustment applied to primary and secondary p-values (frequentist engine); the decision uses the adjusted values.</summary>
    public PValueCorrection Correction { get; init; } = PValueCorrection.HolmBonferroni;

    /// <summary>Names of the variations for the recommendation's reason; "variation i" when omitted.</summary>
    public IReadOnlyList<string>? VariationNames { get; init; }
}

/// <summary>SRM check of the assigned units against the weights.</summary>
public sealed record SrmCheck(double PValue, bool Mismatch);

/// <summary>One variation's result on one metric; the baseline carries only its <see cref="N"/> and <see cref="Mean"/>.</summary>
public sealed record MetricVariationResult
{
    /// <summary>Variation index; 0 is the baseline.</summary>
    public int Variation { get; init; }

    /// <summary>Units (users) with data for this metric.</summary>
    public double N { get; init; }

    /// <summary>The variation's own mean (or ratio) of the metric.</summary>
    public double Mean { get; init; }

    /// <summary>Estimated effect against the baseline (relative or absolute, as asked).</summary>
    public double? Expected { get; init; }

    /// <summary>Confidence or credible interval of the effect; a null end is unbounded.</summary>
    public IReadOnlyList<double?>? Ci { get; init; }

    /// <summary>Raw p-value (frequentist engine).</summary>
    public double? PValue { get; init; }

    /// <summary>P-value after the experiment's correction (frequentist engine; guardrails are never adjusted).</summary>
    public double? AdjustedPValue { get; init; }

    /// <summary>Probability that the treatment's value is above the baseline's (Bayesian engine).</summary>
    public double? ChanceToWin { get; init; }

    /// <summary>Expected loss of choosing [baseline, treatment] (Bayesian engine).</summary>
    public IReadOnlyList<double>? Risk { get; init; }

    /// <summary>Winning, losing or inconclusive by the metric's goal; null for the baseline.</summary>
    public EffectVerdict? Verdict { get; init; }

    /// <summary>Guardrail state for this treatment; null unless the metric is a guardrail.</summary>
    public GuardrailStatus? Guardrail { get; init; }
}

/// <summary>One metric's results; <see cref="Error"/> is set instead of variations when its statistics were invalid.</summary>
public sealed record MetricAnalysis(
    string Key, string Metric, MetricRole Role, MetricGoal Goal, IReadOnlyList<MetricVariationResult> Variations, GuardrailStatus? Guardrail, string? Error);

/// <summary>What the analysis recommends, with the variation to ship (for <see cref="RecommendationKind.Ship"/>) and why.</summary>
public sealed record Recommendation(RecommendationKind Kind, int? Variation, string Reason);

/// <summary>Output of <see cref="ExperimentAnalyzer.Analyze"/>.</summary>
public sealed record ExperimentAnalysis(SrmCheck Srm, IReadOnlyList<MetricAnalysis> Metrics, Recommendation Recommendation);
