using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Upswing.Evaluation;

/// <summary>A redirect decided for the current URL.</summary>
public sealed record UrlRedirect(bool InExperiment, string RedirectUrl, string UrlWithParams);

/// <summary>URL targeting ("simple" and "regex" patterns) and redirect experiments.</summary>
public static class UrlTargeting
{
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(50);
    private static readonly Uri Placeholder = new("https://placeholder.invalid/");
    private const string Wildcard = "_____";

    /// <summary>True when <paramref name="url"/> matches an include pattern (or there are only excludes) and no exclude pattern.</summary>
    public static bool IsTargeted(string url, IReadOnlyList<UrlPattern> patterns)
    {
        if (patterns.Count == 0)
        {
            return false;
        }

        var hasInclude = false;
        var included = false;
        foreach (var p in patterns)
        {
            var match = Matches(url, p.Type, p.Pattern);
            if (!p.Include)
            {
                if (match)
                {
                    return false;
                }
            }
            else
            {
                hasInclude = true;
                included |= match;
            }
        }

        return included || !hasInclude;
    }

    /// <summary>
    /// Runs the context's redirect experiments in order and returns the first redirect the user gets
    /// (at most one: once enrolled in a redirect experiment, later ones do not run).
    /// </summary>
    public static IReadOnlyList<UrlRedirect> GetRedirects(EvaluationContext context)
    {
        var redirects = new List<UrlRedirect>();
        foreach (var exp in context.Experiments)
        {
            var result = Evaluator.Run(context, exp);
            if (!result.InExperiment)
            {
                continue;
            }

            if (result.Value is JsonObject variation && JsValues.AsString(variation["urlRedirect"]) is { Length: > 0 } target)
            {
                var withParams = exp.PersistQueryString == true ? MergeQueryStrings(context.Url ?? "", target) : target;
                // A redirect to a page the experiment itself targets would loop.
                if (exp.UrlPatterns is { Count: > 0 } patterns && IsTargeted(withParams, patterns))
                {
                    continue;
                }

                redirects.Add(new UrlRedirect(true, target, withParams));
            }

            break;
        }

        return redirects;
    }

    /// <summary>Legacy experiment URL targeting: the regex matches the full URL or its path (from the first "/" after the host).</summary>
    public static bool MatchesLegacyUrl(string? url, string pattern)
    {
        if (string.IsNullOrEmpty(url))
        {
            return false;
        }

        try
        {
            var regex = new Regex(pattern, RegexOptions.CultureInvariant, RegexTimeout);
            var withoutScheme = Regex.Replace(url, "^https?://", "", RegexOptions.None, RegexTimeout);
            var slash = withoutScheme.IndexOf('/', StringComparison.Ordinal);
            var pathOnly = slash >= 0 ? withoutScheme[slash..] : "/";
            return regex.IsMatch(url) || regex.IsMatch(pathOnly);
        }
        catch (Exception e) when (e is ArgumentException or RegexMatchTimeoutException)
        {
            return false;
        }
    }

    /// <summary>Adds the current URL's query parameters that the redirect URL does not already set.</summary>
    public static string MergeQueryStrings(string currentUrl, string redirectUrl)
    {
        if (!Uri.TryCreate(currentUrl, UriKind.Absolute, out var current) || !Uri.TryCreate(redirectUrl, UriKind.Absolute, out var target))
        {
            return redirectUrl;
        }

        var existing = ParseQuery(target.Query);
        var extra = new List<string>();
        foreach (var (k, v) in ParseQuery(current.Query))
        {
            if (!existing.Any(e => e.Key == k))
            {
                extra.Add(Uri.EscapeDataString(k) + "=" + Uri.EscapeDataString(v));
            }
        }

        if (extra.Count == 0)
        {
            return redirectUrl;
        }

        var hashAt = redirectUrl.IndexOf('#', StringComparison.Ordinal);
        var head = hashAt >= 0 ? redirectUrl[..hashAt] : redirectUrl;
        var fragment = hashAt >= 0 ? redirectUrl[hashAt..] : "";
        var separator = !head.Contains('?', StringComparison.Ordinal) ? "?" : head.EndsWith('?') || head.EndsWith('&') ? "" : "&";
        return head + separator + string.Join('&', extra) + fragment;
    }

    private static List<KeyValuePair<string, string>> ParseQuery(string query)
    {
        var list = new List<KeyValuePair<string, string>>();
        foreach (var pair in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var k = eq >= 0 ? pair[..eq] : pair;
            var v = eq >= 0 ? pair[(eq + 1)..] : "";
            list.Add(new(Uri.UnescapeDataString(k.Replace('+', ' ')), Uri.UnescapeDataString(v.Replace('+', ' '))));
        }

        return list;
    }

    private static bool Matches(string url, string type, string pattern)
    {
        if (!Uri.TryCreate(Placeholder, url, out var actual))
        {
            return false;
        }

        if (type == "regex")
        {
            try
            {
                var regex = new Regex(pattern, RegexOptions.CultureInvariant, RegexTimeout);
                return regex.IsMatch(actual.AbsoluteUri) || regex.IsMatch(actual.PathAndQuery + actual.Fragment);
            }
            catch (Exception e) when (e is ArgumentException or RegexMatchTimeoutException)
            {
                return false;
            }
        }

        return type == "simple" && MatchesSimple(actual, pattern);
    }

    private static bool MatchesSimple(Uri actual, string pattern)
    {
        // A host without a protocol gets https://; "*" becomes a placeholder that survives URL parsing.
        var normalized = Regex.Replace(pattern, "^([^:/?]*)\\.", "https://$1.", RegexOptions.None, RegexTimeout).Replace("*", Wildcard, StringComparison.Ordinal);
        if (!Uri.TryCreate(new Uri("https://" + Wildcard.Replace('_', 'x') + "/"), normalized, out var expected))
        {
            return false;
        }

        var expectedHost = expected.Authority.Replace("xxxxx", Wildcard, StringComparison.Ordinal);
        if (!MatchesPart(actual.Authority, expectedHost, false) || !MatchesPart(actual.AbsolutePath, expected.AbsolutePath, true))
        {
            return false;
        }

        if (expected.Fragment.Length > 0 && !MatchesPart(actual.Fragment, expected.Fragment, false))
        {
            return false;
        }

        var actualQuery = ParseQuery(actual.Query);
        foreach (var (k, v) in ParseQuery(expected.Query))
        {
            var actualValue = actualQuery.FirstOrDefault(p => p.Key == k).Value ?? "";
            if (!MatchesPart(actualValue, v, false))
            {
                return false;
            }
        }

        return true;
    }

    private static bool MatchesPart(string actual, string pattern, bool isPath)
    {
        var escaped = Regex.Escape(pattern).Replace(Wildcard, ".*", StringComparison.Ordinal);
        if (isPath)
        {
            // Leading and trailing slashes are optional on paths.
            escaped = "/?" + escaped.Trim('/') + "/?";
        }

        try
        {
            return Regex.IsMatch(actual, "^" + escaped + "$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, RegexTimeout);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }
}
