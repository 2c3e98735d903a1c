using System.Text.Json.Nodes;

namespace Upswing.Statistics.Tests;

public sealed class CupedFixtureTests
{
    private static double Num(JsonNode? node) => node!.GetValue<double>();

    private static CupedMoments Cuped(JsonNode v)
    {
        var post = v["post_statistic"]!;
        var pre = v["pre_statistic"]!;
        return new CupedMoments(
            Num(v["n"]),
            new Moments(Num(post["n"]), Num(post["sum"]), Num(post["sum_squares"])),
            new Moments(Num(pre["n"]), Num(pre["sum"]), Num(pre["sum_squares"])),
            Num(v["post_pre_sum_of_products"]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Cuped_GbstatsFixture_Matches(int index)
    {
        var f = ReferenceCases.Load("gbstats-fixtures.json")["cuped"]![index]!;
        var a = Cuped(f["a"]!);
        var b = Cuped(f["b"]!);
        var type = f["difference_type"]!.GetValue<string>() == "absolute" ? DifferenceType.Absolute : DifferenceType.Relative;

        Tolerance.Equal(Num(f["theta"]), DifferenceEstimate.Theta(a, b), "theta");
        var d = DifferenceEstimate.OfCuped(a, b, type);
        var expected = f["cuped_result"]!;
        Tolerance.Equal(Num(expected["expected"]), d.Point, "expected");
        Tolerance.Equal(Num(expected["uplift"]!["stddev"]), Math.Sqrt(d.Variance), "stddev");
    }
}
