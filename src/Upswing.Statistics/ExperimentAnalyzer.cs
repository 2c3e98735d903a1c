using System.Globalization;

namespace Upswing.Statistics;

/// <summary>
/// Analyses every metric of an experiment with <see cref="StatisticsEngine"/>, adjusts the p-values of the
/// primary and secondary metrics, judges guardrails, and recommends what to do.
/// </summary>
public static class ExperimentAnalyzer
{
    /// <summary>Confidence that a guardrail moves the wrong way at which it is flagged as a warning.</summary>
    public const double GuardrailWarningConfidence = 0.8;

    /// <summary>Analyses the experiment; a metric with invalid statistics carries its error and takes no part in the decision.</summary>
    /// <exception cref="ArgumentException">The units do not match the variations of the settings' weights.</exception>
    public static ExperimentAnalysis Analyze(ExperimentAnalysisInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var settings = input.Settings;
        var units = input.Units;
        var k = units.Count;
        if (settings.Weights is { } w && w.Count != k)
        {
            throw new ArgumentException($"{w.Count} weights for {k} variations", nameof(input));
        }

        var weights = new double[k];
        for (var i = 0; i < k; i++)
        {
            weights[i] = settings.Weights?[i] ?? 1.0 / k;
        }

        var unitArray = new double[k];
        for (var i = 0; i < k; i++)
        {
            unitArray[i] = units[i];
        }

        var srmP = Srm.PValue(unitArray, weights);
        var srm = new SrmCheck(srmP, srmP < Srm.Threshold);

        var alpha = settings.Alpha ?? 0.05;
        var bayesian = settings.Engine == "bayesian";
        var oneSided = settings.Test == "one-sided-greater" && settings.Sequential is null;
        var outputs = new AnalysisResult[input.Metrics.Count];
        for (var m = 0; m < outputs.Length; m++)
        {
            var metric = input.Metrics[m];
            outputs[m] = StatisticsEngine.Analyze(settings with
            {
                Metric = metric.Metric,
                Variations = metric.Variations,
                Cuped = settings.Cuped == true && metric.Cuped,
            });
        }

        var adjusted = bayesian ? null : Adjust(input, outputs);
        var metrics = new MetricAnalysis[outputs.Length];
        for (var m = 0; m < outputs.Length; m++)
        {
            var metric = input.Metrics[m];
            var result = outputs[m];
            if (!result.IsSuccess)
            {
                metrics[m] = new MetricAnalysis(metric.Key, metric.Metric, metric.Role, metric.Goal, [], null, result.Error);
                continue;
            }

            var variations = new MetricVariationResult[result.Output.Variations.Count];
            GuardrailStatus? worst = metric.Role == MetricRole.Guardrail ? GuardrailStatus.Ok : null;
            for (var v = 0; v < variations.Length; v++)
            {
                var o = result.Output.Variations[v];
                var mean = OwnMean(metric, metric.Variations[v]);
                if (v == 0)
                {
                    variations[v] = new MetricVariationResult { Variation = 0, N = o.N, Mean = mean };
                    continue;
                }

                var adjustedP = adjusted?[m]?[v] ?? o.PValue;
                var better = ChanceBetter(o, o.PValue, metric.Goal, bayesian, oneSided);
                var verdict = Verdict(ChanceBetter(o, adjustedP, metric.Goal, bayesian, oneSided), alpha, bayesian || oneSided);
                GuardrailStatus? guardrail = null;
                if (metric.Role == MetricRole.Guardrail)
                {
                    // Guardrails use raw p-values: adjusting them would make harm harder to see.
                    guardrail = Verdict(better, alpha, bayesian || oneSided) == EffectVerdict.Losing ? GuardrailStatus.Failing
                        : 1 - better >= GuardrailWarningConfidence ? GuardrailStatus.Warning
                        : GuardrailStatus.Ok;
                    worst = (GuardrailStatus)Math.Max((int)worst!.Value, (int)guardrail.Value);
                }

                variations[v] = new MetricVariationResult
                {
                    Variation = v,
                    N = o.N,
                    Mean = mean,
                    Expected = o.Expected,
                    Ci = o.Ci,
                    PValue = o.PValue,
                    AdjustedPValue = bayesian ? null : adjustedP,
                    ChanceToWin = o.ChanceToWin,
                    Risk = o.Risk,
                    Verdict = verdict,
                    Guardrail = guardrail,
                };
            }

            metrics[m] = new MetricAnalysis(metric.Key, metric.Metric, metric.Role, metric.Goal, variations, worst, null);
        }

        return new ExperimentAnalysis(srm, metrics, Recommend(srm, metrics, k, input.VariationNames));
    }

    /// <summary>Adjusted p-values per metric and variation for the family of primary and secondary metrics × treatments.</summary>
    private static double[]?[] Adjust(ExperimentAnalysisInput input, AnalysisResult[] outputs)
    {
        var adjusted = new double[]?[outputs.Length];
        var family = new List<(int Metric, int Variation, double P)>();
        for (var m = 0; m < outputs.Length; m++)
        {
            if (input.Metrics[m].Role == MetricRole.Guardrail || !outputs[m].IsSuccess)
            {
                continue;
            }

            var variations = outputs[m].Output!.Variations;
            for (var v = 1; v < variations.Count; v++)
            {
                family.Add((m, v, variations[v].PValue ?? 1));
            }
        }

        var raw = new double[family.Count];
        for (var i = 0; i < raw.Length; i++)
        {
            raw[i] = family[i].P;
        }

        var corrected = input.Correction switch
        {
            PValueCorrection.HolmBonferroni => MultipleTesting.HolmBonferroni(raw),
            PValueCorrection.BenjaminiHochberg => MultipleTesting.BenjaminiHochberg(raw),
            _ => raw,
        };

        for (var i = 0; i < family.Count; i++)
        {
            var (m, v, _) = family[i];
            adjusted[m] ??= new double[outputs[m].Output!.Variations.Count];
            adjusted[m]![v] = corrected[i];
        }

        return adjusted;
    }

