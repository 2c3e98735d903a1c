using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Upswing.Common.Http;

/// <summary>One CSV column: its header and how a row gives its value.</summary>
public sealed record CsvColumn<T>(string Name, Func<T, object?> Value);

/// <summary>
/// CSV answers for read endpoints (RFC 4180: a header row, CRLF line ends, fields with a comma, quote or line break
/// quoted). A request asks for CSV with <c>Accept: text/csv</c> or <c>?format=csv</c> (what a download link can send).
/// Values are invariant: numbers round-trip, days are YYYY-MM-DD, instants ISO 8601, booleans true/false, null empty.
/// </summary>
public static class Csv
{
    public const string ContentType = "text/csv";

    /// <summary>True when the request asks for CSV.</summary>
    public static bool Wanted(HttpRequest request) =>
        string.Equals(request.Query["format"], "csv", StringComparison.OrdinalIgnoreCase)
        || request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals(ContentType, StringComparison.OrdinalIgnoreCase));

    /// <summary>The rows as CSV text.</summary>
    public static string Write<T>(IEnumerable<T> rows, IReadOnlyList<CsvColumn<T>> columns)
    {
        var csv = new StringBuilder();
        csv.AppendJoin(',', columns.Select(c => Quote(c.Name))).Append("\r\n");
        foreach (var row in rows)
        {
            for (var i = 0; i < columns.Count; i++)
            {
                if (i > 0)
                {
                    csv.Append(',');
                }

                csv.Append(Quote(Format(columns[i].Value(row))));
            }

            csv.Append("\r\n");
        }

        return csv.ToString();
    }

    /// <summary>The rows as a <c>text/csv</c> response, offered for download as <paramref name="fileName"/>.</summary>
    public static IResult Result<T>(IEnumerable<T> rows, IReadOnlyList<CsvColumn<T>> columns, string fileName) =>
        new CsvResult(Write(rows, columns), fileName);

    /// <summary>One value as a CSV field (before quoting).</summary>
    public static string Format(object? value) => value switch
    {
        null => "",
        string s => s,
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        DateOnly day => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTimeOffset at => at.ToString("O", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>One field, quoted (with inner quotes doubled) when it holds a comma, a quote or a line break.</summary>
    public static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : field;

    private sealed class CsvResult(string text, string fileName) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.ContentType = ContentType + "; charset=utf-8";
            httpContext.Response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
            return httpContext.Response.WriteAsync(text, httpContext.RequestAborted);
        }
    }
}
