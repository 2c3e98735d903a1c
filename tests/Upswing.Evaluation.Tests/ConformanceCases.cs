using System.Text.Json.Nodes;

namespace Upswing.Evaluation.Tests;

/// <summary>Loads GrowthBook's conformance cases: UPSWING_GROWTHBOOK_CASES if set, else the bundled subset.</summary>
public static class ConformanceCases
{
    public const string EnvironmentVariable = "UPSWING_GROWTHBOOK_CASES";

    private static readonly Lazy<JsonObject> All = new(Load);

    public static JsonObject Root => All.Value;

    public static JsonArray Get(string section, int index) => (JsonArray)((JsonArray)Root[section]!)[index]!;

    public static IEnumerable<TheoryDataRow<string>> Section(string section)
    {
        if (Root[section] is not JsonArray cases)
        {
            yield break;
        }

        for (var i = 0; i < cases.Count; i++)
        {
            yield return new TheoryDataRow<string>($"{section}/{i}") { TestDisplayName = $"{section}: {DisplayName(section, (JsonArray)cases[i]!, i)}" };
        }
    }

    private static string DisplayName(string section, JsonArray c, int index) => section switch
    {
        "hash" => $"#{index} hash(\"{c[0]}\", \"{c[1]}\", v{c[2]})",
        "getEqualWeights" => $"#{index} {c[0]} variations",
        _ => $"#{index} {c[0]}",
    };

    private static JsonObject Load()
    {
        var path = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(path))
        {
            path = Path.Combine(AppContext.BaseDirectory, "TestData", "growthbook-cases.json");
        }

        return (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;
    }
}