    /// <summary>
    /// Confidence that the treatment is better than the baseline by the metric's goal: the chance to win for the
    /// Bayesian engine, and the one-sided confidence implied by the p-value for the frequentist one.
    /// </summary>
    private static double ChanceBetter(VariationOutput o, double? p, MetricGoal goal, bool bayesian, bool oneSided)
    {
        double above;
        if (bayesian)
        {
            above = o.ChanceToWin ?? 0.5;
        }
        else if (oneSided)
        {
            above = 1 - (p ?? 1);
        }
        else
        {
            var half = (p ?? 1) / 2;
            above = o.Expected > 0 ? 1 - half : o.Expected < 0 ? half : 0.5;
        }

        return goal == MetricGoal.Increase ? above : 1 - above;
    }

    /// <summary>Significant when the confidence passes 1 − alpha (one-sided and Bayesian) or 1 − alpha/2 (each side of a two-sided test).</summary>
    private static EffectVerdict Verdict(double better, double alpha, bool oneSidedThreshold)
    {
        var threshold = oneSidedThreshold ? 1 - alpha : 1 - (alpha / 2);
        return better > threshold ? EffectVerdict.Winning : better < 1 - threshold ? EffectVerdict.Losing : EffectVerdict.Inconclusive;
    }

    private static Recommendation Recommend(SrmCheck srm, MetricAnalysis[] metrics, int k, IReadOnlyList<string>? names)
    {
        if (srm.Mismatch)
        {
            return new(RecommendationKind.StopForSrm, null, Invariant(
                $"Sample ratio mismatch (p = {srm.PValue:G3} < {Srm.Threshold}): the traffic split does not match the weights, so no result can be trusted until the cause is found."));
        }

        var primaries = metrics.Where(m => m.Role == MetricRole.Primary && m.Error is null).ToList();
        var guardrails = metrics.Where(m => m.Role == MetricRole.Guardrail && m.Error is null).ToList();
        int? ship = null;
        double best = double.NegativeInfinity;
        var harm = new List<string>();
        int? worst = null;
        for (var v = 1; v < k; v++)
        {
            var failing = guardrails.Where(g => Status(g, v) == GuardrailStatus.Failing).Select(g => g.Key).ToList();
            var losing = primaries.Where(p => Verdict(p, v) == EffectVerdict.Losing).Select(p => p.Key).ToList();
            var winning = primaries.Where(p => Verdict(p, v) == EffectVerdict.Winning).ToList();
            if (failing.Count > 0 || losing.Count > 0)
            {
                worst ??= v;
                harm.Add($"{Name(names, v)} {Describe(losing, failing)}");
                continue;
            }

            if (winning.Count > 0)
            {
                // Among clean winners, ship the one with the largest effect on the first primary metric it wins.
                var first = winning[0];
                var effect = Effect(first, v);
                if (effect > best)
                {
                    best = effect;
                    ship = v;
                }
            }
        }

        if (ship is { } s)
        {
            var warnings = guardrails.Where(g => Status(g, s) == GuardrailStatus.Warning).Select(g => g.Key).ToList();
            var wins = string.Join(", ", primaries.Where(p => Verdict(p, s) == EffectVerdict.Winning).Select(p => p.Key));
            var reason = $"{Name(names, s)} wins on {wins} and fails no guardrail.";
            if (warnings.Count > 0)
            {
                reason += Invariant($" Watch the guardrails with warnings: {string.Join(", ", warnings)}.");
            }

            return new(RecommendationKind.Ship, s, reason);
        }

        if (worst is { } r)
        {
            return new(RecommendationKind.RollBack, r, $"Go back to the baseline: {string.Join("; ", harm)}.");
        }

        return new(RecommendationKind.KeepRunning, null, primaries.Count == 0
            ? "The experiment has no primary metric to decide on; keep collecting data and read the results yourself."
            : "No treatment is significantly better or worse on a primary metric yet, and no guardrail fails: keep it running.");
    }

    private static string Name(IReadOnlyList<string>? names, int v) => names is not null && v < names.Count ? names[v] : Invariant($"variation {v}");

    private static string Describe(List<string> losing, List<string> failing)
    {
        var parts = new List<string>(2);
        if (losing.Count > 0)
        {
            parts.Add($"loses on {string.Join(", ", losing)}");
        }

        if (failing.Count > 0)
        {
            parts.Add($"fails the guardrail{(failing.Count > 1 ? "s" : "")} {string.Join(", ", failing)}");
        }

        return string.Join(" and ", parts);
    }

    private static GuardrailStatus? Status(MetricAnalysis m, int v) => v < m.Variations.Count ? m.Variations[v].Guardrail : null;

    private static EffectVerdict? Verdict(MetricAnalysis m, int v) => v < m.Variations.Count ? m.Variations[v].Verdict : null;

    private static double Effect(MetricAnalysis m, int v)
    {
        var e = m.Variations[v].Expected ?? 0;
        return m.Goal == MetricGoal.Increase ? e : -e;
    }

    /// <summary>The variation's own value: a mean or proportion, or the ratio of sums for a ratio metric.</summary>
    private static double OwnMean(ExperimentMetricInput metric, VariationInput v)
    {
        if (metric.Metric == "ratio")
        {
            var d = v.Denominator?.Sum ?? 0;
            return d == 0 ? 0 : (v.Numerator?.Sum ?? 0) / d;
        }

        var n = v.N ?? 0;
        return n > 0 ? (v.Sum ?? 0) / n : 0;
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
