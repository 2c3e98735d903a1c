using System.Globalization;
using System.Text.Json;
using Upswing.Jobs;

namespace Upswing.Server.Components.Jobs;

/// <summary>How the jobs pages show a job: times, numbers, arguments as JSON, and the addresses that keep the scope.</summary>
internal static class JobView
{
    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        // Shown as text in HTML (which Razor encodes), so accents and quotes stay readable.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    public static string Iso(DateTimeOffset at) => at.ToString("O", CultureInfo.InvariantCulture);

    public static string Number(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>Seconds with a unit that fits: 0.42 s, 12 s, 3.5 min.</summary>
    public static string Seconds(double? seconds) => seconds switch
    {
        null => "–",
        < 10 => string.Create(CultureInfo.InvariantCulture, $"{seconds:0.##} s"),
        < 120 => string.Create(CultureInfo.InvariantCulture, $"{seconds:0} s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{seconds / 60:0.#} min"),
    };

    public static string Json(JsonElement element) => JsonSerializer.Serialize(element, Indented);

    /// <summary>The first line of a (multi-line) error, for tables; the full text is in the error history.</summary>
    public static string FirstLine(string error)
    {
        var end = error.IndexOfAny(['\r', '\n']);
        return end < 0 ? error : error[..end];
    }

    /// <summary>Whether <paramref name="state"/> is a job state the list can filter by.</summary>
    public static bool IsState(string? state) => state is not null && JobStates.All.Contains(state);

    /// <summary>"scope=all" for installation admins looking at every workspace, so links keep the scope.</summary>
    public static string ScopeQuery(bool all) => all ? "&scope=all" : "";
}
