using System.Text.Json.Nodes;

namespace Upswing.Statistics.Tests;

public sealed class SrmTests
{
    public static IEnumerable<TheoryDataRow<int>> Fixtures()
    {
        var srm = (JsonArray)ReferenceCases.Load("gbstats-fixtures.json")["srm"]!;
        for (var i = 0; i < srm.Count; i++)
        {
            yield return new TheoryDataRow<int>(i) { TestDisplayName = $"gbstats srm #{i} users [{string.Join(", ", (JsonArray)srm[i]!["users"]!)}]" };
        }
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void PValue_GbstatsFixture_Matches(int index)
    {
        var f = ReferenceCases.Load("gbstats-fixtures.json")["srm"]![index]!;
        var users = ((JsonArray)f["users"]!).Select(x => x!.GetValue<double>()).ToArray();
        var weights = ((JsonArray)f["weights"]!).Select(x => x!.GetValue<double>()).ToArray();

        Tolerance.Equal(f["p_value"]!.GetValue<double>(), Srm.PValue(users, weights), "p_value");
    }

    [Theory]
    [InlineData("srm_600_400", 600, 400)]
    [InlineData("srm_44000_45000", 44000, 45000)]
    [InlineData("srm_821588_815482", 821588, 815482)]
    [InlineData("srm_10000_10050", 10000, 10050)]
    public void PValue_WorkedExampleEqualSplit_MatchesChiSquare(string key, double control, double treatment)
    {
        var expected = ReferenceCases.Load("worked-examples.json")[key]!;

        Tolerance.Equal(expected[1]!.GetValue<double>(), Srm.PValue([control, treatment], [0.5, 0.5]), key);
    }

    [Fact]
    public void PValue_ExactlyOnWeights_IsOne() => Assert.Equal(1, Srm.PValue([500, 500], [0.5, 0.5]), 12);

    [Fact]
    public void PValue_WeightsNotNormalised_SameAsNormalised() =>
        Assert.Equal(Srm.PValue([310, 98], [0.75, 0.25]), Srm.PValue([310, 98], [3, 1]), 12);
}
