using System.Globalization;
using System.Text;
using System.Text.Json;
using Upswing.Events;

namespace Upswing.Server.Components.Events;

/// <summary>How the events pages show an event: time, a one-line preview, the full JSON, links to a person's timeline.</summary>
internal static class EventView
{
    public const int PreviewLength = 90;

    private static readonly JsonSerializerOptions Indented = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        // Shown as text in HTML (which Razor encodes), so accents and quotes stay readable.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    public static string Iso(DateTimeOffset at) => at.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>The event as the API returns it, indented: properties, context, traits and the experiments it was enriched with.</summary>
    public static string Json(EventDto e) => JsonSerializer.Serialize(e, Indented);

    public static string Json(JsonElement? element) => element is { } value ? JsonSerializer.Serialize(value, Indented) : "null";

    /// <summary>
    /// The first members of the properties (traits for identify and group calls) on one line, cut at
    /// <see cref="PreviewLength"/> characters: enough to tell events apart in a list.
    /// </summary>
    public static string Preview(EventDto e)
    {
        var source = HasMembers(e.Properties) ? e.Properties : HasMembers(e.Traits) ? e.Traits : null;
        if (source is not { } members)
        {
            return "";
        }

        var text = new StringBuilder();
        foreach (var member in members.EnumerateObject())
        {
            if (text.Length > 0)
            {
                text.Append(", ");
            }

            text.Append(member.Name).Append(": ").Append(Short(member.Value));
            if (text.Length > PreviewLength)
            {
                break;
            }
        }

        return text.Length > PreviewLength ? string.Concat(text.ToString(0, PreviewLength - 1), "…") : text.ToString();
    }

    /// <summary>A trait or property value: strings as they are, anything else as JSON.</summary>
    public static string Value(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString() ?? "" : value.GetRawText();

    /// <summary>The name a list shows: a track's event name, a page's or screen's name, else the call type.</summary>
    public static string Label(string type, string? name) => string.IsNullOrEmpty(name) ? $"({type})" : type == "track" ? name : $"{type}: {name}";

    /// <summary>
    /// A person's timeline. Ids are free text: one with a slash goes in the query string, since routing keeps an
    /// encoded slash (%2F) out of a route value.
    /// </summary>
    public static string UserUrl(WorkspacePage view, string id) =>
        id.Contains('/', StringComparison.Ordinal) || id is "." or ".."
            ? $"/w/{view.Workspace.Slug}/users?id={Uri.EscapeDataString(id)}&env={view.Environment.Key}"
            : $"/w/{view.Workspace.Slug}/users/{Uri.EscapeDataString(id)}?env={view.Environment.Key}";

    private static bool HasMembers(JsonElement? element) =>
        element is { ValueKind: JsonValueKind.Object } value && value.EnumerateObject().Any();

    private static string Short(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => JsonSerializer.Serialize(value.GetString(), Indented),
        JsonValueKind.Object => "{…}",
        JsonValueKind.Array => $"[{value.GetArrayLength()}]",
        _ => value.GetRawText(),
    };
}
