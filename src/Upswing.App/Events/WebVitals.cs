using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Upswing.Events;

/// <summary>A web-vitals measurement on its way to the database.</summary>
internal sealed record IncomingVital(
    string MetricId, string Name, double Value, string? Rating, string? NavigationType, string? Url, string? Path, string DeviceClass,
    string? UserId, string? AnonymousId, DateTimeOffset Timestamp);

/// <summary>Answer of POST /v1/vitals: how many measurements were stored, and why the others were not.</summary>
public sealed record VitalsResult(int Accepted, IReadOnlyList<VitalRejection> Rejected);

/// <summary>A measurement that was not stored, by its position in the request.</summary>
public sealed record VitalRejection(int Index, IReadOnlyList<string> Errors);

/// <summary>
/// Reads what the web-vitals library reports (<c>onLCP(metric => navigator.sendBeacon(url, JSON.stringify(metric)))</c>):
/// one metric object, an array of them, or <c>{metrics: [...], url?, userId?, anonymousId?, writeKey?}</c>. The page
/// defaults to the Referer a beacon carries; the device class to what the User-Agent says.
/// </summary>
internal static class WebVitals
{
    public const int MaxUrlLength = 2000;

    /// <summary>The metrics web-vitals reports (FID only in versions before 4).</summary>
    public static readonly string[] Names = ["LCP", "INP", "CLS", "FCP", "TTFB", "FID"];

    private static readonly string[] Ratings = ["good", "needs-improvement", "poor"];

    public static (List<IncomingVital> Vitals, List<VitalRejection> Rejected) Read(JsonElement root, HttpRequest request, DateTimeOffset receivedAt)
    {
        JsonElement[] metrics;
        JsonElement? shared = null;
        if (root.ValueKind == JsonValueKind.Array)
        {
            metrics = [.. root.EnumerateArray()];
        }
        else if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("metrics", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            (metrics, shared) = ([.. list.EnumerateArray()], root);
        }
        else if (root.ValueKind == JsonValueKind.Object)
        {
            metrics = [root];
        }
        else
        {
            throw new BadHttpRequestException("The body is a web-vitals metric, an array of them, or {\"metrics\": [...]}.", StatusCodes.Status400BadRequest);
        }

        var referer = request.Headers.Referer.ToString();
        var device = DeviceClass(request.Headers.UserAgent.ToString());
        var vitals = new List<IncomingVital>(metrics.Length);
        var rejected = new List<VitalRejection>();
        for (var i = 0; i < metrics.Length; i++)
        {
            var errors = new List<string>(0);
            var metric = metrics[i];
            if (metric.ValueKind != JsonValueKind.Object)
            {
                rejected.Add(new VitalRejection(i, ["A metric is a JSON object."]));
                continue;
            }

            var name = Text(metric, "name", 8, errors)?.ToUpperInvariant();
            if (name is null || !Names.Contains(name))
            {
                errors.Add($"name must be one of {string.Join(", ", Names)}.");
            }

            var id = Text(metric, "id", EventLimits.MaxIdLength, errors);
            if (id is null)
            {
                errors.Add("id is required: it is what repeated reports of one metric share.");
            }

            double value = 0;
            if (!metric.TryGetProperty("value", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out value) || value < 0 || !double.IsFinite(value))
            {
                errors.Add("value must be a non-negative number.");
            }

            var rating = Text(metric, "rating", 24, errors);
            if (rating is not null && !Ratings.Contains(rating))
            {
                errors.Add("rating must be good, needs-improvement or poor.");
            }

            var url = Text(metric, "url", MaxUrlLength, errors) ?? Text(metric, "page", MaxUrlLength, errors)
                ?? (shared is { } s ? Text(s, "url", MaxUrlLength, errors) : null)
                ?? (referer.Length is > 0 and <= MaxUrlLength ? referer : null);
            var userId = Text(metric, "userId", EventLimits.MaxIdLength, errors) ?? (shared is { } s1 ? Text(s1, "userId", EventLimits.MaxIdLength, errors) : null);
            var anonymousId = Text(metric, "anonymousId", EventLimits.MaxIdLength, errors) ?? (shared is { } s2 ? Text(s2, "anonymousId", EventLimits.MaxIdLength, errors) : null);
            var deviceClass = Text(metric, "deviceClass", 16, errors)?.ToLowerInvariant() ?? device;
            if (deviceClass is not ("mobile" or "tablet" or "desktop"))
            {
                errors.Add("deviceClass must be mobile, tablet or desktop.");
            }

            if (errors.Count > 0)
            {
                rejected.Add(new VitalRejection(i, errors));
                continue;
            }

            vitals.Add(new IncomingVital(id!, name!, value, rating, Text(metric, "navigationType", 32, errors), url, PathOf(url), deviceClass, userId, anonymousId, receivedAt));
        }

        return (vitals, rejected);
    }

    /// <summary>mobile, tablet or desktop, by the User-Agent conventions browsers follow ("Mobi" marks phones).</summary>
    public static string DeviceClass(string userAgent) =>
        userAgent.Contains("iPad", StringComparison.Ordinal) || userAgent.Contains("Tablet", StringComparison.OrdinalIgnoreCase)
            || (userAgent.Contains("Android", StringComparison.Ordinal) && !userAgent.Contains("Mobi", StringComparison.Ordinal))
            ? "tablet"
            : userAgent.Contains("Mobi", StringComparison.Ordinal) ? "mobile" : "desktop";

    /// <summary>The page's path without query or fragment: what reports group by.</summary>
    public static string? PathOf(string? url) =>
        url is null ? null
        : Uri.TryCreate(url, UriKind.Absolute, out var absolute) ? absolute.AbsolutePath
        : url.Split('?', '#')[0];

    private static string? Text(JsonElement metric, string field, int maxLength, List<string> errors)
    {
        if (!metric.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String || value.GetString()!.Length > maxLength)
        {
            errors.Add($"{field} must be a string of at most {maxLength} characters.");
            return null;
        }

        var text = value.GetString()!;
        return text.Length == 0 ? null : text;
    }
}
