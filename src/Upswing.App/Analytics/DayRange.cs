using System.Globalization;
using Upswing.Common;

namespace Upswing.Analytics;

/// <summary>
/// UTC days <see cref="From"/>…<see cref="To"/>, both included: the range every analytics read takes as <c>from</c> and
/// <c>to</c> query values (YYYY-MM-DD).
/// </summary>
public sealed record DayRange(DateOnly From, DateOnly To)
{
    /// <summary>The longest range one query may ask for.</summary>
    public const int MaxDays = 366;

    /// <summary>How many days the range holds.</summary>
    public int Days => To.DayNumber - From.DayNumber + 1;

    /// <summary>Every day of the range, oldest first.</summary>
    public IEnumerable<DateOnly> EachDay() => Enumerable.Range(0, Days).Select(From.AddDays);

    /// <summary>
    /// Reads <c>from</c> and <c>to</c>: <c>to</c> defaults to <paramref name="today"/>, <c>from</c> to
    /// <paramref name="defaultDays"/> − 1 days before <c>to</c>. Adds an error per invalid field (a malformed date, from after
    /// to, more than <see cref="MaxDays"/> days) to <paramref name="errors"/>; the range returned then is a placeholder.
    /// </summary>
    public static DayRange Parse(string? from, string? to, DateOnly today, int defaultDays, FieldErrors errors)
    {
        var errorsBefore = errors.Any;
        var toDay = ParseDay(to, "to", today, errors);
        var fromDay = ParseDay(from, "from", toDay.AddDays(1 - defaultDays), errors);
        if (errors.Any && !errorsBefore)
        {
            return new DayRange(toDay, toDay);
        }

        if (fromDay > toDay)
        {
            errors.Add("from", "from must be on or before to.");
        }
        else if (toDay.DayNumber - fromDay.DayNumber >= MaxDays)
        {
            errors.Add("to", $"The range may span at most {MaxDays} days.");
        }

        return new DayRange(fromDay, toDay);
    }

    /// <summary>The day as YYYY-MM-DD.</summary>
    public static string Format(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>One day as YYYY-MM-DD, or <paramref name="fallback"/> when absent; a malformed value is an error on <paramref name="field"/>.</summary>
    public static DateOnly ParseDay(string? value, string field, DateOnly fallback, FieldErrors errors)
    {
        if (string.IsNullOrEmpty(value))
        {
            return fallback;
        }

        if (DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            return day;
        }

        errors.Add(field, $"{field} must be a date as YYYY-MM-DD.");
        return fallback;
    }
}
