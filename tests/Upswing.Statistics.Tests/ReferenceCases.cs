using System.Text.Json.Nodes;

namespace Upswing.Statistics.Tests;

/// <summary>Loads the bundled gbstats 0.8.0 reference values (TestData/NOTICE).</summary>
public static class ReferenceCases
{
    private static readonly Lazy<JsonArray> Cases = new(() => (JsonArray)Load("stats-cases.json")["cases"]!);

    /// <summary>Parses a TestData file; Python's bare <c>Infinity</c> (an unbounded CI end) becomes the string "Infinity".</summary>
    public static JsonObject Load(string file)
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", file))
            .Replace(": Infinity", ": \"Infinity\"", StringComparison.Ordinal)
            .Replace(" Infinity\n", " \"Infinity\"\n", StringComparison.Ordinal);
        return (JsonObject)JsonNode.Parse(text)!;
    }

    public static JsonObject Get(int index) => (JsonObject)Cases.Value[index]!;

    /// <summary>One row per stats-cases.json case of an implemented engine part, named by its index and name.</summary>
    public static IEnumerable<TheoryDataRow<int>> All()
    {
        for (var i = 0; i < Cases.Value.Count; i++)
        {
            yield return new TheoryDataRow<int>(i) { TestDisplayName = $"#{i:D2} {Cases.Value[i]!["name"]}" };
        }
    }
}
