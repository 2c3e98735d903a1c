using System.Numerics;

namespace Upswing.Analytics;

/// <summary>A row of <c>retention_cohorts</c>: of the persons of one cohort, how many were active <see cref="Offset"/> periods after its start.</summary>
/// <param name="Type"><see cref="Retention.FirstTime"/> or <see cref="Retention.Recurring"/>.</param>
/// <param name="Period"><see cref="Retention.Day"/> or <see cref="Retention.Week"/>.</param>
/// <param name="CohortStart">The cohort's period: a UTC day, or the Monday of an ISO week.</param>
/// <param name="Offset">Periods after the cohort's (0 = the cohort itself, so offset 0 holds the cohort's size).</param>
/// <param name="Persons">The cohort's persons with a track event in period <see cref="CohortStart"/> + <see cref="Offset"/>.</param>
/// <param name="Environment">The environment bucket (<see cref="RollupEnvironment"/>) of a stored row; the rows a query reads are summed over the buckets of its view.</param>
public sealed record RetentionRow(string Type, string Period, DateOnly CohortStart, int Offset, long Persons, Guid Environment = default);

/// <summary>Retention cohorts: the cohort types and periods, their calendar, and what a rollup window replaces.</summary>
public static class Retention
{
    /// <summary>A person's cohort is the period of their first-ever track event.</summary>
    public const string FirstTime = "first_time";

    /// <summary>Every period a person was active in starts a cohort of theirs.</summary>
    public const string Recurring = "recurring";

    public const string Day = "day";
    public const string Week = "week";

    public static readonly IReadOnlyList<string> Types = [FirstTime, Recurring];
    public static readonly IReadOnlyList<string> Periods = [Day, Week];

    /// <summary>The largest offset stored: 30 days, or 12 weeks.</summary>
    public static int MaxOffset(string period) => period == Week ? 12 : 30;

    /// <summary>The Monday (UTC) of the ISO week holding <paramref name="day"/>.</summary>
    public static DateOnly WeekStart(DateOnly day) => day.AddDays(-(((int)day.DayOfWeek + 6) % 7));

    /// <summary>The start of the period holding <paramref name="day"/>.</summary>
    public static DateOnly PeriodStart(string period, DateOnly day) => period == Week ? WeekStart(day) : day;

    /// <summary>The first day of period <paramref name="cohortStart"/> + <paramref name="offset"/>.</summary>
    public static DateOnly OffsetStart(string period, DateOnly cohortStart, int offset) => cohortStart.AddDays(period == Week ? 7 * offset : offset);

    /// <summary>
    /// The earliest cohort a window starting at <paramref name="from"/> can change: a cohort's rows read its periods up
    /// to start + the largest offset, so every cohort whose last offset reaches the window's first day (30 days before it;
    /// for weeks the Monday 12 weeks before the window's week). Later cohorts up to the window's end change too.
    /// </summary>
    public static DateOnly FirstAffectedCohort(string period, DateOnly from) =>
        period == Week ? WeekStart(from).AddDays(-7 * MaxOffset(Week)) : from.AddDays(-MaxOffset(Day));

    /// <summary>The first day whose activity the window's cohorts read: the earlier of both periods' first cohort (always the week's).</summary>
    public static DateOnly DataFrom(DateOnly from) => FirstAffectedCohort(Week, from);
}

/// <summary>
/// Counts retention cohorts from each person's active days (pure, no I/O). Persons are added one at a time as a bitmap of
/// the days <see cref="DataFrom"/>…<see cref="To"/> on which they had a track event, plus whether that range holds their
/// first-ever event (<c>isNew</c>: no track event before <see cref="DataFrom"/>). Memory is the counters only
/// (cohorts × offsets), whatever the number of persons. Cohorts counted: days from <see cref="Retention.FirstAffectedCohort"/>
/// to <see cref="To"/>, weeks from <see cref="DataFrom"/> (a Monday) to the week of <see cref="To"/>; offsets whose period
/// starts after <see cref="To"/> are not reached and give no row.
/// </summary>
public sealed class RetentionCounter
{
    private readonly int days;
    private readonly int weeks;
    private readonly int firstDayCohort;
    private readonly long[] firstTimeDays;
    private readonly long[] recurringDays;
    private readonly long[] firstTimeWeeks;
    private readonly long[] recurringWeeks;
    private readonly ulong[] weekBits;
    private static readonly int DayWidth = Retention.MaxOffset(Retention.Day) + 1;
    private static readonly int WeekWidth = Retention.MaxOffset(Retention.Week) + 1;

