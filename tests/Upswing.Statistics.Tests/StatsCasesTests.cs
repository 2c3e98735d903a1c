using System.Text.Json.Nodes;

namespace Upswing.Statistics.Tests;

/// <summary>stats-cases.json: every case as a JSON document through the engine's entry point, every number within tolerance.</summary>
public sealed class StatsCasesTests
{
    public static IEnumerable<TheoryDataRow<int>> Cases() => ReferenceCases.All();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Analyze_ReferenceCase_MatchesGbstats(int index)
    {
        var c = ReferenceCases.Get(index);

        var result = AnalysisJson.Analyze(c["input"]!.ToJsonString());

        Assert.True(result.IsSuccess, result.Error);
        Tolerance.EqualJson(c["expected"], JsonNode.Parse(AnalysisJson.Serialize(result.Output)));
    }
}
