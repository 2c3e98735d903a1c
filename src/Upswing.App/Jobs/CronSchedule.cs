using Quartz;

namespace Upswing.Jobs;

/// <summary>
/// A cron schedule in UTC or a named time zone, computed by Quartz's CronExpression (which handles daylight-saving
/// gaps and repeats). Accepts Quartz's syntax (seconds first, 6 or 7 fields) and classic 5-field Unix cron
/// (Sunday is 0 or 7; a day of the month and a day of the week together mean either, as in crontab).
/// </summary>
public sealed class CronSchedule
{
    private readonly CronExpression expression;

    private CronSchedule(string text, CronExpression expression, TimeZoneInfo zone)
    {
        Text = text;
        this.expression = expression;
        Zone = zone;
    }

    /// <summary>The expression as written.</summary>
    public string Text { get; }

    public TimeZoneInfo Zone { get; }

    /// <summary>The first tick strictly after <paramref name="after"/>, or null when the schedule has no more ticks.</summary>
    public DateTimeOffset? Next(DateTimeOffset after) => expression.GetNextValidTimeAfter(after)?.ToUniversalTime();

    /// <summary>Parses a schedule; the error says what is wrong in words a person can act on.</summary>
    public static bool TryParse(string? text, string? timeZone, out CronSchedule? schedule, out string? error)
    {
        schedule = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "The cron expression is empty.";
            return false;
        }

        TimeZoneInfo zone;
        try
        {
            zone = string.IsNullOrWhiteSpace(timeZone) ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(timeZone);
        }
        catch (TimeZoneNotFoundException)
        {
            error = $"Unknown time zone '{timeZone}'; use an IANA name such as Europe/Berlin.";
            return false;
        }

        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields is not (5 or 6 or 7))
        {
            error = $"A cron expression has 5 fields (minute hour day month weekday) or Quartz's 6–7 (seconds first); '{text}' has {fields}.";
            return false;
        }

        try
        {
            var expression = CronExpression.Parse(text.Trim(), fields == 5 ? CronFormat.Unix : CronFormat.Quartz).WithTimeZone(zone);
            schedule = new CronSchedule(text.Trim(), expression, zone);
            error = null;
            return true;
        }
        catch (FormatException ex)
        {
            error = $"Invalid cron expression '{text}': {ex.Message}";
            return false;
        }
    }

    public static CronSchedule Parse(string text, string? timeZone = null) =>
        TryParse(text, timeZone, out var schedule, out var error) ? schedule! : throw new FormatException(error);
}
