using System.Text.Json.Nodes;

namespace Upswing.Sdk;

internal static class JsonText
{
    /// <summary>The node's string value, or null when it is not a JSON string.</summary>
    public static string? AsString(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}
