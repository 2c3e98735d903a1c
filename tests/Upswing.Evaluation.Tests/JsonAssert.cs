using System.Text.Json;
using System.Text.Json.Nodes;

namespace Upswing.Evaluation.Tests;

/// <summary>Structural JSON equality (key order ignored, numbers by value) with a path to the first difference.</summary>
public static class JsonAssert
{
    public static void Equal(JsonNode? expected, JsonNode? actual)
    {
        // Round-trip so values built in code and values parsed from text compare the same way.
        var e = Normalize(expected);
        var a = Normalize(actual);
        var difference = FindDifference(e, a, "$");
        Assert.True(difference is null, $"{difference}\nexpected: {e?.ToJsonString() ?? "null"}\nactual:   {a?.ToJsonString() ?? "null"}");
    }

    private static JsonNode? Normalize(JsonNode? node) => node is null ? null : JsonNode.Parse(node.ToJsonString());

    private static string? FindDifference(JsonNode? e, JsonNode? a, string path)
    {
        if (e is null || a is null)
        {
            return e is null && a is null ? null : $"{path}: one side is null";
        }

        switch (e)
        {
            case JsonObject eo:
                if (a is not JsonObject ao)
                {
                    return $"{path}: expected an object";
                }

                foreach (var (k, v) in eo)
                {
                    if (!ao.ContainsKey(k))
                    {
                        return $"{path}.{k}: missing";
                    }

                    if (FindDifference(v, ao[k], $"{path}.{k}") is { } d)
                    {
                        return d;
                    }
                }

                foreach (var (k, _) in ao)
                {
                    if (!eo.ContainsKey(k))
                    {
                        return $"{path}.{k}: unexpected";
                    }
                }

                return null;
            case JsonArray ea:
                if (a is not JsonArray aa || aa.Count != ea.Count)
                {
                    return $"{path}: expected an array of {ea.Count}";
                }

                for (var i = 0; i < ea.Count; i++)
                {
                    if (FindDifference(ea[i], aa[i], $"{path}[{i}]") is { } d)
                    {
                        return d;
                    }
                }

                return null;
        }

        var ek = e.GetValueKind();
        if (ek != a.GetValueKind())
        {
            return $"{path}: kind {ek} vs {a.GetValueKind()}";
        }

        return ek switch
        {
            JsonValueKind.Number => e.GetValue<double>() == a.GetValue<double>() ? null : $"{path}: {e} vs {a}",
            JsonValueKind.String => e.GetValue<string>() == a.GetValue<string>() ? null : $"{path}: \"{e}\" vs \"{a}\"",
            _ => null,
        };
    }
}
