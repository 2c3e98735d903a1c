using System.Text.Json.Nodes;

namespace Upswing.Statistics.Tests;

/// <summary>gbstats-fixtures.json (gbstats' own field names) through the engine's lower-level API.</summary>
public sealed class GbstatsFixtureTests
{
    private static readonly Lazy<JsonObject> Root = new(() => ReferenceCases.Load("gbstats-fixtures.json"));

    public static IEnumerable<TheoryDataRow<string, int>> Section(string section)
    {
        var items = (JsonArray)Root.Value[section]!;
        for (var i = 0; i < items.Count; i++)
        {
            var name = items[i]!["name"]?.GetValue<string>() ?? items[i]!["difference_type"]!.GetValue<string>();
            yield return new TheoryDataRow<string, int>(section, i) { TestDisplayName = $"gbstats {section} #{i} {name}" };
        }
    }

    private static JsonNode Fixture(string section, int index) => Root.Value[section]![index]!;

    private static double Num(JsonNode? node) => node!.GetValue<double>();

    private static DifferenceType Type(JsonNode f) =>
        (f["difference_type"] ?? f["config"]!["difference_type"])!.GetValue<string>() == "absolute" ? DifferenceType.Absolute : DifferenceType.Relative;

    /// <summary>A variation without sum_squares is a proportion; with it, a sample mean.</summary>
    private static UnitEstimate Unit(JsonNode v)
    {
        var n = Num(v["n"]);
        var sum = Num(v["sum"]);
        var moments = new Moments(n, sum, v["sum_squares"] is { } ss ? Num(ss) : sum);
        return new UnitEstimate(n, moments.Mean, v["sum_squares"] is null ? moments.ProportionVariance : moments.SampleVariance);
    }

    private static void AssertFrequentist(JsonNode expected, FrequentistResult actual)
    {
        Tolerance.Equal(Num(expected["expected"]), actual.Expected, "expected");
        var ci = (JsonArray)expected["ci"]!;
        Tolerance.Equal(Num(ci[0]), actual.CiLower!.Value, "ci[0]");
        if (ci[1]!.GetValueKind() == System.Text.Json.JsonValueKind.String || double.IsInfinity(Num(ci[1])))
        {
            Assert.Null(actual.CiUpper);
        }
        else
        {
            Tolerance.Equal(Num(ci[1]), actual.CiUpper!.Value, "ci[1]");
        }

        Tolerance.Equal(Num(expected["pValue"]), actual.PValue, "pValue");
    }

    [Theory]
    [MemberData(nameof(Section), "frequentist")]
    public void Welch_GbstatsFixture_Matches(string section, int index)
    {
        var f = Fixture(section, index);
        var d = DifferenceEstimate.Of(Unit(f["a"]!), Unit(f["b"]!), Type(f));
        var side = f["test"]!.GetValue<string>() == "OneSidedTreatmentGreaterTTest" ? TestSide.OneSidedGreater : TestSide.TwoSided;

        var result = FrequentistTest.Welch(d, Num(f["alpha"]), side);

        AssertFrequentist(f["result"]!, result);
        Tolerance.Equal(Num(f["result"]!["uplift"]!["stddev"]), Math.Sqrt(d.Variance), "uplift.stddev");
    }

    [Theory]
    [MemberData(nameof(Section), "sequential")]
    public void Sequential_GbstatsFixture_Matches(string section, int index)
    {
        var f = Fixture(section, index);
        var d = DifferenceEstimate.Of(Unit(f["a"]!), Unit(f["b"]!), Type(f));

        var result = FrequentistTest.Sequential(d, Num(f["alpha"]), Num(f["tuning_parameter_N*"]));

        AssertFrequentist(f["result"]!, result);
    }

    [Theory]
    [MemberData(nameof(Section), "bayesian")]
    public void Bayesian_GbstatsFixture_Matches(string section, int index)
    {
        var f = Fixture(section, index);
        var config = f["config"]!;
        var priorNode = config["prior_effect"]!;
        var prior = new GaussianPrior(Num(priorNode["mean"]), Num(priorNode["variance"]), priorNode["proper"]!.GetValue<bool>());
        var control = Unit(f["a"]!);
        var d = DifferenceEstimate.Of(control, Unit(f["b"]!), Type(f));

        var result = BayesianTest.Analyze(d, prior, Num(config["alpha"]), Type(f), control.Mean);

        var expected = f["result"]!;
        Tolerance.Equal(Num(expected["expected"]), result.Expected, "expected");
        Tolerance.Equal(Num(expected["ci"]![0]), result.CiLower, "ci[0]");
        Tolerance.Equal(Num(expected["ci"]![1]), result.CiUpper, "ci[1]");
        Tolerance.Equal(Num(expected["chanceToWin"]), result.ChanceToWin, "chanceToWin");
        Tolerance.Equal(Num(expected["risk"]![0]), result.RiskControl, "risk[0]");
        Tolerance.Equal(Num(expected["risk"]![1]), result.RiskTreatment, "risk[1]");
    }

    [Theory]
    [MemberData(nameof(Section), "ratio")]
    public void Ratio_GbstatsFixture_MatchesDeltaMethod(string section, int index)
    {
        var f = Fixture(section, index);
        var a = Ratio(f["a"]!);
        var b = Ratio(f["b"]!);
        Tolerance.Equal(Num(f["a_mean"]), a.Mean, "a_mean");
        Tolerance.Equal(Num(f["a_variance"]), a.Variance, "a_variance");
        Tolerance.Equal(Num(f["b_mean"]), b.Mean, "b_mean");
        Tolerance.Equal(Num(f["b_variance"]), b.Variance, "b_variance");

        var d = DifferenceEstimate.Of(new UnitEstimate(a.N, a.Mean, a.Variance), new UnitEstimate(b.N, b.Mean, b.Variance), Type(f));

        AssertFrequentist(f["result"]!, FrequentistTest.Welch(d, 0.05, TestSide.TwoSided));

        static RatioMoments Ratio(JsonNode v)
        {
            var m = v["m_statistic"]!;
            var dd = v["d_statistic"]!;
            return new RatioMoments(
                Num(v["n"]),
                new Moments(Num(m["n"]), Num(m["sum"]), Num(m["sum_squares"])),
                new Moments(Num(dd["n"]), Num(dd["sum"]), Num(dd["sum_squares"])),
                Num(v["m_d_sum_of_products"]));
        }
    }
}
