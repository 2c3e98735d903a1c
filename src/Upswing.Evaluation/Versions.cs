using System.Text;
using System.Text.Json.Nodes;

namespace Upswing.Evaluation;

/// <summary>GrowthBook's version padding, which makes ordinal string comparison order semantic versions.</summary>
public static class Versions
{
    /// <summary>
    /// Pads a version for comparison: drops a leading "v" and "+build", splits on "." and "-",
    /// appends "~" to a plain x.y.z (so a release sorts after its pre-releases) and left-pads numeric parts to 5.
    /// </summary>
    public static string Pad(string? version)
    {
        if (string.IsNullOrEmpty(version))
        {
            version = "0";
        }

        if (version.StartsWith('v'))
        {
            version = version[1..];
        }

        var plus = version.IndexOf('+', StringComparison.Ordinal);
        if (plus >= 0)
        {
            version = version[..plus];
        }

        var parts = version.Split('.', '-');
        var sb = new StringBuilder(version.Length + 16);
        for (var i = 0; i < parts.Length; i++)
        {
            if (i > 0)
            {
                sb.Append('-');
            }

            var part = parts[i];
            if (part.Length > 0 && part.AsSpan().IndexOfAnyExceptInRange('0', '9') < 0)
            {
                sb.Append(' ', Math.Max(0, 5 - part.Length));
            }

            sb.Append(part);
        }

        if (parts.Length == 3)
        {
            sb.Append("-~");
        }

        return sb.ToString();
    }

    internal static string Pad(JsonNode? value)
    {
        if (JsValues.AsString(value) is { } s)
        {
            return Pad(s);
        }

        return JsValues.TryGetNumber(value, out var d) ? Pad(JsValues.NumberToString(d)) : Pad((string?)null);
    }
}
