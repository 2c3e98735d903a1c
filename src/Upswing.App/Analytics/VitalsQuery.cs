using Upswing.Common;
using Upswing.Common.Http;
using Upswing.Events;

namespace Upswing.Analytics;

/// <summary>A row of <c>GET /api/v1/analytics/vitals</c>: one metric's p75 (and p50, p90) on one page and device class on one UTC day, and its rating.</summary>
public sealed record VitalsDto(DateOnly Day, string Metric, string Path, string DeviceClass, long Samples, double P50, double P75, double P90, string? Rating);

/// <summary>The vitals query's validated parameters: days <see cref="From"/>…<see cref="To"/> (UTC, both included) and optional filters.</summary>
public sealed record VitalsFilter(DateOnly From, DateOnly To, string? Metric, string? Path, string? Device)
{
    /// <summary>Reads the query values; to defaults to today (UTC), from to 29 days before to; each invalid field is one error.</summary>
    public static Result<VitalsFilter> Parse(string? from, string? to, string? metric, string? path, string? device, DateOnly today)
    {
        var errors = new FieldErrors();
        var range = DayRange.Parse(from, to, today, 30, errors);
        if (metric is not null && !Vitals.Thresholds.ContainsKey(metric))
        {
            errors.Add("metric", $"metric must be one of {string.Join(", ", Vitals.Thresholds.Keys)}.");
        }

        if (path is not null && (path.Length > WebVitalReader.MaxPathLength || !path.StartsWith('/')))
        {
            errors.Add("path", $"path must start with / and be at most {WebVitalReader.MaxPathLength} characters.");
        }

        if (device is not null && !Vitals.DeviceClasses.Contains(device))
        {
            errors.Add("device", "device must be mobile, tablet or desktop.");
        }

        return errors.Any ? errors.ToFailure() : new VitalsFilter(range.From, range.To, metric, path, device);
    }
}

/// <summary>The vitals rows as CSV.</summary>
public static class VitalsCsv
{
    public static readonly IReadOnlyList<CsvColumn<VitalsDto>> Columns =
    [
        new("day", r => r.Day), new("metric", r => r.Metric), new("path", r => r.Path), new("deviceClass", r => r.DeviceClass),
        new("samples", r => r.Samples), new("p50", r => r.P50), new("p75", r => r.P75), new("p90", r => r.P90), new("rating", r => r.Rating),
    ];
}
