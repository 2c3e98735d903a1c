namespace Upswing.Statistics;

/// <summary>Settings of a top-two Thompson sampling reweighting.</summary>
public sealed record BanditOptions
{
    /// <summary>Monte Carlo draws from the posteriors; default 10,000.</summary>
    public int Draws { get; init; } = 10_000;

    /// <summary>Seed of the draws: the same seed and statistics give the same weights.</summary>
    public int Seed { get; init; }

    /// <summary>Probability of playing the leader rather than the challenger; 0.5 (default) is top-two sampling, 1 plain Thompson sampling.</summary>
    public double TopTwoBeta { get; init; } = 0.5;

    /// <summary>Smallest weight any arm keeps, so a bandit can notice when behaviour changes; default 0.01, at most 1 / arms.</summary>
    public double MinWeight { get; init; } = 0.01;

    /// <summary>Units every arm needs before the weights move; default 100.</summary>
    public double MinUnitsPerArm { get; init; } = 100;

    /// <summary>Which way is better; default up (the largest mean is best).</summary>
    public MetricGoal Goal { get; init; } = MetricGoal.Increase;

    /// <summary>Weights in force now, returned (normalised) while the minimum sample is not reached; equal when omitted.</summary>
    public IReadOnlyList<double>? CurrentWeights { get; init; }
}

/// <summary>New traffic weights (summing to 1), each arm's estimated probability of being best (null when not updated), and why the weights did not move.</summary>
public sealed record BanditResult(IReadOnlyList<double> Weights, IReadOnlyList<double>? BestArmProbabilities, bool Updated, string? Reason);

/// <summary>
/// Multi-armed bandit weights by top-two Thompson sampling (Russo 2016) over independent normal posteriors of each
/// arm's mean, N(mean, variance / n) under a flat prior. Invalid arguments throw <see cref="ArgumentOutOfRangeException"/>
/// (<see cref="ArgumentException"/> for mismatched lengths).
/// </summary>
public static class Bandits
{
    /// <summary>An arm of a mean metric from its sufficient statistics (unbiased sample variance).</summary>
    public static UnitEstimate MeanArm(Moments moments) => new(moments.N, moments.Mean, moments.SampleVariance);

    /// <summary>An arm of a proportion metric: <paramref name="conversions"/> of <paramref name="units"/>, Bernoulli variance.</summary>
    public static UnitEstimate ProportionArm(double units, double conversions)
    {
        if (!(conversions >= 0 && conversions <= units))
        {
            throw new ArgumentOutOfRangeException(nameof(conversions), conversions, "conversions must lie between 0 and the number of units");
        }

        var moments = new Moments(units, conversions, conversions);
        return new(units, moments.Mean, moments.ProportionVariance);
    }

    /// <summary>
    /// Weights for the next period: w_i = β·P(i best) + (1 − β)·Σ_{j≠i} P(j best)·P(i best | j not best), each raised to
    /// <see cref="BanditOptions.MinWeight"/> with the rest scaled down to keep the sum at 1.
    /// </summary>
    public static BanditResult TopTwoThompson(IReadOnlyList<UnitEstimate> arms, BanditOptions? options = null)
    {
        options ??= new BanditOptions();
        var k = Validate(arms, options);
        var minUnits = Math.Max(1, options.MinUnitsPerArm);
        for (var i = 0; i < k; i++)
        {
            if (arms[i].N < minUnits)
            {
                return new(HeldWeights(options.CurrentWeights, k), null, false,
                    $"arm {i} has {arms[i].N} units; every arm needs at least {minUnits} before the weights move");
            }
        }

        var draws = options.Draws;
        var sign = options.Goal == MetricGoal.Increase ? 1.0 : -1.0;
        var means = new double[k];
        var sds = new double[k];
        for (var i = 0; i < k; i++)
        {
            means[i] = sign * arms[i].Mean;
            sds[i] = Math.Sqrt(arms[i].Variance / arms[i].N);
        }

        // bestCounts[j]: draws in which arm j was best; runnerUp[j·k + i]: of those, draws in which arm i came second.
        var bestCounts = new long[k];
        var runnerUp = new long[k * k];
        var values = new double[k];
        var gaussian = new GaussianSource(new Random(options.Seed));
        for (var d = 0; d < draws; d++)
        {
            for (var i = 0; i < k; i++)
            {
                values[i] = means[i] + (sds[i] * gaussian.Next());
            }

            var best = ArgMax(values, -1, gaussian.Random);
            var second = ArgMax(values, best, gaussian.Random);
            bestCounts[best]++;
            runnerUp[(best * k) + second]++;
        }

        var probabilities = new double[k];
        for (var i = 0; i < k; i++)
        {
            probabilities[i] = (double)bestCounts[i] / draws;
        }

        var beta = options.TopTwoBeta;
        var weights = new double[k];
        for (var j = 0; j < k; j++)
        {
            if (bestCounts[j] == 0)
            {
                continue;
            }

            weights[j] += beta * probabilities[j];
            for (var i = 0; i < k; i++)
            {
                if (i == j)
                {
                    continue;
                }

                // The challenger is the best arm of a fresh posterior draw given that it is not j: P(i best) / (1 − P(j best)).
                // When no draw crowned another arm, that ratio is 0/0; the runner-up of j's draws stands in for it.
                var challenger = bestCounts[j] < draws
                    ? (double)bestCounts[i] / (draws - bestCounts[j])
                    : (double)runnerUp[(j * k) + i] / bestCounts[j];
                weights[i] += (1 - beta) * probabilities[j] * challenger;
            }
        }

        ApplyFloor(weights, options.MinWeight);
        return new(weights, probabilities, true, null);
    }

