namespace Upswing.Statistics;

/// <summary>Count, sum and sum of squares of one metric over the units of a variation.</summary>
public readonly record struct Moments(double N, double Sum, double SumSquares)
{
    /// <summary>Sample mean, sum / n (0 when n is 0).</summary>
    public double Mean => N > 0 ? Sum / N : 0;

    /// <summary>Unbiased sample variance (n − 1 denominator); 0 when n ≤ 1.</summary>
    public double SampleVariance => N > 1 ? (SumSquares - (Sum * Sum / N)) / (N - 1) : 0;

    /// <summary>Bernoulli variance p(1 − p) of a proportion metric.</summary>
    public double ProportionVariance
    {
        get
        {
            var p = Mean;
            return p * (1 - p);
        }
    }
}

/// <summary>Ratio metric statistics: numerator and denominator moments per unit and their cross sum.</summary>
public readonly record struct RatioMoments(double N, Moments Numerator, Moments Denominator, double SumProducts)
{
    /// <summary>Sample covariance of numerator and denominator across units.</summary>
    public double Covariance => N > 1 ? (SumProducts - (Numerator.Sum * Denominator.Sum / N)) / (N - 1) : 0;

    /// <summary>Ratio of means, numerator mean / denominator mean.</summary>
    public double Mean => Denominator.Mean == 0 ? 0 : Numerator.Mean / Denominator.Mean;

    /// <summary>Per-unit variance of the ratio by the delta method.</summary>
    public double Variance
    {
        get
        {
            var mn = Numerator.Mean;
            var md = Denominator.Mean;
            if (md == 0)
            {
                return 0;
            }

            var md2 = md * md;
            return (Numerator.SampleVariance / md2)
                + (Denominator.SampleVariance * mn * mn / (md2 * md2))
                - (2 * Covariance * mn / (md2 * md));
        }
    }
}

/// <summary>CUPED statistics: post-period (metric) and pre-period (covariate) moments and their cross sum.</summary>
public readonly record struct CupedMoments(double N, Moments Post, Moments Pre, double SumProductsWithPre, bool PostIsProportion = false)
{
    /// <summary>Variance of the metric: Bernoulli for proportions, else the sample variance.</summary>
    public double PostVariance => PostIsProportion ? Post.ProportionVariance : Post.SampleVariance;

    /// <summary>Sample covariance of the metric and its pre-period covariate.</summary>
    public double Covariance => N > 1 ? (SumProductsWithPre - (Post.Sum * Pre.Sum / N)) / (N - 1) : 0;
}

/// <summary>Mean and per-unit variance of one variation's metric, with its unit count.</summary>
public readonly record struct UnitEstimate(double N, double Mean, double Variance);
