using System.Text.Json;

namespace Upswing.Statistics;

/// <summary>JSON form of <see cref="StatisticsEngine.Analyze"/>: the exact document format of <c>upswing stats analyze</c>.</summary>
public static class AnalysisJson
{
    /// <summary>camelCase, case-insensitive on input; null members are left out of the output.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    /// <summary>Parses and analyses one input document; malformed JSON gives an error result, never an exception.</summary>
    public static AnalysisResult Analyze(string json)
    {
        AnalysisInput? input;
        try
        {
            input = JsonSerializer.Deserialize<AnalysisInput>(json, Options);
        }
        catch (JsonException e)
        {
            return new AnalysisResult(null, $"input is not a valid analysis document: {e.Message}");
        }

        return StatisticsEngine.Analyze(input);
    }

    /// <summary>Serialises an output document.</summary>
    public static string Serialize(AnalysisOutput output) => JsonSerializer.Serialize(output, Options);
}
