using System.Text;

namespace Upswing.Common;

/// <summary>URL-safe identifiers people type: lower-case letters, digits and single hyphens.</summary>
public static class Slugs
{
    public const int MaxLength = 63;

    public static bool IsValid(string? slug)
    {
        if (string.IsNullOrEmpty(slug) || slug.Length > MaxLength || slug[0] == '-' || slug[^1] == '-')
        {
            return false;
        }

        var previousHyphen = false;
        foreach (var c in slug)
        {
            var hyphen = c == '-';
            if (!(hyphen || char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c)) || (hyphen && previousHyphen))
            {
                return false;
            }

            previousHyphen = hyphen;
        }

        return true;
    }

    /// <summary>"Acme Growth Team!" → "acme-growth-team"; falls back to "workspace" when nothing is left.</summary>
    public static string From(string text)
    {
        var builder = new StringBuilder(Math.Min(text.Length, MaxLength));
        foreach (var c in text.Normalize(NormalizationForm.FormD))
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                builder.Append(char.ToLowerInvariant(c));
            }
            else if (builder.Length > 0 && builder[^1] != '-' && (char.IsWhiteSpace(c) || c is '-' or '_' or '.' or '/'))
            {
                builder.Append('-');
            }

            if (builder.Length >= MaxLength - 4)
            {
                break;
            }
        }

        var slug = builder.ToString().Trim('-');
        return slug.Length == 0 ? "workspace" : slug;
    }
}
