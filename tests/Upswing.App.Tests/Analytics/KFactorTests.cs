using Upswing.Analytics;

namespace Upswing.App.Tests.Analytics;

public sealed class KFactorTests
{
    private static readonly DateOnly Day = new(2026, 11, 10);
    private static readonly DateTimeOffset Noon = RollupWindow.StartOf(Day).AddHours(12);

    private static InviteEvent Sent(string person, string invite, DateTimeOffset at, string? loop = "buddy_challenge") => new(person, KFactor.Sent, at, loop, invite);

    private static InviteEvent Opened(string person, string invite, DateTimeOffset at) => new(person, KFactor.Opened, at, "buddy_challenge", invite);

    private static InviteEvent Joined(string person, string? invite, DateTimeOffset at) => new(person, KFactor.Joined, at, "buddy_challenge", invite);

    private static InviteEvent Fvm(string person, DateTimeOffset at) => new(person, KFactor.FirstValue, at, "buddy_challenge", null);

    [Fact]
    public void Compute_CountsInvitersInvitesOpensJoinsAndFirstValues_PerLoopAndCohortDay()
    {
        List<InviteEvent> events =
        [
            Sent("alice", "i1", Noon), Sent("alice", "i2", Noon.AddHours(1)), Sent("bob", "i3", Noon.AddHours(2)),
            Sent("carol", "i4", Noon, "results_rally"),
            Opened("anon-1", "i1", Noon.AddMinutes(5)), Opened("anon-2", "i1", Noon.AddMinutes(6)), Opened("anon-3", "i3", Noon.AddHours(3)),
            Joined("dan", "i1", Noon.AddHours(1)), Joined("eve", "i1", Noon.AddHours(2)), Joined("fay", "i3", Noon.AddDays(1)),
            Fvm("dan", Noon.AddDays(2)), Fvm("fay", Noon.AddDays(9)),
        ];

        var rows = KFactor.Compute(events, Day, Day);

        Assert.Equal(
            [new KFactorRow("buddy_challenge", Day, 2, 3, 2, 3, 1), new KFactorRow("results_rally", Day, 1, 1, 0, 0, 0)],
            rows);
    }

    [Fact]
    public void Compute_AttributesExactlySevenDaysAfterTheSend_ButNotASecondLater()
    {
        var window = TimeSpan.FromDays(KFactorRollups.AttributionDays);
        List<InviteEvent> events =
        [
            Sent("alice", "i1", Noon),
            Opened("anon", "i1", Noon + window + TimeSpan.FromSeconds(1)),
            Joined("dan", "i1", Noon + window), Fvm("dan", Noon + window + TimeSpan.FromSeconds(1)),
            Joined("eve", "i1", Noon + window + TimeSpan.FromSeconds(1)),
        ];

        Assert.Equal([new KFactorRow("buddy_challenge", Day, 1, 1, 0, 1, 0)], KFactor.Compute(events, Day, Day));
    }

    [Fact]
    public void Compute_CountsOnlyAPersonsFirstJoin_IgnoresSelfInvites_AndDatesAnInviteByItsEarliestSend()
    {
        List<InviteEvent> events =
        [
            Sent("alice", "i1", Noon), Sent("bob", "i2", Noon.AddDays(1)),
            Sent("bob", "i1", Noon.AddDays(1)),                    // a re-send: i1 stays in alice's cohort of Day
            Joined("dan", "i2", Noon.AddDays(1).AddHours(1)),      // dan's first join: counts for i2
            Joined("dan", "i1", Noon.AddDays(1).AddHours(2)),      // his second: does not count
            Joined("alice", "i1", Noon.AddHours(1)),               // alice through her own invite: ignored
            Joined("alice", "i2", Noon.AddDays(1).AddHours(3)),    // so her first join is through bob's invite
            Joined("eve", null, Noon.AddHours(1)),                 // no inviteId: ignored
            Joined("eve", "i1", Noon.AddHours(2)),
        ];

        Assert.Equal(
            [new KFactorRow("buddy_challenge", Day, 1, 1, 0, 1, 0), new KFactorRow("buddy_challenge", Day.AddDays(1), 1, 1, 0, 2, 0)],
            KFactor.Compute(events, Day, Day.AddDays(1)));
    }

    [Fact]
    public void Compute_LeavesOutCohortsOutsideTheDays_EvenWhenTheyAreEarlierSendsOfTheSameInvite_AndSendsWithoutALoop()
    {
        List<InviteEvent> events =
        [
            Sent("alice", "i1", Noon.AddDays(-1)), Sent("alice", "i1", Noon),      // i1 belongs to the day before
            Sent("bob", "i2", Noon, loop: null),                                   // no loop: not an invite
            Sent("bob", "i3", Noon, loop: new string('x', KFactor.MaxLoopLength + 1)),
            Joined("dan", "i1", Noon.AddHours(1)), Joined("eve", "i2", Noon.AddHours(1)),
        ];

        Assert.Empty(KFactor.Compute(events, Day, Day));
        Assert.Equal([new KFactorRow("buddy_challenge", Day.AddDays(-1), 1, 1, 0, 1, 0)], KFactor.Compute(events, Day.AddDays(-1), Day));
    }

