using System.Text.Json.Nodes;

namespace Upswing.Statistics.Tests;

public sealed class StatisticsEngineTests
{
    private const string Valid = """
        {"metric": "mean", "engine": "frequentist", "variations": [
          {"n": 1000, "sum": 10000, "sumSquares": 110000},
          {"n": 1010, "sum": 10300, "sumSquares": 115000},
          {"n": 990, "sum": 9800, "sumSquares": 107000}]}
        """;

    private static string With(string key, JsonNode? value)
    {
        var doc = JsonNode.Parse(Valid)!.AsObject();
        doc[key] = value;
        return doc.ToJsonString();
    }

    [Theory]
    [InlineData("metric", "\"median\"", "metric")]
    [InlineData("engine", "\"magic\"", "engine")]
    [InlineData("differenceType", "\"ratio\"", "differenceType")]
    [InlineData("test", "\"one-sided-less\"", "test")]
    [InlineData("alpha", "1.5", "alpha")]
    [InlineData("weights", "[0.5, 0.5]", "weights")]
    [InlineData("weights", "[0, 0, 0]", "weights")]
    [InlineData("variations", "[{\"n\": 10, \"sum\": 1, \"sumSquares\": 1}]", "at least two")]
    [InlineData("variations", "[{\"n\": 10, \"sum\": 1}, {\"n\": 10, \"sum\": 2}]", "sumSquares")]
    [InlineData("variations", "[{\"n\": -1, \"sum\": 1, \"sumSquares\": 1}, {\"n\": 10, \"sum\": 2, \"sumSquares\": 4}]", "variations[0].n")]
    public void Analyze_InvalidField_ReturnsErrorNamingIt(string key, string value, string mentioned)
    {
        var result = AnalysisJson.Analyze(With(key, JsonNode.Parse(value)));

        Assert.False(result.IsSuccess);
        Assert.Contains(mentioned, result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("[1, 2]")]
    [InlineData("null")]
    [InlineData("{\"metric\": 5}")]
    public void Analyze_MalformedJson_ReturnsErrorNotException(string json) =>
        Assert.False(AnalysisJson.Analyze(json).IsSuccess);

    [Fact]
    public void Analyze_RatioWithoutDenominator_ReturnsError()
    {
        var result = AnalysisJson.Analyze("""{"metric": "ratio", "engine": "bayesian", "variations": [{"n": 10, "numerator": {"sum": 1, "sumSquares": 1}}, {"n": 10}]}""");

        Assert.Contains("denominator", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_CupedWithoutPre_ReturnsError()
    {
        var result = AnalysisJson.Analyze(With("cuped", true));

        Assert.Contains("pre", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_SequentialOneSided_IsRejectedAsUnsupported()
    {
        var doc = JsonNode.Parse(With("test", "one-sided-greater"))!.AsObject();
        doc["sequential"] = new JsonObject();

        Assert.Contains("sequential", AnalysisJson.Analyze(doc.ToJsonString()).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_Baseline_HasOnlyN_AndTreatmentsHaveCiContainingEstimate()
    {
        var result = AnalysisJson.Analyze(Valid);

        Assert.True(result.IsSuccess, result.Error);
        var json = JsonNode.Parse(AnalysisJson.Serialize(result.Output))!;
        Assert.Single(json["variations"]![0]!.AsObject());
        foreach (var v in result.Output.Variations.Skip(1))
        {
            Assert.InRange(v.Expected!.Value, v.Ci![0]!.Value, v.Ci[1]!.Value);
            Assert.InRange(v.PValue!.Value, 0, 1);
        }
    }

    [Fact]
    public void Analyze_TreatmentOrder_DoesNotChangeEachTreatmentsResult()
    {
        var doc = JsonNode.Parse(Valid)!.AsObject();
        var variations = doc["variations"]!.AsArray();
        var swapped = new JsonArray(variations[0]!.DeepClone(), variations[2]!.DeepClone(), variations[1]!.DeepClone());
        doc["variations"] = swapped;

        var original = AnalysisJson.Analyze(Valid).Output!;
        var reordered = AnalysisJson.Analyze(doc.ToJsonString()).Output!;

        Assert.Equal(original.Variations[1].Expected, reordered.Variations[2].Expected);
        Assert.Equal(original.Variations[2].PValue, reordered.Variations[1].PValue);
    }

    [Fact]
    public void Analyze_ZeroBaselineMean_ReturnsNeutralResultInsteadOfDividingByZero()
    {
        var result = AnalysisJson.Analyze("""{"metric": "proportion", "engine": "frequentist", "variations": [{"n": 100, "sum": 0}, {"n": 100, "sum": 5}]}""");

        Assert.True(result.IsSuccess, result.Error);
        Assert.Equal(1, result.Output.Variations[1].PValue);
        Assert.Equal(0, result.Output.Variations[1].Expected);
    }
}