    private static int Validate(IReadOnlyList<UnitEstimate> arms, BanditOptions options)
    {
        ArgumentNullException.ThrowIfNull(arms);
        var k = arms.Count;
        if (k < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(arms), k, "a bandit needs at least two arms");
        }

        for (var i = 0; i < k; i++)
        {
            var arm = arms[i];
            if (!(arm.N >= 0 && double.IsFinite(arm.N) && double.IsFinite(arm.Mean) && arm.Variance >= 0 && double.IsFinite(arm.Variance)))
            {
                throw new ArgumentOutOfRangeException(nameof(arms), arm, $"arm {i} needs a non-negative n, a finite mean and a non-negative variance");
            }
        }

        if (options.Draws < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Draws, "draws must be at least 1");
        }

        if (!(options.TopTwoBeta >= 0 && options.TopTwoBeta <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.TopTwoBeta, "topTwoBeta must lie between 0 and 1");
        }

        if (!(options.MinWeight >= 0 && options.MinWeight * k <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MinWeight, $"minWeight must lie between 0 and 1 / {k}");
        }

        if (!(options.MinUnitsPerArm >= 0 && double.IsFinite(options.MinUnitsPerArm)))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MinUnitsPerArm, "minUnitsPerArm must be a non-negative number");
        }

        if (options.CurrentWeights is { } current)
        {
            if (current.Count != k)
            {
                throw new ArgumentException($"currentWeights has {current.Count} entries but there are {k} arms", nameof(options));
            }

            if (current.Any(w => !(w >= 0 && double.IsFinite(w))) || !(current.Sum() > 0))
            {
                throw new ArgumentOutOfRangeException(nameof(options), "currentWeights must be finite, non-negative and not all zero");
            }
        }

        return k;
    }

    private static double[] HeldWeights(IReadOnlyList<double>? current, int k)
    {
        var weights = new double[k];
        if (current is null)
        {
            Array.Fill(weights, 1.0 / k);
            return weights;
        }

        var sum = current.Sum();
        for (var i = 0; i < k; i++)
        {
            weights[i] = current[i] / sum;
        }

        return weights;
    }

    /// <summary>Index of the largest value other than <paramref name="skip"/>; exact ties (zero-variance arms) are broken uniformly at random.</summary>
    private static int ArgMax(double[] values, int skip, Random random)
    {
        var best = -1;
        var ties = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (i == skip)
            {
                continue;
            }

            if (best < 0 || values[i] > values[best])
            {
                best = i;
                ties = 1;
            }
            else if (values[i] == values[best] && random.Next(++ties) == 0)
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>Raises weights below <paramref name="floor"/> to it and scales the others so the total stays 1, repeating until none falls below.</summary>
    private static void ApplyFloor(double[] weights, double floor)
    {
        if (floor <= 0)
        {
            return;
        }

        var floored = new bool[weights.Length];
        var flooredCount = 0;
        double scale;
        while (true)
        {
            double rest = 0;
            for (var i = 0; i < weights.Length; i++)
            {
                if (!floored[i])
                {
                    rest += weights[i];
                }
            }

            var free = 1 - (floor * flooredCount);
            scale = rest > 0 ? free / rest : 0;
            var changed = false;
            for (var i = 0; i < weights.Length; i++)
            {
                if (!floored[i] && weights[i] * scale < floor)
                {
                    floored[i] = true;
                    flooredCount++;
                    changed = true;
                }
            }

            if (!changed)
            {
                break;
            }
        }

        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] = floored[i] ? floor : weights[i] * scale;
        }
    }

    /// <summary>Standard normal draws by Marsaglia's polar method, keeping the second value of each pair.</summary>
    private sealed class GaussianSource(Random random)
    {
        private double spare;
        private bool hasSpare;

        public Random Random { get; } = random;

        public double Next()
        {
            if (hasSpare)
            {
                hasSpare = false;
                return spare;
            }

            double u, v, s;
            do
            {
                u = (2 * Random.NextDouble()) - 1;
                v = (2 * Random.NextDouble()) - 1;
                s = (u * u) + (v * v);
            }
            while (s >= 1 || s == 0);

            var factor = Math.Sqrt(-2 * Math.Log(s) / s);
            spare = v * factor;
            hasSpare = true;
            return u * factor;
        }
    }
}
