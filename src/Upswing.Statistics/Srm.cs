using MathNet.Numerics.Distributions;

namespace Upswing.Statistics;

/// <summary>Sample ratio mismatch: chi-square goodness of fit of the observed units against the configured weights.</summary>
public static class Srm
{
    /// <summary>Conventional threshold below which an SRM p-value is flagged.</summary>
    public const double Threshold = 0.001;

    /// <summary>P-value of the chi-square test (df = k − 1) of <paramref name="users"/> against <paramref name="weights"/>.</summary>
    public static double PValue(ReadOnlySpan<double> users, ReadOnlySpan<double> weights)
    {
        if (users.Length != weights.Length)
        {
            throw new ArgumentException("users and weights must have the same length", nameof(weights));
        }

        if (users.Length < 2)
        {
            return 1;
        }

        double total = 0, totalWeight = 0;
        for (var i = 0; i < users.Length; i++)
        {
            total += users[i];
            totalWeight += weights[i];
        }

        if (total <= 0 || totalWeight <= 0)
        {
            return 1;
        }

        double chi = 0;
        for (var i = 0; i < users.Length; i++)
        {
            var expected = weights[i] / totalWeight * total;
            if (expected > 0)
            {
                var d = users[i] - expected;
                chi += d * d / expected;
            }
        }

        return 1 - ChiSquared.CDF(users.Length - 1, chi);
    }
}
