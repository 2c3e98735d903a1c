using MathNet.Numerics.Distributions;

namespace Upswing.Statistics;

/// <summary>Gaussian prior on the effect; improper (flat) unless <see cref="Proper"/>.</summary>
public readonly record struct GaussianPrior(double Mean, double Variance, bool Proper);

/// <summary>Bayesian result for one treatment: posterior mean, credible interval, chance to win, and risk for control and treatment.</summary>
public readonly record struct BayesianResult(double Expected, double CiLower, double CiUpper, double ChanceToWin, double RiskControl, double RiskTreatment);

/// <summary>Normal model of the effect with a Gaussian prior, as gbstats 0.8.0's effect Bayesian test.</summary>
public static class BayesianTest
{
    /// <summary>Result reported when a difference cannot be tested.</summary>
    public static readonly BayesianResult Default = new(0, 0, 0, 0.5, 0, 0);

    /// <summary>Posterior of the difference and its decision quantities at credible level 1 − alpha.</summary>
    public static BayesianResult Analyze(in DifferenceEstimate d, GaussianPrior prior, double alpha, DifferenceType type, double controlMean)
    {
        if (type == DifferenceType.Absolute)
        {
            // The prior is stated on the relative scale; the control mean carries it to the absolute scale.
            var scale = Math.Abs(controlMean);
            prior = prior with { Mean = prior.Mean * scale, Variance = prior.Variance * scale * scale };
        }

        if (d.IsDegenerate)
        {
            return Default;
        }

        var mean = d.Point;
        var variance = d.Variance;
        if (prior.Proper && prior.Variance > 0)
        {
            var precision = (1 / variance) + (1 / prior.Variance);
            mean = ((d.Point / variance) + (prior.Mean / prior.Variance)) / precision;
            variance = 1 / precision;
        }

        var sd = Math.Sqrt(variance);
        var z = mean / sd;
        var chanceToWin = Normal.CDF(0, 1, z);
        var q = Normal.InvCDF(0, 1, 1 - (alpha / 2));
        var density = sd * Normal.PDF(0, 1, z);

        // Expected loss of choosing each arm: E[max(δ, 0)] for control, E[max(−δ, 0)] for treatment.
        var riskControl = (mean * chanceToWin) + density;
        var riskTreatment = density - (mean * Normal.CDF(0, 1, -z));
        return new(mean, mean - (q * sd), mean + (q * sd), chanceToWin, Math.Max(0, riskControl), Math.Max(0, riskTreatment));
    }
}