    [Fact]
    public void Compute_DoesNotDependOnTheEventsOrder()
    {
        var random = new Random(3);
        var events = Enumerable.Range(0, 200).Select(i => (i % 4) switch
        {
            0 => Sent($"p{i % 7}", $"i{i % 13}", Noon.AddHours(i % 30)),
            1 => Opened($"a{i}", $"i{i % 13}", Noon.AddHours(i % 50)),
            2 => Joined($"n{i % 17}", $"i{i % 13}", Noon.AddHours(i % 200)),
            _ => Fvm($"n{i % 17}", Noon.AddHours(i % 100)),
        }).ToList();

        var expected = KFactor.Compute(events, Day, Day.AddDays(2));
        Assert.NotEmpty(expected);
        Assert.Equal(expected, KFactor.Compute(events.OrderBy(_ => random.Next()).ToList(), Day, Day.AddDays(2)));
    }

    [Fact]
    public void Parse_ReadsLoopAndInviteIdStrings_AndNothingElse()
    {
        var at = Noon;
        Assert.Equal(new InviteEvent("p", KFactor.Sent, at, "proud_parent", "x1"),
            KFactor.Parse(new Upswing.Events.RawTrackEvent("p", KFactor.Sent, at, """{"loop":"proud_parent","inviteId":"x1","other":1}""")));
        Assert.Equal(new InviteEvent("p", KFactor.Sent, at, null, null),
            KFactor.Parse(new Upswing.Events.RawTrackEvent("p", KFactor.Sent, at, """{"loop":7,"inviteId":""}""")));
        Assert.Equal(new InviteEvent("p", KFactor.Sent, at, null, null), KFactor.Parse(new Upswing.Events.RawTrackEvent("p", KFactor.Sent, at, null)));
    }

    [Fact]
    public void Report_SumsTheDailyRowsPerLoop_AndDividesForEveryRate()
    {
        var filter = new KFactorFilter(Day, Day.AddDays(1), null);
        var report = KFactorQuery.Build(filter,
        [
            new KFactorRow("b", Day, 2, 5, 4, 3, 1), new KFactorRow("a", Day, 0, 0, 0, 0, 0), new KFactorRow("b", Day.AddDays(1), 3, 4, 2, 3, 3),
        ]);

        Assert.Equal(["a", "b"], report.Loops.Select(l => l.Loop));
        Assert.Equal([("a", Day), ("b", Day), ("b", Day.AddDays(1))], report.Cohorts.Select(c => (c.Loop, c.CohortDay)));
        var a = report.Loops[0];
        Assert.Null(a.K);
        Assert.Null(a.InvitesPerInviter);
        Assert.Null(a.FirstValueRate);
        var b = report.Loops[1];
        Assert.Equal((5L, 9L, 6L, 6L, 4L), (b.Inviters, b.InvitesSent, b.Opened, b.Joined, b.ReachedFirstValue));
        Assert.Equal(9.0 / 5, b.InvitesPerInviter);
        Assert.Equal(6.0 / 9, b.OpenRate);
        Assert.Equal(6.0 / 9, b.JoinRate);
        Assert.Equal(4.0 / 6, b.FirstValueRate);
        Assert.Equal(6.0 / 5, b.K);
        Assert.Equal(b.InvitesPerInviter!.Value * b.JoinRate!.Value, b.K!.Value, 1e-12);
        Assert.Equal(1.5, report.Cohorts[1].K);
        Assert.Equal(2.5, report.Cohorts[1].InvitesPerInviter);
        Assert.Equal(0.6, report.Cohorts[1].JoinRate);
    }

    [Fact]
    public void Filter_DefaultsToTheLast30Days_AndRejectsEachBadField()
    {
        Assert.Equal(new KFactorFilter(Day.AddDays(-29), Day, null), ParseValid(null, null, null));
        var failure = KFactorFilter.Parse("2026-02-30", "2026-11-10", new string('x', KFactor.MaxLoopLength + 1), Day).Failure!;
        Assert.Equal(["from", "loop"], failure.Errors!.Keys.Order(StringComparer.Ordinal));
        Assert.NotNull(KFactorFilter.Parse("2026-11-11", "2026-11-10", null, Day).Failure);
        Assert.NotNull(KFactorFilter.Parse("2025-01-01", "2026-11-10", null, Day).Failure);
        Assert.NotNull(KFactorFilter.Parse(null, null, "", Day).Failure);
    }

    private static KFactorFilter ParseValid(string? from, string? to, string? loop) => KFactorFilter.Parse(from, to, loop, Day).Value!;
}
