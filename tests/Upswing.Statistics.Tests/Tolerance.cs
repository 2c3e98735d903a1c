using System.Text.Json.Nodes;

namespace Upswing.Statistics.Tests;

/// <summary>The reference tolerance: 1e-4 relative, 1e-6 absolute near zero; null means unbounded.</summary>
public static class Tolerance
{
    public static bool Close(double expected, double actual) =>
        Math.Abs(expected - actual) <= Math.Max(1e-4 * Math.Abs(expected), 1e-6);

    public static void Equal(double expected, double actual, string path) =>
        Assert.True(Close(expected, actual), $"{path}: expected {expected:R}, got {actual:R}");

    /// <summary>Compares two JSON documents, numbers with the tolerance, everything else exactly.</summary>
    public static void EqualJson(JsonNode? expected, JsonNode? actual, string path = "$")
    {
        switch (expected)
        {
            case null:
                Assert.True(actual is null, $"{path}: expected null, got {actual?.ToJsonString()}");
                break;
            case JsonObject eo:
                var ao = Assert.IsType<JsonObject>(actual, exactMatch: false);
                Assert.True(eo.Count == ao.Count, $"{path}: expected keys [{string.Join(",", eo.Select(p => p.Key))}], got [{string.Join(",", ao.Select(p => p.Key))}]");
                foreach (var (key, value) in eo)
                {
                    Assert.True(ao.ContainsKey(key), $"{path}.{key} missing");
                    EqualJson(value, ao[key], $"{path}.{key}");
                }

                break;
            case JsonArray ea:
                var aa = Assert.IsType<JsonArray>(actual, exactMatch: false);
                Assert.True(ea.Count == aa.Count, $"{path}: expected {ea.Count} items, got {aa.Count}");
                for (var i = 0; i < ea.Count; i++)
                {
                    EqualJson(ea[i], aa[i], $"{path}[{i}]");
                }

                break;
            default:
                Assert.True(actual is JsonValue, $"{path}: expected {expected.ToJsonString()}, got {actual?.ToJsonString()}");
                Equal(expected.GetValue<double>(), actual!.GetValue<double>(), path);
                break;
        }
    }
}
