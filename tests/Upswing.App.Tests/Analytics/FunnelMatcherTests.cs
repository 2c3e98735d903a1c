using System.Text.Json;
using Upswing.Analytics;

namespace Upswing.App.Tests.Analytics;

public sealed class FunnelMatcherTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 10, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateOnly Day = new(2026, 11, 10);

    [Fact]
    public void Match_TakesTheStepsInOrder_AStepBeforeThePreviousOneDoesNotCount()
    {
        var funnel = Funnel(24, null, "A", "B", "C");
        // C happens before B: only A → B counts.
        var entries = FunnelMatcher.Match(funnel, [E("A", T), E("C", T.AddMinutes(1)), E("B", T.AddMinutes(2))], Day, Day);

        var entry = Assert.Single(entries);
        Assert.Equal([0.0, 120.0], entry.SecondsToStep);
    }

    [Fact]
    public void Match_IgnoresArrivalOrder_OnlyTimestampsCount()
    {
        var funnel = Funnel(24, null, "A", "B", "C");
        List<CalculatorEvent> events = [E("C", T.AddMinutes(3)), E("B", T.AddMinutes(2)), E("A", T.AddMinutes(1)), E("A", T)];

        var forward = FunnelMatcher.Match(funnel, events, Day, Day);
        events.Reverse();
        var backward = FunnelMatcher.Match(funnel, events, Day, Day);

        var entry = Assert.Single(forward);
        Assert.Equal([0.0, 120.0, 180.0], entry.SecondsToStep);
        Assert.Equal(entry.SecondsToStep, Assert.Single(backward).SecondsToStep);
    }

    [Fact]
    public void Match_CountsAStepExactlyAtTheWindowsEnd_ButNotOneSecondLater()
    {
        var funnel = Funnel(2, null, "A", "B");
        var atEnd = FunnelMatcher.Match(funnel, [E("A", T), E("B", T.AddHours(2))], Day, Day);
        var late = FunnelMatcher.Match(funnel, [E("A", T), E("B", T.AddHours(2).AddSeconds(1))], Day, Day);

        Assert.Equal(2, Assert.Single(atEnd).SecondsToStep.Count);
        Assert.Single(Assert.Single(late).SecondsToStep);
    }

    [Fact]
    public void Match_EntersOncePerUtcDay_AtTheFirstFirstStepEvent()
    {
        var funnel = Funnel(24, null, "A", "B");
        var before = new DateTimeOffset(2026, 11, 10, 23, 59, 0, TimeSpan.Zero);
        var entries = FunnelMatcher.Match(funnel, [E("A", before.AddHours(-1)), E("A", before), E("A", before.AddMinutes(2)), E("B", before.AddMinutes(3))], Day, Day.AddDays(1));

        Assert.Equal([Day, Day.AddDays(1)], entries.Select(e => e.Day));
        Assert.Equal([0.0, 3780.0], entries[0].SecondsToStep);
        Assert.Equal([0.0, 60.0], entries[1].SecondsToStep);
        Assert.Empty(FunnelMatcher.Match(funnel, [E("A", before)], Day.AddDays(1), Day.AddDays(1)));
    }

    [Fact]
    public void Match_AppliesStepFilters_AndAnEventMatchesOnlyOneStep()
    {
        var filter = new MetricFilter("plan", MetricFilterOperator.Eq, JsonDocument.Parse("\"pro\"").RootElement);
        var funnel = Funnel(24, null, "View", "View") with { Steps = [new FunnelStep("View", []), new FunnelStep("View", [filter])] };

        var single = FunnelMatcher.Match(funnel, [E("View", T, """{"plan":"pro"}""")], Day, Day);
        var both = FunnelMatcher.Match(funnel, [E("View", T), E("View", T.AddMinutes(1), """{"plan":"free"}"""), E("View", T.AddMinutes(2), """{"plan":"pro"}""")], Day, Day);

        Assert.Single(Assert.Single(single).SecondsToStep);
        Assert.Equal([0.0, 120.0], Assert.Single(both).SecondsToStep);
    }

    [Theory]
    [InlineData("""{"plan":"pro"}""", "pro")]
    [InlineData("""{"plan":2.5}""", "2.5")]
    [InlineData("""{"plan":10}""", "10")]
    [InlineData("""{"plan":true}""", "true")]
    [InlineData("""{"plan":null}""", "")]
    [InlineData("""{}""", "")]
    public void Match_TakesTheBreakdownFromTheEntryEvent(string properties, string expected) =>
        Assert.Equal(expected, Assert.Single(FunnelMatcher.Match(Funnel(24, "plan", "A", "B"), [E("A", T, properties), E("B", T, """{"plan":"other"}""")], Day, Day)).Breakdown);

    [Fact]
    public void Rows_WriteEveryStep_AndMergeValuesBeyondTheFiftyMostFrequentIntoOther()
    {
        var funnel = Funnel(24, "v", "A", "B");
        var entries = new List<FunnelEntry>();
        for (var v = 0; v < 52; v++)
        {
            // v00 and v01 have one entry each, the 50 others two: v00 and v01 are merged into (other).
            var count = v < 2 ? 1 : 2;
            for (var i = 0; i < count; i++)
            {
                entries.Add(new FunnelEntry(Day, $"v{v:D2}", i == 0 ? [0, 10] : [0]));
            }
        }

        var rows = FunnelMatcher.Rows(funnel, entries);

        Assert.Equal(51 * 2, rows.Count);
        var other = rows.Where(r => r.Breakdown == FunnelMatcher.Other).ToList();
        Assert.Equal([2L, 2L], other.Select(r => r.Persons));
        Assert.Equal(20.0, other[1].SecondsToStepSum);
        Assert.DoesNotContain(rows, r => r.Breakdown is "v00" or "v01");
        Assert.Equal([2L, 1L], rows.Where(r => r.Breakdown == "v02").Select(r => r.Persons));
    }

    private static FunnelDto Funnel(int hours, string? breakdown, params string[] steps) =>
        new(Guid.Empty, "f", "F", null, [.. steps.Select(s => new FunnelStep(s, []))], hours, breakdown, 1, T, T);

    private static CalculatorEvent E(string name, DateTimeOffset at, string? properties = null) => new(name, at, properties);
}
