using MathNet.Numerics;
using MathNet.Numerics.Distributions;

namespace Upswing.Statistics;

/// <summary>Pooled z statistic, its two-sided p-value, and the unpooled (Wald) interval of pB − pA.</summary>
public readonly record struct TwoProportionResult(double Z, double PValue, double StandardError, double CiLower, double CiUpper);

/// <summary>Mixture SPRT at one look: the likelihood ratio and the p-value 1/Λ (capped at 1).</summary>
public readonly record struct MixtureSprtResult(double LikelihoodRatio, double PValue);

/// <summary>
/// Textbook methods beside the gbstats-compatible engine: the pooled two-proportion z-test, the exact beta-binomial
/// chance to beat control, and the mixture sequential probability ratio test (mSPRT). They give warehouse users and
/// reviewers the classic numbers to check the engine's against.
/// </summary>
public static class TextbookMethods
{
    /// <summary>Two-proportion z-test of B against A: pooled standard error for the test, unpooled for the interval at level 1 − alpha.</summary>
    public static TwoProportionResult TwoProportionZ(double successesA, double nA, double successesB, double nB, double alpha = 0.05)
    {
        if (!(nA > 0 && nB > 0) || successesA < 0 || successesB < 0 || successesA > nA || successesB > nB)
        {
            throw new ArgumentOutOfRangeException(nameof(nA), "each group needs n > 0 and 0 ≤ successes ≤ n");
        }

        var pa = successesA / nA;
        var pb = successesB / nB;
        var pooled = (successesA + successesB) / (nA + nB);
        var pooledSe = Math.Sqrt(pooled * (1 - pooled) * ((1 / nA) + (1 / nB)));
        var z = pooledSe > 0 ? (pb - pa) / pooledSe : 0;
        var p = 2 * (1 - Normal.CDF(0, 1, Math.Abs(z)));
        var se = Math.Sqrt((pa * (1 - pa) / nA) + (pb * (1 - pb) / nB));
        var q = Normal.InvCDF(0, 1, 1 - (alpha / 2));
        return new(z, p, se, pb - pa - (q * se), pb - pa + (q * se));
    }

    /// <summary>
    /// Exact P(pB &gt; pA) for pA ~ Beta(alphaA, betaA) and pB ~ Beta(alphaB, betaB); <paramref name="alphaB"/> must be a
    /// whole number (true for counts on a Beta(1, 1) or any integer prior).
    /// </summary>
    public static double ChanceToBeatControl(double alphaA, double betaA, double alphaB, double betaB)
    {
        if (!(alphaA > 0 && betaA > 0 && alphaB >= 1 && betaB > 0) || alphaB != Math.Floor(alphaB))
        {
            throw new ArgumentOutOfRangeException(nameof(alphaB), "beta parameters must be positive and alphaB a whole number");
        }

        // Sum over i < αB of B(αA + i, βA + βB) / ((βB + i) B(1 + i, βB) B(αA, βA)), each term in log space.
        var betaLnA = SpecialFunctions.BetaLn(alphaA, betaA);
        double total = 0;
        for (var i = 0; i < alphaB; i++)
        {
            total += Math.Exp(SpecialFunctions.BetaLn(alphaA + i, betaA + betaB) - Math.Log(betaB + i) - SpecialFunctions.BetaLn(1 + i, betaB) - betaLnA);
        }

        return Math.Clamp(total, 0, 1);
    }

    /// <summary>
    /// Expected loss of choosing B, E[max(pA − pB, 0)], for the same posteriors: size-biasing a beta by its mean
    /// raises its alpha by one, so the loss is E[pA]·P(A′ &gt; B) − E[pB]·P(A &gt; B′).
    /// </summary>
    public static double ExpectedLossOfB(double alphaA, double betaA, double alphaB, double betaB)
    {
        var meanA = alphaA / (alphaA + betaA);
        var meanB = alphaB / (alphaB + betaB);
        var aAboveB = 1 - ChanceToBeatControl(alphaA + 1, betaA, alphaB, betaB);
        var aAboveBBiased = 1 - ChanceToBeatControl(alphaA, betaA, alphaB + 1, betaB);
        return Math.Max(0, (meanA * aAboveB) - (meanB * aAboveBBiased));
    }

    /// <summary>
    /// mSPRT with a normal mixture N(0, τ²) over the effect: Λ = √(V / (V + τ²)) · exp(τ²θ̂² / (2V(V + τ²))) for an
    /// estimate θ̂ with variance V. The always-valid p-value is the running minimum of 1/Λ over the looks; this is one look.
    /// </summary>
    public static MixtureSprtResult MixtureSprt(double estimate, double variance, double tau2)
    {
        if (!(variance > 0) || !(tau2 > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(variance), "variance and tau² must be positive");
        }

        var lambda = Math.Sqrt(variance / (variance + tau2)) * Math.Exp(tau2 * estimate * estimate / (2 * variance * (variance + tau2)));
        return new(lambda, Math.Min(1, 1 / lambda));
    }
}
