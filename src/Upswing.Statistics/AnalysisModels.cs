using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;

namespace Upswing.Statistics;

/// <summary>Input document of <c>upswing stats analyze</c>; variation 0 is the baseline.</summary>
public sealed record AnalysisInput
{
    /// <summary>"proportion", "mean" or "ratio".</summary>
    public string? Metric { get; init; }

    /// <summary>"frequentist" or "bayesian".</summary>
    public string? Engine { get; init; }

    /// <summary>"relative" (default) or "absolute".</summary>
    public string? DifferenceType { get; init; }

    /// <summary>Significance level / credible mass complement; default 0.05.</summary>
    public double? Alpha { get; init; }

    /// <summary>"two-sided" (default) or "one-sided-greater"; frequentist only.</summary>
    public string? Test { get; init; }

    /// <summary>Present to use always-valid sequential intervals; frequentist only.</summary>
    public SequentialInput? Sequential { get; init; }

    /// <summary>True to apply CUPED with the variations' pre-period statistics; frequentist only.</summary>
    public bool? Cuped { get; init; }

    /// <summary>Gaussian prior on the effect; Bayesian only.</summary>
    public PriorInput? Prior { get; init; }

    /// <summary>Configured traffic weights per variation; equal when omitted.</summary>
    public IReadOnlyList<double>? Weights { get; init; }

    /// <summary>Sufficient statistics per variation.</summary>
    public IReadOnlyList<VariationInput>? Variations { get; init; }
}

/// <summary>Sequential testing options.</summary>
public sealed record SequentialInput
{
    /// <summary>Tuning parameter of the confidence sequence (expected total sample size); default 5000.</summary>
    public double? TuningParameter { get; init; }
}

/// <summary>Gaussian prior of the Bayesian engine.</summary>
public sealed record PriorInput
{
    /// <summary>Prior mean of the effect; default 0.</summary>
    public double? Mean { get; init; }

    /// <summary>Prior variance of the effect; default 1.</summary>
    public double? Variance { get; init; }

    /// <summary>False (default) for an improper flat prior.</summary>
    public bool? Proper { get; init; }
}

/// <summary>Sum and sum of squares of one quantity.</summary>
public sealed record SumsInput
{
    /// <summary>Sum over units.</summary>
    public double? Sum { get; init; }

    /// <summary>Sum of squares over units.</summary>
    public double? SumSquares { get; init; }
}

/// <summary>One variation's sufficient statistics (mean/proportion, ratio, optionally CUPED).</summary>
public sealed record VariationInput
{
    /// <summary>Number of units.</summary>
    public double? N { get; init; }

    /// <summary>Sum of the metric (mean and proportion metrics).</summary>
    public double? Sum { get; init; }

    /// <summary>Sum of squares of the metric (may be omitted for proportions).</summary>
    public double? SumSquares { get; init; }

    /// <summary>Numerator sums (ratio metrics).</summary>
    public SumsInput? Numerator { get; init; }

    /// <summary>Denominator sums (ratio metrics).</summary>
    public SumsInput? Denominator { get; init; }

    /// <summary>Sum of numerator × denominator over units (ratio metrics).</summary>
    public double? SumProducts { get; init; }

    /// <summary>Pre-period covariate sums (CUPED).</summary>
    public SumsInput? Pre { get; init; }

    /// <summary>Sum of metric × covariate over units (CUPED).</summary>
    public double? SumProductsWithPre { get; init; }
}

/// <summary>Output document of <c>upswing stats analyze</c>.</summary>
public sealed record AnalysisOutput(SrmOutput Srm, IReadOnlyList<VariationOutput> Variations);

/// <summary>Sample ratio mismatch result.</summary>
public sealed record SrmOutput(double PValue);

/// <summary>One variation's result; the baseline carries only <see cref="N"/>.</summary>
public sealed record VariationOutput
{
    /// <summary>Number of units.</summary>
    public double N { get; init; }

    /// <summary>Estimated (frequentist) or posterior mean (Bayesian) effect against the baseline.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Expected { get; init; }

    /// <summary>Confidence or credible interval; a null end is unbounded.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<double?>? Ci { get; init; }

    /// <summary>Frequentist p-value.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? PValue { get; init; }

    /// <summary>Bayesian probability that the treatment beats the baseline.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? ChanceToWin { get; init; }

    /// <summary>Bayesian expected loss of choosing [control, treatment].</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<double>? Risk { get; init; }
}

/// <summary>Either an output document or a message saying why the input is invalid.</summary>
public sealed record AnalysisResult(AnalysisOutput? Output, string? Error)
{
    /// <summary>True when <see cref="Output"/> is set.</summary>
    [MemberNotNullWhen(true, nameof(Output))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => Output is not null;
}
