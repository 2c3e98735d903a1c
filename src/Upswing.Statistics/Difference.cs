namespace Upswing.Statistics;

/// <summary>Whether an effect is reported as treatment − control or as (treatment − control) / control.</summary>
public enum DifferenceType
{
    /// <summary>(treatment − control) / control.</summary>
    Relative,

    /// <summary>treatment − control.</summary>
    Absolute,
}

/// <summary>Point estimate of a treatment-versus-control difference, its variance and Welch degrees of freedom.</summary>
public readonly record struct DifferenceEstimate(double Point, double Variance, double DegreesOfFreedom, double TotalN)
{
    /// <summary>True when the estimate cannot be tested (zero or undefined variance, zero baseline).</summary>
    public bool IsDegenerate => !(Variance > 0) || double.IsNaN(Point) || double.IsInfinity(Point);

    /// <summary>Difference of two variations' means; relative uses the delta method with the control mean as denominator.</summary>
    public static DifferenceEstimate Of(UnitEstimate control, UnitEstimate treatment, DifferenceType type)
    {
        var dof = WelchDegreesOfFreedom(control.Variance, control.N, treatment.Variance, treatment.N);
        var total = control.N + treatment.N;
        if (control.N <= 0 || treatment.N <= 0)
        {
            return new(0, 0, dof, total);
        }

        var ma = control.Mean;
        var mb = treatment.Mean;
        if (type == DifferenceType.Absolute)
        {
            return new(mb - ma, (treatment.Variance / treatment.N) + (control.Variance / control.N), dof, total);
        }

        if (ma == 0)
        {
            return new(0, 0, dof, total);
        }

        var ma2 = ma * ma;
        var variance = (treatment.Variance / (ma2 * treatment.N)) + (control.Variance * mb * mb / (ma2 * ma2 * control.N));
        return new((mb - ma) / ma, variance, dof, total);
    }

    /// <summary>CUPED-adjusted difference with theta estimated from the pooled data of both variations.</summary>
    public static DifferenceEstimate OfCuped(CupedMoments control, CupedMoments treatment, DifferenceType type)
    {
        var theta = Theta(control, treatment);
        var na = control.N;
        var nb = treatment.N;
        var total = na + nb;
        var va = AdjustedVariance(control, theta);
        var vb = AdjustedVariance(treatment, theta);
        var dof = WelchDegreesOfFreedom(va, na, vb, nb);
        if (na <= 1 || nb <= 1)
        {
            return new(0, 0, dof, total);
        }

        var ya = control.Post.Mean;
        var yb = treatment.Post.Mean;
        var xa = control.Pre.Mean;
        var xb = treatment.Pre.Mean;
        var absolute = yb - ya - (theta * (xb - xa));
        if (type == DifferenceType.Absolute)
        {
            return new(absolute, (vb / nb) + (va / na), dof, total);
        }

        if (ya == 0)
        {
            return new(0, 0, dof, total);
        }

        // Delta method with θ fixed, as gbstats 0.8.0: the control mean's gradient is −ȳT / ȳC², the covariate's θ / ȳC.
        var ya2 = ya * ya;
        var varianceTreatment = vb / (nb * ya2);
        var gradY = -yb / ya2;
        var gradX = theta / ya;
        var varianceControl = ((gradY * gradY * control.PostVariance)
            + (gradX * gradX * control.Pre.SampleVariance)
            + (2 * gradY * gradX * control.Covariance)) / na;
        return new(absolute / ya, varianceTreatment + varianceControl, dof, total);
    }

    /// <summary>CUPED theta: pooled covariance of metric and covariate over pooled covariate variance.</summary>
    public static double Theta(CupedMoments control, CupedMoments treatment)
    {
        var n = control.N + treatment.N;
        var pre = new Moments(n, control.Pre.Sum + treatment.Pre.Sum, control.Pre.SumSquares + treatment.Pre.SumSquares);
        var post = new Moments(n, control.Post.Sum + treatment.Post.Sum, control.Post.SumSquares + treatment.Post.SumSquares);
        var joint = new CupedMoments(n, post, pre, control.SumProductsWithPre + treatment.SumProductsWithPre);
        var preVariance = pre.SampleVariance;
        return preVariance > 0 ? joint.Covariance / preVariance : 0;
    }

    private static double AdjustedVariance(CupedMoments m, double theta) =>
        m.PostVariance + (theta * theta * m.Pre.SampleVariance) - (2 * theta * m.Covariance);

    private static double WelchDegreesOfFreedom(double varianceA, double na, double varianceB, double nb)
    {
        if (na <= 1 || nb <= 1)
        {
            return 0;
        }

        var a = varianceA / na;
        var b = varianceB / nb;
        var denominator = (a * a / (na - 1)) + (b * b / (nb - 1));
        return denominator > 0 ? (a + b) * (a + b) / denominator : na + nb - 2;
    }
}
