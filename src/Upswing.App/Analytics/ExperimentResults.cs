using Upswing.Experiments;
using Upswing.Statistics;

namespace Upswing.Analytics;

/// <summary>How the results of an experiment are computed; every field has a default.</summary>
/// <param name="Engine">"frequentist" (default) or "bayesian".</param>
/// <param name="DifferenceType">"relative" (default) or "absolute".</param>
/// <param name="Alpha">Significance level, or 1 − credible mass; default 0.05.</param>
/// <param name="Correction">Adjustment of primary and secondary p-values; default Holm-Bonferroni.</param>
/// <param name="Sequential">True for always-valid (sequential) intervals, safe to watch continuously.</param>
/// <param name="Cuped">True (default) to apply CUPED to metrics that have a pre-period.</param>
public sealed record ResultsSettings(
    string Engine = "frequentist", string DifferenceType = "relative", double Alpha = 0.05,
    PValueCorrection Correction = PValueCorrection.HolmBonferroni, bool Sequential = false, bool Cuped = true);

/// <summary>A variation as the results show it: its index, key, name, configured weight and analysed units.</summary>
public sealed record ResultsVariation(int Index, string Key, string Name, double Weight, double Units);

/// <summary>The estimate and interval of one treatment at the end of one day, from everything collected up to then.</summary>
public sealed record ResultsSeriesValue(int Variation, double Units, double? Expected, double? Lower, double? Upper);

/// <summary>One day of a metric's cumulative time series.</summary>
public sealed record ResultsSeriesPoint(DateOnly Day, IReadOnlyList<ResultsSeriesValue> Variations);

/// <summary>One metric's results: the engine's output per variation, the guardrail status, and the cumulative series.</summary>
public sealed record MetricResults(
    string Key, string Name, string Kind, MetricRole Role, MetricGoal Goal, GuardrailStatus? Guardrail, string? Error,
    IReadOnlyList<MetricVariationResult> Variations, IReadOnlyList<ResultsSeriesPoint> Series);

/// <summary>The recommendation with the key of the variation it names.</summary>
public sealed record ResultsRecommendation(RecommendationKind Kind, int? Variation, string? VariationKey, string Reason);

/// <summary>Response of GET /api/v1/experiments/{key}/results.</summary>
public sealed record ExperimentResultsDto(
    string ExperimentKey, ExperimentStatus Status, ResultsSettings Settings, DateOnly? From, DateOnly? To,
    IReadOnlyList<ResultsVariation> Variations, SrmCheck Srm, ResultsRecommendation Recommendation, IReadOnlyList<MetricResults> Metrics);

/// <summary>How a metric definition is analysed: its statistics kind, goal, and whether it has a CUPED pre-period.</summary>
public sealed record ResultsMetric(string Key, string Name, string Kind, MetricGoal Goal, bool HasPrePeriod);

/// <summary>
/// One day's increment of a metric's sufficient statistics for one variation (the units first counted that day and
/// their sums); summing the days up to a date gives the statistics up to that date.
/// </summary>
public readonly record struct DailySums(
    string Metric, int Variation, DateOnly Day, double Units, double Sum, double SumSquares,
    double DenominatorSum, double DenominatorSumSquares, double SumProducts,
    double? PreSum, double? PreSumSquares, double? SumProductsPre);

