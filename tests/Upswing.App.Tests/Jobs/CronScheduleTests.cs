using Upswing.Jobs;

namespace Upswing.App.Tests.Jobs;

public sealed class CronScheduleTests
{
    private static readonly DateTimeOffset Wednesday = new(2026, 12, 2, 10, 15, 30, TimeSpan.Zero);

    [Theory]
    [InlineData("*/5 * * * *", "2026-12-02T10:20:00Z")]
    [InlineData("0 0 * * 0", "2026-12-06T00:00:00Z")]
    [InlineData("0 0 * * 7", "2026-12-06T00:00:00Z")]
    [InlineData("30 9 * * 1-5", "2026-12-03T09:30:00Z")]
    [InlineData("0 */10 * * * ?", "2026-12-02T10:20:00Z")]
    [InlineData("15 * * * * ?", "2026-12-02T10:16:15Z")]
    public void Next_FollowsClassicAndQuartzSyntax(string cron, string expected)
    {
        var schedule = CronSchedule.Parse(cron);

        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), schedule.Next(Wednesday));
    }

    [Fact]
    public void Next_InANamedZone_FollowsItsDaylightSavingChanges()
    {
        // 02:30 every day in Berlin: 01:30 UTC in winter, 00:30 UTC in summer; on 29 March 2026 02:30 does not exist.
        var schedule = CronSchedule.Parse("30 2 * * *", "Europe/Berlin");

        Assert.Equal(new DateTimeOffset(2026, 3, 28, 1, 30, 0, TimeSpan.Zero), schedule.Next(new DateTimeOffset(2026, 3, 28, 0, 0, 0, TimeSpan.Zero)));
        var afterGap = schedule.Next(new DateTimeOffset(2026, 3, 28, 2, 0, 0, TimeSpan.Zero))!.Value;
        Assert.NotEqual(new DateTimeOffset(2026, 3, 29, 1, 30, 0, TimeSpan.Zero), afterGap);
        Assert.Equal(new DateTimeOffset(2026, 3, 30, 0, 30, 0, TimeSpan.Zero), schedule.Next(new DateTimeOffset(2026, 3, 29, 12, 0, 0, TimeSpan.Zero)));
    }

    [Theory]
    [InlineData("", null, "empty")]
    [InlineData("* * *", null, "5 fields")]
    [InlineData("61 * * * *", null, "Invalid cron")]
    [InlineData("0 0 * * *", "Mars/Olympus", "Unknown time zone")]
    public void TryParse_Invalid_SaysWhy(string cron, string? zone, string reason)
    {
        Assert.False(CronSchedule.TryParse(cron, zone, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void DueTicks_ALateWakeUp_EnqueuesEveryMissedTick_UpToTheCap()
    {
        var everySecond = CronSchedule.Parse("* * * * * ?");
        var scheduled = Wednesday;

        Assert.Empty(JobMaintenance.DueTicks(everySecond, scheduled, Wednesday.AddMilliseconds(-1)));
        Assert.Equal([Wednesday, Wednesday.AddSeconds(1), Wednesday.AddSeconds(2)], JobMaintenance.DueTicks(everySecond, scheduled, Wednesday.AddSeconds(2.5)));
        var long_ = JobMaintenance.DueTicks(everySecond, scheduled, Wednesday.AddMinutes(5));
        Assert.Equal(JobMaintenance.MaxCatchUp, long_.Count);
        Assert.Equal(Wednesday.AddMinutes(5), long_[^1]);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 16)]
    [InlineData(3, 81)]
    [InlineData(10, 10_000)]
    public void DefaultBackoff_IsAttemptToTheFourth_WithinTenPercent(int attempt, double seconds)
    {
        Assert.Equal(seconds * 0.9, JobKinds.DefaultBackoff(attempt, 0).TotalSeconds, 6);
        Assert.Equal(seconds * 1.1, JobKinds.DefaultBackoff(attempt, 1).TotalSeconds, 6);
        Assert.Equal(seconds, JobKinds.DefaultBackoff(attempt, 0.5).TotalSeconds, 6);
    }

    [Fact]
    public void Percentile_TakesTheNearestRank()
    {
        var sorted = Enumerable.Range(1, 100).Select(i => (double)i).ToList();

        Assert.Equal(50, JobAdmin.Percentile(sorted, 0.5));
        Assert.Equal(99, JobAdmin.Percentile(sorted, 0.99));
        Assert.Null(JobAdmin.Percentile([], 0.99));
    }
}
