using System.Globalization;
using Upswing.Analytics;
using Upswing.Common;

namespace Upswing.Server.Components.Analytics;

/// <summary>What the analytics pages share: their URLs (with the date range and filters) and number formats.</summary>
internal static class AnalyticsView
{
    /// <summary>The default range of every analytics page: the last 30 days, today included.</summary>
    public const int DefaultDays = 30;

    /// <summary>The id of an analytics page's filter form, which the workspace bar's environment switcher joins.</summary>
    public const string FiltersForm = "analytics-filters";

    /// <summary>
    /// What makes htmx submit the filter form: a submit, or a change of any of its fields, wherever they are: inside it, or
    /// outside it through their <c>form</c> attribute (the workspace bar's environment switcher; filters drawn inside the
    /// swapped view, such as a funnel's breakdown values), whose change events bubble to the body but never reach the form.
    /// </summary>
    public const string FiltersTrigger = "submit, change[target.form&&target.form.id=='" + FiltersForm + "'] from:body";

    /// <summary>The URL of an analytics page ("overview" is the section's root) with the range and extra query values.</summary>
    public static string PageUrl(WorkspacePage view, string page, DayRange? range, params (string Key, string? Value)[] query) =>
        Url($"/w/{view.Workspace.Slug}/analytics{(page == "overview" ? "" : "/" + page)}", view, range, query);

    /// <summary>The CSV download of a page's numbers (the same filters).</summary>
    public static string CsvUrl(WorkspacePage view, string name, DayRange? range, params (string Key, string? Value)[] query) =>
        Url($"/w/{view.Workspace.Slug}/analytics/export/{name}.csv", view, range, query);

    /// <summary>The range from the page's query values, or the default range when they are missing or invalid (the form shows why).</summary>
    public static (DayRange Range, IReadOnlyDictionary<string, string[]> Errors) Range(string? from, string? to, DateOnly today)
    {
        var errors = new FieldErrors();
        var range = DayRange.Parse(from, to, today, DefaultDays, errors);
        return errors.Any
            ? (DayRange.Parse(null, null, today, DefaultDays, new FieldErrors()), errors.ToFailure().Errors!)
            : (range, new Dictionary<string, string[]>());
    }

    /// <summary>A query value, or null when it is missing or blank (an empty select option means "all").</summary>
    public static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    public static string Number(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    public static string Number(double n, string format = "N1") => n.ToString(format, CultureInfo.InvariantCulture);

    public static string Percent(double? share) => share is { } s ? (s * 100).ToString("0.#", CultureInfo.InvariantCulture) + " %" : "–";

    private static string Url(string path, WorkspacePage view, DayRange? range, (string Key, string? Value)[] query)
    {
        var parts = new List<string> { "env=" + Uri.EscapeDataString(view.Environment.Key) };
        if (range is not null)
        {
            parts.Add("from=" + DayRange.Format(range.From));
            parts.Add("to=" + DayRange.Format(range.To));
        }

        parts.AddRange(query.Where(q => !string.IsNullOrEmpty(q.Value)).Select(q => q.Key + "=" + Uri.EscapeDataString(q.Value!)));
        return path + "?" + string.Join('&', parts);
    }
}