/// <summary>Turns an experiment, its metric definitions and its daily rollups into results with <see cref="ExperimentAnalyzer"/>.</summary>
public static class ExperimentResultsBuilder
{
    /// <summary>Builds the results; metrics named by the experiment but not defined carry an error.</summary>
    public static ExperimentResultsDto Build(
        ExperimentDto experiment, IReadOnlyDictionary<string, ResultsMetric> definitions, IReadOnlyList<DailySums> rows, ResultsSettings settings)
    {
        var k = experiment.Variations.Count;
        var engineSettings = new AnalysisInput
        {
            Engine = settings.Engine,
            DifferenceType = settings.DifferenceType,
            Alpha = settings.Alpha,
            Sequential = settings.Sequential ? new SequentialInput() : null,
            Cuped = settings.Cuped,
            Weights = [.. experiment.Variations.Select(v => v.Weight)],
        };

        var byMetric = rows.Where(r => r.Variation >= 0 && r.Variation < k).GroupBy(r => r.Metric, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(r => r.Day).ToList(), StringComparer.Ordinal);
        var days = rows.Select(r => r.Day).Distinct().Order().ToList();

        var roles = Roles(experiment.Metrics);
        var inputs = new List<ExperimentMetricInput>(roles.Count);
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, role) in roles)
        {
            if (!definitions.TryGetValue(key, out var definition))
            {
                errors[key] = $"No metric definition named '{key}'.";
                inputs.Add(new ExperimentMetricInput(key, "mean", role, MetricGoal.Increase, []));
                continue;
            }

            var metricRows = byMetric.GetValueOrDefault(key) ?? [];
            var cuped = definition.HasPrePeriod && definition.Kind != "ratio" && metricRows.Count > 0 && metricRows.All(r => r.PreSum is not null);
            inputs.Add(new ExperimentMetricInput(key, definition.Kind, role, definition.Goal, Cumulate(metricRows, k, DateOnly.MaxValue, cuped)) { Cuped = cuped });
        }

        // SRM is judged on the units of the first metric with data: every exposed unit counts in each metric.
        var unitsMetric = inputs.FirstOrDefault(i => !errors.ContainsKey(i.Key) && i.Variations.Any(v => v.N > 0));
        double[] units = unitsMetric is null ? new double[k] : [.. unitsMetric.Variations.Select(v => v.N ?? 0)];
        var analysis = ExperimentAnalyzer.Analyze(new ExperimentAnalysisInput(engineSettings, units, [.. inputs.Where(i => !errors.ContainsKey(i.Key))])
        {
            Correction = settings.Correction,
            VariationNames = [.. experiment.Variations.Select(v => v.Name)],
        });

        var analysed = analysis.Metrics.ToDictionary(m => m.Key, StringComparer.Ordinal);
        var metrics = new List<MetricResults>(inputs.Count);
        foreach (var input in inputs)
        {
            var name = definitions.TryGetValue(input.Key, out var d) ? d.Name : input.Key;
            if (errors.TryGetValue(input.Key, out var missing))
            {
                metrics.Add(new MetricResults(input.Key, name, input.Metric, input.Role, input.Goal, null, missing, [], []));
                continue;
            }

            var m = analysed[input.Key];
            var series = m.Error is null ? Series(input, byMetric.GetValueOrDefault(input.Key) ?? [], days, engineSettings, k) : [];
            metrics.Add(new MetricResults(m.Key, name, m.Metric, m.Role, m.Goal, m.Guardrail, m.Error, m.Variations, series));
        }

        var recommendation = rows.Count == 0
            ? new ResultsRecommendation(RecommendationKind.KeepRunning, null, null, "No metric data has been rolled up for this experiment yet.")
            : new ResultsRecommendation(analysis.Recommendation.Kind, analysis.Recommendation.Variation,
                analysis.Recommendation.Variation is { } v ? experiment.Variations[v].Key : null, analysis.Recommendation.Reason);
        var variations = experiment.Variations.Select((v, i) => new ResultsVariation(i, v.Key, v.Name, v.Weight, units[i])).ToList();
        return new ExperimentResultsDto(experiment.Key, experiment.Status, settings, days.Count > 0 ? days[0] : null, days.Count > 0 ? days[^1] : null,
            variations, analysis.Srm, recommendation, metrics);
    }

    /// <summary>Each metric once, in the experiment's order, with its first role (primary before secondary before guardrail).</summary>
    private static List<(string Key, MetricRole Role)> Roles(ExperimentMetrics metrics)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var roles = new List<(string, MetricRole)>();
        foreach (var (keys, role) in new[] { (metrics.Primary, MetricRole.Primary), (metrics.Secondary, MetricRole.Secondary), (metrics.Guardrail, MetricRole.Guardrail) })
        {
            foreach (var key in keys ?? [])
            {
                if (seen.Add(key))
                {
                    roles.Add((key, role));
                }
            }
        }

        return roles;
    }

    /// <summary>Sufficient statistics per variation from the days up to and including <paramref name="until"/>.</summary>
    private static VariationInput[] Cumulate(List<DailySums> rows, int k, DateOnly until, bool cuped)
    {
        var totals = new DailySums[k];
        for (var i = 0; i < k; i++)
        {
            totals[i] = new DailySums("", i, default, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        }

        foreach (var r in rows)
        {
            if (r.Day > until)
            {
                break;
            }

            var t = totals[r.Variation];
            totals[r.Variation] = t with
            {
                Units = t.Units + r.Units,
                Sum = t.Sum + r.Sum,
                SumSquares = t.SumSquares + r.SumSquares,
                DenominatorSum = t.DenominatorSum + r.DenominatorSum,
                DenominatorSumSquares = t.DenominatorSumSquares + r.DenominatorSumSquares,
                SumProducts = t.SumProducts + r.SumProducts,
                PreSum = t.PreSum + (r.PreSum ?? 0),
                PreSumSquares = t.PreSumSquares + (r.PreSumSquares ?? 0),
                SumProductsPre = t.SumProductsPre + (r.SumProductsPre ?? 0),
            };
        }

        return [.. totals.Select(t => new VariationInput
        {
            N = t.Units,
            Sum = t.Sum,
            SumSquares = t.SumSquares,
            Numerator = new SumsInput { Sum = t.Sum, SumSquares = t.SumSquares },
            Denominator = new SumsInput { Sum = t.DenominatorSum, SumSquares = t.DenominatorSumSquares },
            SumProducts = t.SumProducts,
            Pre = cuped ? new SumsInput { Sum = t.PreSum, SumSquares = t.PreSumSquares } : null,
            SumProductsWithPre = cuped ? t.SumProductsPre : null,
        })];
    }

    /// <summary>The metric's estimate and interval per treatment after each day, from everything up to that day (no correction).</summary>
    private static List<ResultsSeriesPoint> Series(ExperimentMetricInput metric, List<DailySums> rows, List<DateOnly> days, AnalysisInput settings, int k)
    {
        var series = new List<ResultsSeriesPoint>(days.Count);
        foreach (var day in days)
        {
            var variations = Cumulate(rows, k, day, metric.Cuped);
            var result = StatisticsEngine.Analyze(settings with { Metric = metric.Metric, Variations = variations, Cuped = metric.Cuped });
            if (!result.IsSuccess)
            {
                continue;
            }

            var values = new ResultsSeriesValue[k - 1];
            for (var v = 1; v < k; v++)
            {
                var o = result.Output.Variations[v];
                values[v - 1] = new ResultsSeriesValue(v, o.N, o.Expected, o.Ci?[0], o.Ci?[1]);
            }

            series.Add(new ResultsSeriesPoint(day, values));
        }

        return series;
    }
}
