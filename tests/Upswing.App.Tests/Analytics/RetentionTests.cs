using System.Globalization;
using Upswing.Analytics;

namespace Upswing.App.Tests.Analytics;

public sealed class RetentionTests
{
    private static readonly DateOnly Today = new(2026, 12, 2); // a Wednesday

    [Theory]
    [InlineData("2026-11-30", "2026-11-30")] // Monday
    [InlineData("2026-12-06", "2026-11-30")] // Sunday: still the week before the next Monday
    [InlineData("2026-12-07", "2026-12-07")]
    [InlineData("2027-01-01", "2026-12-28")] // ISO week 53 of 2026 crosses the year
    public void WeekStart_IsTheIsoWeeksMonday(string day, string monday)
    {
        Assert.Equal(DateOnly.Parse(monday, CultureInfo.InvariantCulture), Retention.WeekStart(DateOnly.Parse(day, CultureInfo.InvariantCulture)));
        Assert.Equal(DateOnly.Parse(monday, CultureInfo.InvariantCulture), IsoMonday(DateOnly.Parse(day, CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void FirstAffectedCohort_ReachesBackTheLargestOffset()
    {
        Assert.Equal(Today.AddDays(-30), Retention.FirstAffectedCohort(Retention.Day, Today));
        Assert.Equal(new DateOnly(2026, 11, 30).AddDays(-84), Retention.FirstAffectedCohort(Retention.Week, Today));
        Assert.Equal(DayOfWeek.Monday, Retention.DataFrom(Today).DayOfWeek);
    }

    [Fact]
    public void Counter_ByHand_OnePersonInSeveralRecurringCohorts_AndOneFirstTimeCohort()
    {
        // Active Mon 16 Nov, Tue 17 Nov and Mon 23 Nov (a new person: nothing before).
        var counter = new RetentionCounter(new DateOnly(2026, 11, 20), Today);
        var bitmap = new ulong[counter.BitmapLength];
        foreach (var day in new[] { new DateOnly(2026, 11, 16), new DateOnly(2026, 11, 17), new DateOnly(2026, 11, 23) })
        {
            counter.Set(bitmap, day);
        }

        counter.Add(bitmap, isNew: true);
        var rows = counter.Rows();
        long Cell(string type, string period, DateOnly start, int k) => rows.Single(r => r.Type == type && r.Period == period && r.CohortStart == start && r.Offset == k).Persons;

        var nov16 = new DateOnly(2026, 11, 16);
        Assert.Equal(1, Cell(Retention.FirstTime, Retention.Day, nov16, 0));
        Assert.Equal(1, Cell(Retention.FirstTime, Retention.Day, nov16, 1));
        Assert.Equal(0, Cell(Retention.FirstTime, Retention.Day, nov16, 2));
        Assert.Equal(1, Cell(Retention.FirstTime, Retention.Day, nov16, 7));
        Assert.Equal(17, rows.Count(r => r.Type == Retention.FirstTime && r.Period == Retention.Day)); // 16 Nov … 2 Dec: offsets 0…16
        Assert.DoesNotContain(rows, r => r.Type == Retention.FirstTime && r.CohortStart == new DateOnly(2026, 11, 17));
        // Recurring: three day cohorts, two week cohorts.
        Assert.Equal([nov16, new DateOnly(2026, 11, 17), new DateOnly(2026, 11, 23)],
            rows.Where(r => r.Type == Retention.Recurring && r.Period == Retention.Day && r.Offset == 0).Select(r => r.CohortStart));
        Assert.Equal(1, Cell(Retention.Recurring, Retention.Day, new DateOnly(2026, 11, 17), 6));
        Assert.Equal(1, Cell(Retention.Recurring, Retention.Week, nov16, 0));
        Assert.Equal(1, Cell(Retention.Recurring, Retention.Week, nov16, 1));
        Assert.Equal(0, Cell(Retention.Recurring, Retention.Week, nov16, 2));
        Assert.Equal(1, Cell(Retention.Recurring, Retention.Week, new DateOnly(2026, 11, 23), 0));
        // The week of 30 Nov has started by 2 Dec; the week of 7 Dec has not.
        Assert.Equal(3, rows.Count(r => r.Type == Retention.FirstTime && r.Period == Retention.Week));
    }

    [Fact]
    public void Counter_APersonActiveBeforeTheRange_IsInNoFirstTimeCohort_ButInRecurringOnes()
    {
        var counter = new RetentionCounter(Today, Today);
        var bitmap = new ulong[counter.BitmapLength];
        counter.Set(bitmap, Today);
        counter.Add(bitmap, isNew: false);
        var rows = counter.Rows();
        Assert.DoesNotContain(rows, r => r.Type == Retention.FirstTime);
        Assert.Equal([(Retention.Recurring, Retention.Day, Today, 0, 1L), (Retention.Recurring, Retention.Week, new DateOnly(2026, 11, 30), 0, 1L)],
            rows.Select(r => (r.Type, r.Period, r.CohortStart, r.Offset, r.Persons)));
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 3)]
    [InlineData(3, 40)]
    [InlineData(4, 100)]
    public void Counter_EqualsAStraightforwardCohortCount(int seed, int windowDays)
    {
        var random = new Random(seed);
        var from = Today.AddDays(-windowDays);
        var persons = new List<HashSet<DateOnly>>();
        for (var p = 0; p < 200; p++)
        {
            var days = new HashSet<DateOnly>();
            var start = Today.AddDays(-random.Next(0, windowDays + 150));
            for (var n = random.Next(1, 12); n > 0; n--)
            {
                var day = start.AddDays(random.Next(0, 40));
                if (day <= Today)
                {
                    days.Add(day);
                }
            }

            if (days.Count > 0)
            {
                persons.Add(days);
            }
        }

        var counter = new RetentionCounter(from, Today);
        foreach (var days in persons)
        {
            var bitmap = new ulong[counter.BitmapLength];
            foreach (var day in days)
            {
                counter.Set(bitmap, day);
            }

            counter.Add(bitmap, isNew: days.Min() >= counter.DataFrom);
        }

        Assert.Equal(Expected(persons, from, Today), counter.Rows().Select(r => (r.Type, r.Period, r.CohortStart, r.Offset, r.Persons)).ToList());
    }

    /// <summary>Every cohort from 30 days (12 ISO weeks) before the window's first day to its last, counted person by person.</summary>
    private static List<(string, string, DateOnly, int, long)> Expected(List<HashSet<DateOnly>> persons, DateOnly from, DateOnly to)
    {
        var rows = new List<(string, string, DateOnly, int, long)>();
        foreach (var type in new[] { "first_time", "recurring" })
        {
            foreach (var (period, max, firstCohort) in new[] { ("day", 30, from.AddDays(-30)), ("week", 12, IsoMonday(from).AddDays(-84)) })
            {
                DateOnly PeriodOf(DateOnly d) => period == "day" ? d : IsoMonday(d);
                var length = period == "day" ? 1 : 7;
                var cohorts = new SortedDictionary<DateOnly, List<HashSet<DateOnly>>>();
                foreach (var days in persons)
                {
                    var periods = days.Select(PeriodOf).ToHashSet();
                    var starts = type == "first_time" ? [PeriodOf(days.Min())] : periods.ToList();
                    foreach (var start in starts.Where(s => s >= firstCohort && s <= to))
                    {
                        if (!cohorts.TryGetValue(start, out var members))
                        {
                            cohorts[start] = members = [];
                        }

                        members.Add(periods);
                    }
                }

                foreach (var (start, members) in cohorts)
                {
                    for (var k = 0; k <= max && start.AddDays(k * length) <= to; k++)
                    {
                        rows.Add((type, period, start, k, members.Count(m => m.Contains(start.AddDays(k * length)))));
                    }
                }
            }
        }

        return rows;
    }

    private static DateOnly IsoMonday(DateOnly day)
    {
        var at = day.ToDateTime(TimeOnly.MinValue);
        return DateOnly.FromDateTime(ISOWeek.ToDateTime(ISOWeek.GetYear(at), ISOWeek.GetWeekOfYear(at), DayOfWeek.Monday));
    }

    [Fact]
    public void Query_ShowsOnlyReachedOffsets_AndAveragesOverTheCohortsThatReachedThem()
    {
        var filter = new RetentionFilter(Retention.FirstTime, Retention.Day, Today.AddDays(-2), Today);
        RetentionRow Row(int daysAgo, int k, long persons) => new(Retention.FirstTime, Retention.Day, Today.AddDays(-daysAgo), k, persons);
        // A stale row for tomorrow (offset 2 of yesterday's cohort) must not show as reached.
        var dto = RetentionQuery.Build(filter, [Row(2, 0, 10), Row(2, 1, 4), Row(2, 2, 1), Row(1, 0, 30), Row(1, 1, 6), Row(1, 2, 0), Row(0, 0, 5)], Today);

        Assert.Equal([10L, 30, 5], dto.Cohorts.Select(c => c.Size));
        Assert.Equal([0, 1], dto.Cohorts[1].Values.Select(v => v.Offset));
        Assert.Equal(0.4, dto.Cohorts[0].Values[1].Rate, 1e-12);
        Assert.Equal([(0, 45L, 45L), (1, 10L, 40L), (2, 1L, 10L)], dto.Average.Select(a => (a.Offset, a.Persons, a.CohortSize)));
        Assert.Equal(10.0 / 40, dto.Average[1].Rate, 1e-12);
        Assert.Equal(6, RetentionQuery.CsvRows(dto).Count());
    }

    [Fact]
    public void Filter_Defaults_SnapsWeeks_AndNamesEachInvalidField()
    {
        var days = RetentionFilter.Parse(null, null, null, null, Today).Value!;
        Assert.Equal((Retention.FirstTime, Retention.Day, Today.AddDays(-29), Today), (days.Type, days.Period, days.From, days.To));
        var weeks = RetentionFilter.Parse("recurring", "week", null, null, Today).Value!;
        Assert.Equal((new DateOnly(2026, 11, 30).AddDays(-77), new DateOnly(2026, 11, 30)), (weeks.From, weeks.To));
        var snapped = RetentionFilter.Parse(null, "week", "2026-11-08", "2026-11-22", Today).Value!;
        Assert.Equal((new DateOnly(2026, 11, 2), new DateOnly(2026, 11, 16)), (snapped.From, snapped.To));

        var invalid = RetentionFilter.Parse("monthly", "year", "2026-02-30", "x", Today);
        Assert.False(invalid.Succeeded);
        Assert.Equal(["from", "period", "to", "type"], invalid.Failure!.Errors!.Keys.Order(StringComparer.Ordinal));
        Assert.True(RetentionFilter.Parse(null, null, "2026-12-02", "2026-12-01", Today).Failure!.Errors!.ContainsKey("from"));
        Assert.True(RetentionFilter.Parse(null, null, "2025-01-01", "2026-12-01", Today).Failure!.Errors!.ContainsKey("to"));
    }
}
