using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Upswing.Common;
using Upswing.Flags;

namespace Upswing.Server.Components.Flags;

/// <summary>Turns what people type into flag values and back: values by the feature's type, JSON conditions, tags, percentages.</summary>
internal static class FlagForms
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>A value of <paramref name="type"/> from a form field; strings are taken as typed, the rest as JSON.</summary>
    public static JsonElement? ParseValue(string? text, FeatureValueType type, string field, FieldErrors errors)
    {
        text ??= "";
        if (type == FeatureValueType.String)
        {
            return JsonSerializer.SerializeToElement(text);
        }

        if (type == FeatureValueType.Number)
        {
            if (double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
            {
                return JsonSerializer.SerializeToElement(number);
            }

            errors.Add(field, "Enter a number, like 10 or 2.5.");
            return null;
        }

        if (type == FeatureValueType.Boolean)
        {
            switch (text.Trim())
            {
                case "true":
                    return JsonSerializer.SerializeToElement(true);
                case "false":
                    return JsonSerializer.SerializeToElement(false);
                default:
                    errors.Add(field, "Choose true or false.");
                    return null;
            }
        }

        return ParseJson(text, field, errors);
    }

    /// <summary>Any JSON value; an error names the line and position.</summary>
    public static JsonElement? ParseJson(string? text, string field, FieldErrors errors)
    {
        try
        {
            return JsonDocument.Parse(text ?? "").RootElement.Clone();
        }
        catch (JsonException e)
        {
            errors.Add(field, $"Not valid JSON: {Where(e)}.");
            return null;
        }
    }

    /// <summary>A condition: empty means none; otherwise a JSON object.</summary>
    public static JsonElement? ParseCondition(string? text, string field, FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var condition = ParseJson(text, field, errors);
        if (condition is { ValueKind: not JsonValueKind.Object })
        {
            errors.Add(field, "A condition is a JSON object, like {\"country\": \"FR\"}.");
            return null;
        }

        return condition;
    }

    /// <summary>The text a value shows in its input: strings as they are, everything else as JSON.</summary>
    public static string ToInput(JsonElement? value, FeatureValueType type) => value switch
    {
        null => "",
        { ValueKind: JsonValueKind.String } v when type == FeatureValueType.String => v.GetString()!,
        { } v when type == FeatureValueType.Json => JsonSerializer.Serialize(v, Indented),
        { } v => v.GetRawText(),
    };

    public static string Pretty(JsonElement? value) => value is { } v ? JsonSerializer.Serialize(v, Indented) : "";

    public static string Show(JsonElement value) => value.GetRawText();

    public static string Show(JsonNode? value) => value is null ? "null" : value.ToJsonString();

    /// <summary>Comma-separated tags, trimmed, without blanks or repeats.</summary>
    public static List<string> ParseTags(string? text) =>
        (text ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>A percentage from 0 to 100 as a share from 0 to 1; blank is null.</summary>
    public static double? ParsePercent(string? text, string field, FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (double.TryParse(text.Trim().TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var percent) && percent is >= 0 and <= 100)
        {
            return Math.Round(percent / 100, 6);
        }

        errors.Add(field, "Enter a percentage from 0 to 100.");
        return null;
    }

    public static string Percent(double? share) => share is { } s ? (s * 100).ToString("0.####", CultureInfo.InvariantCulture) : "";

    private static string Where(JsonException e) =>
        e.LineNumber is { } line ? $"line {line + 1}, position {(e.BytePositionInLine ?? 0) + 1}" : "unexpected input";
}

/// <summary>A failure's field errors by field, for showing next to the inputs; <c>prefix</c> drops a service path like "rules[2].".</summary>
internal sealed class FieldMessages
{
    private readonly Dictionary<string, string[]> messages;

    private FieldMessages(Dictionary<string, string[]> messages) => this.messages = messages;

    public static FieldMessages None { get; } = new(new Dictionary<string, string[]>());

    public static FieldMessages From(Failure? failure, string prefix = "")
    {
        var result = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (field, list) in failure?.Errors ?? new Dictionary<string, string[]>())
        {
            if (field.StartsWith(prefix, StringComparison.Ordinal))
            {
                result[field[prefix.Length..]] = list;
            }
        }

        return new(result);
    }

    public bool Any => messages.Count > 0;

    public string? this[string field] => messages.TryGetValue(field, out var list) ? string.Join(" ", list) : null;

    /// <summary>Messages for the field and anything under it (variations[1] under variations).</summary>
    public string? Under(string field) =>
        messages.Where(m => m.Key == field || m.Key.StartsWith(field + "[", StringComparison.Ordinal) || m.Key.StartsWith(field + ".", StringComparison.Ordinal))
            .SelectMany(m => m.Value).DefaultIfEmpty().Aggregate((a, b) => a + " " + b);
}
