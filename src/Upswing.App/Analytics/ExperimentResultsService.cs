using System.Globalization;
using Upswing.Common;
using Upswing.Experiments;
using Upswing.Statistics;

namespace Upswing.Analytics;

/// <summary>Results of an experiment: its metric definitions and daily rollups through the statistics engine.</summary>
public sealed class ExperimentResultsService(ExperimentService experiments, MetricService metrics, ExperimentMetricRollups rollups)
{
    /// <summary>The experiment's results with the given settings; not found when the workspace has no such experiment.</summary>
    public async Task<Result<ExperimentResultsDto>> GetAsync(Guid workspaceId, string key, ResultsSettings settings, CancellationToken ct)
    {
        if (await experiments.GetAsync(workspaceId, key, ct) is not { } experiment)
        {
            return Failure.NotFound($"No experiment with key '{key}'.");
        }

        var definitions = (await metrics.GetManyAsync(workspaceId, experiment.Metrics.Keys(), ct)).ToDictionary(
            d => d.Key,
            d => new ResultsMetric(d.Key, d.Name, d.StatisticsKind(), d.Direction == MetricDirection.Decrease ? MetricGoal.Decrease : MetricGoal.Increase, d.CupedPreDays > 0),
            StringComparer.Ordinal);
        var rows = (await rollups.ReadAsync(workspaceId, key, ct)).Select(r => new DailySums(
            r.MetricKey, r.Variation, r.Day, r.Units, r.Sum, r.SumSquares, r.DenominatorSum ?? 0, r.DenominatorSumSquares ?? 0, r.SumProducts ?? 0,
            r.PreSum, r.PreSumSquares, r.SumProductsPre)).ToList();
        return ExperimentResultsBuilder.Build(experiment, definitions, rows, settings);
    }

    /// <summary>
    /// Reads results settings from query values (engine, differenceType, correction, alpha, sequential, cuped); a missing
    /// value takes its default, and an invalid one is a field error.
    /// </summary>
    public static Result<ResultsSettings> ParseSettings(string? engine, string? differenceType, string? correction, string? alpha, string? sequential, string? cuped)
    {
        var errors = new FieldErrors();
        var defaults = new ResultsSettings();
        var engineValue = engine is null or "" ? defaults.Engine : engine is "frequentist" or "bayesian" ? engine : null;
        if (engineValue is null)
        {
            errors.Add("engine", "Choose frequentist or bayesian.");
        }

        var differenceValue = differenceType is null or "" ? defaults.DifferenceType : differenceType is "relative" or "absolute" ? differenceType : null;
        if (differenceValue is null)
        {
            errors.Add("differenceType", "Choose relative or absolute.");
        }

        PValueCorrection? correctionValue = correction switch
        {
            null or "" => defaults.Correction,
            "holm" or "holm-bonferroni" => PValueCorrection.HolmBonferroni,
            "bh" or "benjamini-hochberg" => PValueCorrection.BenjaminiHochberg,
            "none" => PValueCorrection.None,
            _ => null,
        };
        if (correctionValue is null)
        {
            errors.Add("correction", "Choose holm, bh (Benjamini-Hochberg) or none.");
        }

        var alphaValue = defaults.Alpha;
        if (!string.IsNullOrEmpty(alpha) && !(double.TryParse(alpha, NumberStyles.Float, CultureInfo.InvariantCulture, out alphaValue) && alphaValue > 0 && alphaValue < 0.5))
        {
            errors.Add("alpha", "Alpha must be a number between 0 and 0.5, such as 0.05.");
        }

        var sequentialValue = Flag(sequential, defaults.Sequential, "sequential", errors);
        var cupedValue = Flag(cuped, defaults.Cuped, "cuped", errors);
        return errors.Any
            ? errors.ToFailure()
            : new ResultsSettings(engineValue!, differenceValue!, alphaValue, correctionValue!.Value, sequentialValue, cupedValue);
    }

    private static bool Flag(string? value, bool fallback, string field, FieldErrors errors)
    {
        if (string.IsNullOrEmpty(value))
        {
            return fallback;
        }

        if (bool.TryParse(value, out var flag))
        {
            return flag;
        }

        errors.Add(field, $"{field} must be true or false.");
        return fallback;
    }
}
