using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;

namespace Upswing.Statistics.Tests;

/// <summary>
/// Properties of <see cref="StatisticsEngine.Analyze"/> and <see cref="PowerAnalysis"/> over generated, valid sufficient
/// statistics (n ≥ 2, sumSquares consistent with a positive variance, ratio covariances inside Cauchy-Schwarz).
/// 200 cases each from a fixed seed, so a failure replays the same way on every machine.
/// </summary>
public sealed class PropertyTests
{
    private const int Runs = 200;

    private static readonly Config Replayable = Config.QuickThrowOnFailure
        .WithMaxTest(Runs)
        .WithQuietOnSuccess(true)
        .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(20261201UL, 0x9E3779B97F4A7C15UL), FSharpOption<int>.None)));

    /// <summary>One generated analysis: the document's options and its variations (index 0 is the baseline).</summary>
    public sealed record Case(string Metric, string Engine, string DifferenceType, string? Test, bool Sequential, bool ProperPrior, VariationInput[] Variations)
    {
        public AnalysisInput ToInput(IReadOnlyList<VariationInput>? variations = null) => new()
        {
            Metric = Metric,
            Engine = Engine,
            DifferenceType = DifferenceType,
            Test = Test,
            Sequential = Sequential ? new SequentialInput { TuningParameter = 5000 } : null,
            Prior = ProperPrior ? new PriorInput { Mean = 0.01, Variance = 0.09, Proper = true } : null,
            Variations = variations ?? Variations,
        };

        public override string ToString() =>
            $"{Metric}/{Engine}/{DifferenceType}/{Test ?? "two-sided"}{(Sequential ? "/sequential" : "")}{(ProperPrior ? "/proper prior" : "")}: "
            + string.Join(" | ", Variations.Select(Show));

        private static string Show(VariationInput v) => v.Numerator is null
            ? $"n={v.N:R} sum={v.Sum:R} ss={v.SumSquares:R}"
            : $"n={v.N:R} num=({v.Numerator.Sum:R}, {v.Numerator.SumSquares:R}) den=({v.Denominator!.Sum:R}, {v.Denominator.SumSquares:R}) sp={v.SumProducts:R}";
    }

    [Fact]
    public void Analyze_ReorderedTreatments_GiveEachTreatmentTheSameResult() =>
        Check.One(Replayable, Prop.ForAll(Arb.From(from c in AnyCase from order in Gen.Shuffle(Enumerable.Range(1, c.Variations.Length - 1)) select (c, order)), pair =>
        {
            var (c, order) = pair;
            var original = Run(c.ToInput());
            var reordered = Run(c.ToInput([c.Variations[0], .. order.Select(i => c.Variations[i])]));

            for (var position = 0; position < order.Length; position++)
            {
                // Each treatment is compared with the baseline alone, so its numbers must not move at all.
                AssertIdentical(original.Variations[order[position]], reordered.Variations[position + 1]);
            }

            Assert.Equal(original.Srm.PValue, reordered.Srm.PValue, 12);
        }));

    [Fact]
    public void Analyze_ValuesScaledByPositiveConstant_LeaveTheRelativeLiftUnchanged() =>
        Check.One(Replayable, Prop.ForAll(Arb.From(from c in ScalableCase.Select(c => c with { DifferenceType = "relative" }) from scale in LogBetween(1e-3, 1e3) from denominatorScale in LogBetween(1e-3, 1e3) select (c, scale, denominatorScale)), t =>
        {
            var (c, scale, denominatorScale) = t;
            var original = Run(c.ToInput());
            var scaled = Run(c.ToInput([.. c.Variations.Select(v => Scale(v, scale, denominatorScale))]));

            for (var i = 1; i < c.Variations.Length; i++)
            {
                AssertSameResult(original.Variations[i], scaled.Variations[i], effectScale: 1);
            }
        }));

    [Fact]
    public void Analyze_ValuesScaledByPositiveConstant_ScaleTheAbsoluteEffectAlike() =>
        Check.One(Replayable, Prop.ForAll(Arb.From(from c in ScalableCase.Select(c => c with { DifferenceType = "absolute" }) from scale in LogBetween(1e-3, 1e3) select (c, scale)), t =>
        {
            var (c, scale) = t;
            var original = Run(c.ToInput());
            var scaled = Run(c.ToInput([.. c.Variations.Select(v => Scale(v, scale, 1))]));

            for (var i = 1; i < c.Variations.Length; i++)
            {
                AssertSameResult(original.Variations[i], scaled.Variations[i], effectScale: scale);
            }
        }));

    [Fact]
    public void Analyze_AnyValidInput_HasAnIntervalContainingTheEstimate() =>
        Check.One(Replayable, Prop.ForAll(Arb.From(AnyCase), c =>
        {
            var output = Run(c.ToInput());
            foreach (var v in output.Variations.Skip(1))
            {
                var expected = v.Expected!.Value;
                Assert.True(v.Ci![0] is not { } lo || lo <= expected, $"lower bound {v.Ci[0]} above estimate {expected}");
                Assert.True(v.Ci[1] is not { } hi || expected <= hi, $"upper bound {v.Ci[1]} below estimate {expected}");
            }
        }));

    [Fact]
    public void Analyze_AnyValidInput_GivesProbabilitiesBetweenZeroAndOne() =>
        Check.One(Replayable, Prop.ForAll(Arb.From(AnyCase), c =>
        {
            var output = Run(c.ToInput());
            Assert.InRange(output.Srm.PValue, 0, 1);
            foreach (var v in output.Variations.Skip(1))
            {
                if (c.Engine == "frequentist")
                {
                    Assert.InRange(v.PValue!.Value, 0, 1);
                }
                else
                {
                    Assert.InRange(v.ChanceToWin!.Value, 0, 1);
                    Assert.All(v.Risk!, r => Assert.True(r >= 0, $"risk {r} is negative"));
                }
            }
        }));

    [Fact]
    public void SampleSize_LargerMde_NeedsFewerUnits() =>
        Check.One(Replayable, Prop.ForAll(Arb.From(PowerCase), p =>
        {
            var small = PowerAnalysis.SampleSize(p.Baseline, p.SmallEffect, p.Scale, p.Options);
            var large = PowerAnalysis.SampleSize(p.Baseline, p.LargeEffect, p.Scale, p.Options);

            Assert.True(large.ExactPerArm < small.ExactPerArm, $"{large.ExactPerArm} units for {p.LargeEffect}, {small.ExactPerArm} for {p.SmallEffect}");
            Assert.True(large.PerArm <= small.PerArm);
        }));

    [Fact]
    public void SampleSize_AnyDesign_RoundTripsThroughTheMdeAndReachesItsPower() =>
        Check.One(Replayable, Prop.ForAll(Arb.From(PowerCase), p =>
        {
            var n = PowerAnalysis.SampleSize(p.Baseline, p.SmallEffect, p.Scale, p.Options);

            var mde = PowerAnalysis.MinimumDetectableEffect(p.Baseline, n.ExactPerArm, p.Scale, p.Options);
            Assert.NotNull(mde);
            Assert.Equal(p.SmallEffect, mde.Value, p.SmallEffect * 1e-8);
            Assert.True(PowerAnalysis.PowerAt(p.Baseline, p.SmallEffect, p.Scale, n.ExactPerArm, p.Options) >= p.Options.Power - 1e-9);
        }));

    /// <summary>A power question: a baseline, two effects (small &lt; large) on one scale, and a design.</summary>
    public sealed record PowerQuestion(PowerBaseline Baseline, double SmallEffect, double LargeEffect, DifferenceType Scale, PowerOptions Options);

    private static readonly Gen<PowerQuestion> PowerCase =
        from proportion in Gen.Elements(true, false)
        from rate in Between(0.001, 0.95)
        from mean in LogBetween(0.01, 1e4)
        from cv in LogBetween(0.05, 20)
        from relative in Gen.Elements(true, false)
        from f1 in Between(0.001, 0.99)
        from f2 in Between(0.001, 0.99)
        from alpha in Gen.Elements(0.01, 0.05, 0.1)
        from power in Gen.Elements(0.7, 0.8, 0.9, 0.95)
        from side in Gen.Elements(TestSide.TwoSided, TestSide.OneSidedGreater)
        from treatments in Gen.Choose(1, 5)
        from bonferroni in Gen.Elements(true, false)
        where Math.Abs(f1 - f2) > 1e-6
        select MakeQuestion(proportion, rate, mean, cv, relative, Math.Min(f1, f2), Math.Max(f1, f2), new PowerOptions
        {
            Alpha = alpha,
            Power = power,
            Side = side,
            Treatments = treatments,
            Bonferroni = bonferroni,
        });

    private static PowerQuestion MakeQuestion(bool proportion, double rate, double mean, double cv, bool relative, double f1, double f2, PowerOptions options)
    {
        var scale = relative ? DifferenceType.Relative : DifferenceType.Absolute;
        if (proportion)
        {
            // Effects are fractions of the room above the rate, so the treatment's rate stays below 1.
            var room = 1 - rate;
            var unit = relative ? room / rate : room;
            return new(PowerBaseline.ForProportion(rate), f1 * unit, f2 * unit, scale, options);
        }

        var maxEffect = relative ? 2 : 2 * mean;
        return new(PowerBaseline.ForMean(mean, cv * mean), f1 * maxEffect, f2 * maxEffect, scale, options);
    }

    private static readonly Gen<string> Engine = Gen.Elements("frequentist", "bayesian");

    private static readonly Gen<int> Units = Gen.Frequency((3, Gen.Choose(2, 200)), (5, Gen.Choose(200, 20_000)), (2, Gen.Choose(20_000, 1_000_000)));

    private static readonly Gen<VariationInput> ProportionVariation =
        from n in Units
        from share in Between(0, 1)
        select new VariationInput { N = n, Sum = Math.Round(share * n) };

    private static readonly Gen<VariationInput> MeanVariation =
        from n in Units
        from mean in LogBetween(0.5, 100)
        from sd in LogBetween(0.5, 100)
        select new VariationInput { N = n, Sum = n * mean, SumSquares = ((n - 1) * sd * sd) + (n * mean * mean) };

    private static readonly Gen<VariationInput> RatioVariation =
        from n in Units
        from numeratorMean in LogBetween(0.5, 100)
        from numeratorSd in LogBetween(0.5, 100)
        from denominatorMean in LogBetween(0.5, 20)
        from denominatorSd in LogBetween(0.1, 20)
        from correlation in Between(-0.9, 0.9)
        select new VariationInput
        {
            N = n,
            Numerator = new SumsInput { Sum = n * numeratorMean, SumSquares = ((n - 1) * numeratorSd * numeratorSd) + (n * numeratorMean * numeratorMean) },
            Denominator = new SumsInput { Sum = n * denominatorMean, SumSquares = ((n - 1) * denominatorSd * denominatorSd) + (n * denominatorMean * denominatorMean) },
            SumProducts = ((n - 1) * correlation * numeratorSd * denominatorSd) + (n * numeratorMean * denominatorMean),
        };

    private static readonly Gen<Case> AnyCase =
        from metric in Gen.Elements("proportion", "mean", "ratio")
        from engine in Engine
        from differenceType in Gen.Elements("relative", "absolute")
        from oneSided in Gen.Elements(false, false, true)
        from sequential in Gen.Elements(false, true)
        from properPrior in Gen.Elements(false, true)
        from count in Gen.Choose(2, 5)
        from variations in Gen.ArrayOf(metric switch { "proportion" => ProportionVariation, "mean" => MeanVariation, _ => RatioVariation }, count)
        select new Case(metric, engine, differenceType, oneSided && !sequential ? "one-sided-greater" : null, sequential && engine == "frequentist", properPrior, variations);

    /// <summary>Mean and ratio metrics: the ones whose unit values can be multiplied by a constant (a 0/1 metric cannot).</summary>
    private static readonly Gen<Case> ScalableCase = AnyCase.Where(c => c.Metric != "proportion");

    private static Gen<double> Between(double lo, double hi) => Gen.Choose(0, 1_000_000).Select(i => lo + ((hi - lo) * i / 1_000_000.0));

    private static Gen<double> LogBetween(double lo, double hi) => Between(Math.Log(lo), Math.Log(hi)).Select(Math.Exp);

    private static AnalysisOutput Run(AnalysisInput input)
    {
        var result = StatisticsEngine.Analyze(input);
        Assert.True(result.IsSuccess, result.Error);
        return result.Output;
    }

    private static VariationInput Scale(VariationInput v, double c, double denominatorScale) => v.Numerator is null
        ? v with { Sum = v.Sum * c, SumSquares = v.SumSquares * c * c }
        : v with
        {
            Numerator = new SumsInput { Sum = v.Numerator.Sum * c, SumSquares = v.Numerator.SumSquares * c * c },
            Denominator = new SumsInput { Sum = v.Denominator!.Sum * denominatorScale, SumSquares = v.Denominator.SumSquares * denominatorScale * denominatorScale },
            SumProducts = v.SumProducts * c * denominatorScale,
        };

    private static void AssertIdentical(VariationOutput expected, VariationOutput actual)
    {
        Assert.Equal(expected.N, actual.N);
        Assert.Equal(expected.Expected, actual.Expected);
        Assert.Equal(expected.Ci, actual.Ci);
        Assert.Equal(expected.PValue, actual.PValue);
        Assert.Equal(expected.ChanceToWin, actual.ChanceToWin);
        Assert.Equal(expected.Risk, actual.Risk);
    }

    /// <summary>Effects and intervals equal after multiplying by <paramref name="effectScale"/>; p-values and chances to win equal.</summary>
    private static void AssertSameResult(VariationOutput expected, VariationOutput actual, double effectScale)
    {
        // Tolerance relative to the interval's width: sums of squares lose a few digits to cancellation when rescaled.
        var estimate = expected.Expected!.Value;
        var width = expected.Ci!.Where(end => end is not null).Select(end => Math.Abs(end!.Value - estimate)).DefaultIfEmpty(0).Max();
        var tolerance = (1e-7 * (Math.Abs(estimate) + width)) + 1e-300;
        Near(estimate * effectScale, actual.Expected!.Value, tolerance * effectScale, "expected");
        for (var end = 0; end < 2; end++)
        {
            Assert.Equal(expected.Ci![end] is null, actual.Ci![end] is null);
            if (expected.Ci[end] is { } e)
            {
                Near(e * effectScale, actual.Ci[end]!.Value, tolerance * effectScale, $"ci[{end}]");
            }
        }

        if (expected.PValue is { } p)
        {
            Near(p, actual.PValue!.Value, 1e-7, "pValue");
        }

        if (expected.ChanceToWin is { } ctw)
        {
            Near(ctw, actual.ChanceToWin!.Value, 1e-7, "chanceToWin");
            Near(expected.Risk![0] * effectScale, actual.Risk![0], tolerance * effectScale, "risk[0]");
            Near(expected.Risk[1] * effectScale, actual.Risk[1], tolerance * effectScale, "risk[1]");
        }
    }

    private static void Near(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"{what}: expected {expected:R}, got {actual:R} (tolerance {tolerance:R})");
}
