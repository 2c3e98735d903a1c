using BenchmarkDotNet.Attributes;
using MathNet.Numerics.Distributions;
using Upswing.Statistics;

namespace Upswing.Benchmarks;

/// <summary>
/// The statistics engine on a results page: 20 metrics (a mix of proportion, mean and ratio) × 4 variations, analysed
/// from pre-built typed inputs as the results endpoint will hand them over; plus a power question and a bandit update.
/// Goal: all 20 metrics in under 1 ms. The two reference benchmarks are the floor under the engine's own code: the 60
/// Student t quantiles of 60 Welch tests, and the seeded uniform draws behind a bandit update's 40,000 normal draws.
/// </summary>
[MemoryDiagnoser]
public class StatisticsBenchmarks
{
    private const int Metrics = 20;
    private const int Variations = 4;

    private AnalysisInput[] frequentist = null!;
    private AnalysisInput[] bayesian = null!;
    private UnitEstimate[] arms = null!;
    private ExperimentAnalysisInput experiment = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(20261201);
        frequentist = new AnalysisInput[Metrics];
        bayesian = new AnalysisInput[Metrics];
        for (var m = 0; m < Metrics; m++)
        {
            var metric = (m % 3) switch { 0 => "proportion", 1 => "mean", _ => "ratio" };
            var variations = new VariationInput[Variations];
            for (var v = 0; v < Variations; v++)
            {
                variations[v] = Variation(metric, 10_000 + random.Next(1_000), random);
            }

            var differenceType = m % 4 == 3 ? "absolute" : "relative";
            frequentist[m] = new AnalysisInput { Metric = metric, Engine = "frequentist", DifferenceType = differenceType, Variations = variations };
            bayesian[m] = frequentist[m] with { Engine = "bayesian" };
        }

        // A results page: 3 primary, 12 secondary and 5 guardrail metrics, Holm over the 45 primary and secondary tests.
        experiment = new ExperimentAnalysisInput(
            new AnalysisInput { Engine = "frequentist" },
            [.. frequentist[0].Variations!.Select(v => v.N ?? 0)],
            [.. frequentist.Select((f, m) => new ExperimentMetricInput(
                $"metric{m}", f.Metric!, m < 3 ? MetricRole.Primary : m < 15 ? MetricRole.Secondary : MetricRole.Guardrail,
                m % 5 == 4 ? MetricGoal.Decrease : MetricGoal.Increase, f.Variations!))]);

        arms = [Bandits.ProportionArm(10_000, 1_000), Bandits.ProportionArm(10_000, 1_030), Bandits.ProportionArm(10_000, 1_050), Bandits.ProportionArm(10_000, 990)];
    }

    [Benchmark(Description = "20 metrics × 4 variations, frequentist")]
    public double Frequentist() => AnalyzeAll(frequentist);

    [Benchmark(Description = "results page: ExperimentAnalyzer, 20 metrics × 4 variations, Holm, verdicts, guardrails")]
    public ExperimentAnalysis Experiment() => ExperimentAnalyzer.Analyze(experiment);

    [Benchmark(Description = "20 metrics × 4 variations, Bayesian")]
    public double Bayesian() => AnalyzeAll(bayesian);

    [Benchmark(Description = "power: sample size + MDE (proportion, 3 treatments, Bonferroni)")]
    public double Power()
    {
        var baseline = PowerBaseline.ForProportion(0.1);
        var options = new PowerOptions { Treatments = 3, Bonferroni = true };
        var n = PowerAnalysis.SampleSize(baseline, 0.05, DifferenceType.Relative, options);
        return n.ExactPerArm + PowerAnalysis.MinimumDetectableEffect(baseline, n.PerArm, DifferenceType.Relative, options)!.Value;
    }

    [Benchmark(Description = "bandit weights, 4 arms, 10,000 draws")]
    public BanditResult Bandit() => Bandits.TopTwoThompson(arms, new BanditOptions { Draws = 10_000, Seed = 1 });

    [Benchmark(Description = "reference: 60 t quantiles (MathNet StudentT.InvCDF)")]
    public double TQuantiles()
    {
        double sum = 0;
        for (var i = 0; i < Metrics * (Variations - 1); i++)
        {
            sum += StudentT.InvCDF(0, 1, 19_000 + i, 0.975);
        }

        return sum;
    }

    [Benchmark(Description = "reference: 51,000 seeded uniform draws (System.Random)")]
    public double UniformDraws()
    {
        // The polar method uses 4/π pairs of uniforms per pair of normals: about 51,000 for the bandit's 40,000 normals.
        var random = new Random(1);
        double sum = 0;
        for (var i = 0; i < 51_000; i++)
        {
            sum += random.NextDouble();
        }

        return sum;
    }

    private static double AnalyzeAll(AnalysisInput[] inputs)
    {
        double sum = 0;
        foreach (var input in inputs)
        {
            sum += StatisticsEngine.Analyze(input).Output!.Srm.PValue;
        }

        return sum;
    }

    private static VariationInput Variation(string metric, int n, Random random)
    {
        switch (metric)
        {
            case "proportion":
                return new VariationInput { N = n, Sum = Math.Round(n * (0.1 + (random.NextDouble() * 0.01))) };
            case "mean":
                var mean = 20 + random.NextDouble();
                return new VariationInput { N = n, Sum = n * mean, SumSquares = ((n - 1) * 25.0) + (n * mean * mean) };
            default:
                var numerator = 3 + (random.NextDouble() * 0.1);
                const double denominator = 1.5;
                return new VariationInput
                {
                    N = n,
                    Numerator = new SumsInput { Sum = n * numerator, SumSquares = ((n - 1) * 4.0) + (n * numerator * numerator) },
                    Denominator = new SumsInput { Sum = n * denominator, SumSquares = ((n - 1) * 0.5) + (n * denominator * denominator) },
                    SumProducts = ((n - 1) * 0.8) + (n * numerator * denominator),
                };
        }
    }
}
