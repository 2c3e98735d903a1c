using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Upswing.Evaluation;

// GrowthBook's rules are defined by JavaScript's loose semantics (string concatenation, `* 1`,
// `<` between mixed types, truthiness, JSON.stringify); these helpers reproduce them over JsonNode.
internal static class JsValues
{
    public static bool TryGetNumber(JsonNode? node, out double value)
    {
        value = 0;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number)
        {
            return false;
        }

        if (v.TryGetValue(out double d))
        {
            value = d;
            return true;
        }

        if (v.TryGetValue(out long l))
        {
            value = l;
            return true;
        }

        if (v.TryGetValue(out int i))
        {
            value = i;
            return true;
        }

        if (v.TryGetValue(out decimal m))
        {
            value = (double)m;
            return true;
        }

        if (v.TryGetValue(out JsonElement e) && e.TryGetDouble(out d))
        {
            value = d;
            return true;
        }

        return double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>
    /// A deep copy in which every string is a .NET string. A string parsed from JSON text is decoded from its UTF-8
    /// on every read, which would allocate each time a condition compares it; numbers and booleans read without
    /// allocating either way and are copied as they are.
    /// </summary>
    public static JsonNode? CloneForEvaluation(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject obj:
                var copy = new JsonObject();
                for (var i = 0; i < obj.Count; i++)
                {
                    var (key, value) = obj.GetAt(i);
                    copy[key] = CloneForEvaluation(value);
                }

                return copy;
            case JsonArray array:
                var items = new JsonArray();
                for (var i = 0; i < array.Count; i++)
                {
                    items.Add(CloneForEvaluation(array[i]));
                }

                return items;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                return JsonValue.Create(value.GetValue<string>());
            default:
                return node.DeepClone();
        }
    }

    public static string? AsString(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    public static bool? AsBool(JsonNode? node) =>
        node is JsonValue v ? v.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => null,
        } : null;

    public static string TypeOf(JsonNode? node) => node switch
    {
        null => "null",
        JsonArray => "array",
        JsonObject => "object",
        _ => node.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.Number => "number",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            JsonValueKind.Null => "null",
            _ => "unknown",
        },
    };

    public static bool IsNull(JsonNode? node) => node is null || node.GetValueKind() == JsonValueKind.Null;

    public static bool Truthy(JsonNode? node)
    {
        if (IsNull(node))
        {
            return false;
        }

        if (node is JsonArray or JsonObject)
        {
            return true;
        }

        return node!.GetValueKind() switch
        {
            JsonValueKind.False => false,
            JsonValueKind.True => true,
            JsonValueKind.String => AsString(node)!.Length > 0,
            JsonValueKind.Number => TryGetNumber(node, out var d) && d != 0 && !double.IsNaN(d),
            _ => false,
        };
    }

    // JavaScript String(value).
    public static string ToJsString(JsonNode? node)
    {
        if (IsNull(node))
        {
            return "null";
        }

        switch (node)
        {
            case JsonObject:
                return "[object Object]";
            case JsonArray array:
                var sb = new StringBuilder();
                for (var i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                    }

                    if (!IsNull(array[i]))
                    {
                        sb.Append(ToJsString(array[i]));
                    }
                }

                return sb.ToString();
        }

        return node!.GetValueKind() switch
        {
            JsonValueKind.String => AsString(node)!,
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            JsonValueKind.Number => TryGetNumber(node, out var d) ? NumberToString(d) : "NaN",
            _ => "null",
        };
    }

    // JavaScript Number(value).
    public static double ToJsNumber(JsonNode? node)
    {
        if (IsNull(node))
        {
            return 0;
        }

        switch (node)
        {
            case JsonObject:
                return double.NaN;
            case JsonArray:
                return StringToNumber(ToJsString(node));
        }

        return node!.GetValueKind() switch
        {
            JsonValueKind.True => 1,
            JsonValueKind.False => 0,
            JsonValueKind.Number => TryGetNumber(node, out var d) ? d : double.NaN,
            JsonValueKind.String => StringToNumber(AsString(node)!),
            _ => double.NaN,
        };
    }

    public static double StringToNumber(string s)
    {
        var t = s.Trim();
        if (t.Length == 0)
        {
            return 0;
        }

        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return long.TryParse(t.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex) ? hex : double.NaN;
        }

        switch (t)
        {
            case "Infinity" or "+Infinity":
                return double.PositiveInfinity;
            case "-Infinity":
                return double.NegativeInfinity;
        }

        foreach (var c in t)
        {
            if (!(char.IsAsciiDigit(c) || c is '.' or 'e' or 'E' or '+' or '-'))
            {
                return double.NaN;
            }
        }

        return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.NaN;
    }

    // JavaScript Number.prototype.toString() for the values that matter here.
    public static string NumberToString(double d)
    {
        if (double.IsNaN(d))
        {
            return "NaN";
        }

        if (double.IsInfinity(d))
        {
            return d > 0 ? "Infinity" : "-Infinity";
        }

        if (d == Math.Floor(d) && Math.Abs(d) < 1e21)
        {
            return ((decimal)d).ToString(CultureInfo.InvariantCulture);
        }

        var r = d.ToString("R", CultureInfo.InvariantCulture);
        var e = r.IndexOf('E', StringComparison.Ordinal);
        if (e < 0)
        {
            return r;
        }

        var exponent = r[(e + 1)..];
        var sign = exponent.StartsWith('-') ? "-" : "+";
        return r[..e] + "e" + sign + exponent.TrimStart('+', '-').TrimStart('0');
    }

    // JavaScript parseInt(value, 10), or null for NaN.
    public static long? ParseIntPrefix(string s)
    {
        var t = s.AsSpan().TrimStart();
        var negative = false;
        if (t.Length > 0 && (t[0] == '-' || t[0] == '+'))
        {
            negative = t[0] == '-';
            t = t[1..];
        }

        var len = 0;
        while (len < t.Length && len < 18 && char.IsAsciiDigit(t[len]))
        {
            len++;
        }

        if (len == 0)
        {
            return null;
        }

        var value = long.Parse(t[..len], CultureInfo.InvariantCulture);
        return negative ? -value : value;
    }

    // JavaScript ===, where objects and arrays are only equal to themselves.
    public static bool StrictEquals(JsonNode? a, JsonNode? b)
    {
        if (IsNull(a) || IsNull(b))
        {
            return IsNull(a) && IsNull(b);
        }

        if (a is JsonArray or JsonObject || b is JsonArray or JsonObject)
        {
            return ReferenceEquals(a, b);
        }

        var ka = a!.GetValueKind();
        var kb = b!.GetValueKind();
        if (ka is JsonValueKind.True or JsonValueKind.False)
        {
            return ka == kb;
        }

        if (ka != kb)
        {
            return false;
        }

        return ka == JsonValueKind.Number
            ? TryGetNumber(a, out var x) && TryGetNumber(b, out var y) && x == y
            : string.Equals(AsString(a), AsString(b), StringComparison.Ordinal);
    }

    // JavaScript abstract relational comparison: returns <0, 0, >0, or null when incomparable (NaN).
    public static int? Compare(JsonNode? a, JsonNode? b)
    {
        var pa = ToPrimitive(a);
        var pb = ToPrimitive(b);
        if (pa is string sa && pb is string sb)
        {
            return string.CompareOrdinal(sa, sb);
        }

        var x = pa is string s1 ? StringToNumber(s1) : (double)pa!;
        var y = pb is string s2 ? StringToNumber(s2) : (double)pb!;
        if (double.IsNaN(x) || double.IsNaN(y))
        {
            return null;
        }

        return x.CompareTo(y);
    }

    private static object ToPrimitive(JsonNode? node)
    {
        if (node is JsonArray or JsonObject)
        {
            return ToJsString(node);
        }

        return AsString(node) is { } s ? s : ToJsNumber(node);
    }

    // JSON.stringify, used for deep equality between a condition and a value.
    public static string Stringify(JsonNode? node)
    {
        var sb = new StringBuilder();
        WriteJson(sb, node);
        return sb.ToString();
    }

    private static void WriteJson(StringBuilder sb, JsonNode? node)
    {
        switch (node)
        {
            case null:
                sb.Append("null");
                return;
            case JsonObject obj:
                sb.Append('{');
                var first = true;
                foreach (var (k, v) in obj)
                {
                    if (!first)
                    {
                        sb.Append(',');
                    }

                    first = false;
                    sb.Append(JsonSerializer.Serialize(k)).Append(':');
                    WriteJson(sb, v);
                }

                sb.Append('}');
                return;
            case JsonArray array:
                sb.Append('[');
                for (var i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                    }

                    WriteJson(sb, array[i]);
                }

                sb.Append(']');
                return;
        }

        switch (node.GetValueKind())
        {
            case JsonValueKind.String:
                sb.Append(JsonSerializer.Serialize(AsString(node)));
                break;
            case JsonValueKind.Number:
                sb.Append(TryGetNumber(node, out var d) && double.IsFinite(d) ? NumberToString(d) : "null");
                break;
            case JsonValueKind.True:
                sb.Append("true");
                break;
            case JsonValueKind.False:
                sb.Append("false");
                break;
            default:
                sb.Append("null");
                break;
        }
    }
}
