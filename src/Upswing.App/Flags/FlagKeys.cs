using System.Text.RegularExpressions;
using Upswing.Common;

namespace Upswing.Flags;

/// <summary>The alphabet of feature, saved-group, rule and experiment keys: what SDKs and conditions refer to.</summary>
internal static partial class FlagKeys
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")]
    public static partial Regex Pattern();

    public static void Check(string field, string? key, FieldErrors errors)
    {
        if (key is null || !Pattern().IsMatch(key))
        {
            errors.Add(field, "The key must be 1–100 letters, digits, '_', '.', ':' or '-', starting with a letter or digit.");
        }
    }
}