    /// <param name="from">The window's first day: cohorts from <see cref="Retention.FirstAffectedCohort"/> of it are counted.</param>
    /// <param name="to">The last day with data (the window's last day, today).</param>
    public RetentionCounter(DateOnly from, DateOnly to)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(from, to);
        DataFrom = Retention.DataFrom(from);
        To = to;
        days = to.DayNumber - DataFrom.DayNumber + 1;
        weeks = (days + 6) / 7;
        firstDayCohort = Retention.FirstAffectedCohort(Retention.Day, from).DayNumber - DataFrom.DayNumber;
        var dayCohorts = days - firstDayCohort;
        firstTimeDays = new long[dayCohorts * DayWidth];
        recurringDays = new long[dayCohorts * DayWidth];
        firstTimeWeeks = new long[weeks * WeekWidth];
        recurringWeeks = new long[weeks * WeekWidth];
        weekBits = new ulong[Words(weeks)];
    }

    /// <summary>The first day of the bitmaps (bit i = this day + i), a Monday.</summary>
    public DateOnly DataFrom { get; }

    /// <summary>The last day of the bitmaps.</summary>
    public DateOnly To { get; }

    /// <summary>How many ulongs a bitmap of the range's days takes.</summary>
    public int BitmapLength => Words(days);

    /// <summary>Sets <paramref name="day"/>'s bit; days outside the range are ignored.</summary>
    public void Set(ulong[] bitmap, DateOnly day)
    {
        var i = day.DayNumber - DataFrom.DayNumber;
        if (i >= 0 && i < days)
        {
            bitmap[i >> 6] |= 1UL << (i & 63);
        }
    }

    /// <summary>Counts one person: their active days (bit i = <see cref="DataFrom"/> + i) and whether the first of them is their first-ever.</summary>
    public void Add(ReadOnlySpan<ulong> activeDays, bool isNew)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(activeDays.Length, BitmapLength);
        Array.Clear(weekBits);
        var first = -1;
        for (var w = 0; w < activeDays.Length && w < Words(days); w++)
        {
            var word = activeDays[w];
            while (word != 0)
            {
                var c = (w << 6) + BitOperations.TrailingZeroCount(word);
                word &= word - 1;
                if (c >= days)
                {
                    break;
                }

                if (first < 0)
                {
                    first = c;
                }

                weekBits[(c / 7) >> 6] |= 1UL << ((c / 7) & 63);
                if (c < firstDayCohort)
                {
                    continue;
                }

                var row = (c - firstDayCohort) * DayWidth;
                var last = Math.Min(DayWidth - 1, days - 1 - c);
                var firstTime = isNew && c == first;
                for (var k = 0; k <= last; k++)
                {
                    if (IsSet(activeDays, c + k))
                    {
                        recurringDays[row + k]++;
                        if (firstTime)
                        {
                            firstTimeDays[row + k]++;
                        }
                    }
                }
            }
        }

        var firstWeek = first < 0 ? -1 : first / 7;
        for (var w = 0; w < weeks; w++)
        {
            if (!IsSet(weekBits, w))
            {
                continue;
            }

            var row = w * WeekWidth;
            var last = Math.Min(WeekWidth - 1, weeks - 1 - w);
            var firstTime = isNew && w == firstWeek;
            for (var k = 0; k <= last; k++)
            {
                if (IsSet(weekBits, w + k))
                {
                    recurringWeeks[row + k]++;
                    if (firstTime)
                    {
                        firstTimeWeeks[row + k]++;
                    }
                }
            }
        }
    }

    /// <summary>
    /// The rows: for every cohort with at least one person, one row per offset whose period has started by <see cref="To"/>
    /// (zeros included), ordered by type, period, cohort start and offset.
    /// </summary>
    public List<RetentionRow> Rows()
    {
        var rows = new List<RetentionRow>();
        Emit(rows, Retention.FirstTime, Retention.Day, firstTimeDays);
        Emit(rows, Retention.FirstTime, Retention.Week, firstTimeWeeks);
        Emit(rows, Retention.Recurring, Retention.Day, recurringDays);
        Emit(rows, Retention.Recurring, Retention.Week, recurringWeeks);
        return rows;
    }

    private void Emit(List<RetentionRow> rows, string type, string period, long[] counts)
    {
        var width = Retention.MaxOffset(period) + 1;
        var firstCohort = period == Retention.Week ? DataFrom : DataFrom.AddDays(firstDayCohort);
        for (var cohort = 0; cohort * width < counts.Length; cohort++)
        {
            if (counts[cohort * width] == 0)
            {
                continue;
            }

            var start = Retention.OffsetStart(period, firstCohort, cohort);
            for (var k = 0; k < width && Retention.OffsetStart(period, start, k) <= To; k++)
            {
                rows.Add(new RetentionRow(type, period, start, k, counts[(cohort * width) + k]));
            }
        }
    }

    private static int Words(int bits) => (bits + 63) >> 6;

    private static bool IsSet(ReadOnlySpan<ulong> bits, int i) => (bits[i >> 6] & (1UL << (i & 63))) != 0;
}
