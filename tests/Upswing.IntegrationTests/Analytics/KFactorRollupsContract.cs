using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Analytics;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Analytics;

/// <summary>
/// The kfactor rollup against a straightforward computation over the invite events the test sent through POST /v1/batch
/// (deduplicated by message id, persons merged by the aliases sent), on SQLite and PostgreSQL: hand-checked edge cases
/// (the attribution boundary, a person's second join, a self-invite, an invitee opened anonymously then identified, a
/// re-sent invite, a UTC midnight, sends without loop or inviteId), a late join in a later batch, duplicate message ids,
/// idempotency over any window, verification; the endpoint as JSON and CSV, its validation, and another workspace's data.
/// </summary>
public abstract class KFactorRollupsContract(ServerFixture fixture)
{
    private const string Rally = "results_rally";
    private const string Buddy = "buddy_challenge";
    private const string Parent = "proud_parent";
    private static readonly DateTimeOffset Today = RollupWindow.StartOf(RollupWindow.DayOf(TimeProvider.System.GetUtcNow()));
    private static readonly DateTimeOffset Base = Today.AddDays(-10);
    private static readonly TimeSpan Window = TimeSpan.FromDays(KFactorRollups.AttributionDays);

    private UpswingTestServer Server => fixture.Server;

    private static DateTimeOffset At(int day) => Base.AddDays(day);

    private static DateOnly Day(int day) => RollupWindow.DayOf(At(day));

    [Fact]
    public async Task KFactorRollup_EqualsAStraightforwardComputation_WithItsEdgeCases_AlsoAfterLateAndDuplicateEvents_AndIsIdempotent()
    {
        var s = await ArrangeAsync();

        var first = await RunAsync(s, null);
        Assert.Equal(RollupRunner.Succeeded, first.Outcome);
        Assert.Equal(Day(0).AddDays(-KFactorRollups.AttributionDays), first.WindowFrom); // from the first event's day, minus the attribution window
        var stored = await ReadAsync(s.Workspace);
        Assert.Equal(Expected(s.Sent), stored);
        // Hand-checked: alice's two invites of day 1 (one at 23:59:59); bob opened anonymously, joined anonymously and reached
        // first value identified; carol joined exactly 7 days after the send (her first value a second late); dave a second
        // late; alice's join through her own invite and erin's second join do not count.
        Assert.Equal(new KFactorRow(Rally, Day(1), 1, 2, 1, 3, 1), stored.Single(r => r.Loop == Rally && r.CohortDay == Day(1)));
        // frank's invite sent at 00:00:00 of day 2 and re-sent on day 3: one invite of day 2, opened, nobody joined yet.
        Assert.Equal(new KFactorRow(Rally, Day(2), 1, 1, 1, 0, 0), stored.Single(r => r.Loop == Rally && r.CohortDay == Day(2)));
        Assert.DoesNotContain(stored, r => r.Loop == Rally && r.CohortDay == Day(3));
        Assert.Contains(stored, r => r.Loop == Buddy);
        Assert.Contains(stored, r => r.Loop == Parent);

        // Late: gina joins through frank's invite, in a batch after the first run; the batch twice, and an early batch again (duplicate message ids).
        List<SentEvent> late = [Track(s.User("gina"), "invite.joined", At(2).AddDays(6), Rally, s.Invite("C"))];
        await s.SendAsync(late);
        await s.SendAsync(late, record: false);
        await s.SendAsync([.. s.Sent.Take(25)], record: false);
        Assert.Contains(await VerifyAsync(s.Workspace, null), d => d.Row.StartsWith($"{Day(2):yyyy-MM-dd} {Rally} (environment ", StringComparison.Ordinal) && d.Column == "joined" && d.Computed == "1");

        var second = await RunAsync(s, null);
        Assert.Equal(RollupWindow.DayOf(Today).AddDays(-3 - KFactorRollups.AttributionDays), second.WindowFrom); // the re-run window reaches back one attribution window
        var after = await ReadAsync(s.Workspace);
        Assert.Equal(Expected(s.Sent), after);
        Assert.Equal(1, after.Single(r => r.Loop == Rally && r.CohortDay == Day(2)).Joined);
        Assert.Empty(await VerifyAsync(s.Workspace, null));

        // Any window gives identical rows.
        await RunAsync(s, 2);
        Assert.Equal(after, await ReadAsync(s.Workspace));
        await RunAsync(s, 30);
        Assert.Equal(after, await ReadAsync(s.Workspace));
        await RunAsync(s, null);
        Assert.Equal(after, await ReadAsync(s.Workspace));
        Assert.Empty(await VerifyAsync(s.Workspace, 30));

        // Verification reports a tampered row.
        await Server.WithServicesAsync(async sp =>
        {
            var rollups = sp.GetRequiredService<KFactorRollups>();
            var dayOne = (await rollups.ReadBucketsAsync(s.Workspace, Day(1), Day(1), default)).Select(r => r.Loop == Rally ? r with { Joined = 99 } : r).ToList();
            await rollups.ReplaceAsync(s.Workspace, Day(1), Day(1), dayOne, TimeProvider.System.GetUtcNow(), default);
            return 0;
        });
        var difference = Assert.Single(await VerifyAsync(s.Workspace, 30));
        Assert.StartsWith($"{Day(1):yyyy-MM-dd} {Rally} (environment ", difference.Row, StringComparison.Ordinal);
        Assert.Equal(("joined", "99", "3"), (difference.Column, difference.Stored, difference.Computed));
    }

    [Fact]
    public async Task KFactorEndpoint_AnswersLoopsAndCohortsFromTheRollup_AsJsonAndCsv_ValidatesTheQuery_AndShowsOnlyTheCallersWorkspace()
    {
        var s = await ArrangeAsync();
        // Another workspace: the same invite id as one of the first's, another loop, and a join through an invite only the first one sent.
        var other = await Server.CreateWorkspaceAsync();
        var o = new Scenario(other.Workspace.Id, Server.NewClient(other.ClientKey), s.Tag);
        await o.SendAsync(
        [
            Track(o.User("tina"), "invite.sent", At(1).AddHours(9), "tutor_spotlight", s.Invite("C")),
            Track(o.User("tom"), "invite.joined", At(1).AddHours(10), "tutor_spotlight", s.Invite("C")),
            Track(o.User("ugo"), "invite.joined", At(1).AddHours(11), Rally, s.Invite("A")),
        ]);
        await RunAsync(s, null);
        await RunAsync(o, null);
        var stored = await ReadAsync(s.Workspace);
        Assert.Equal(Expected(s.Sent), stored);
        Assert.Equal([new KFactorRow("tutor_spotlight", Day(1), 1, 1, 0, 1, 0)], await ReadAsync(o.Workspace));

        var api = Server.NewClient(s.SecretKey);
        var (from, to) = (Text(Day(0)), Text(RollupWindow.DayOf(Today)));
        var report = await (await api.GetAsync($"/api/v1/analytics/kfactor?from={from}&to={to}")).ReadOkAsync();
        Assert.Equal((from, to), (report.Str("from"), report.Str("to")));
        var cohorts = report["cohorts"]!.AsArray();
        var expectedCohorts = stored.OrderBy(r => r.Loop, StringComparer.Ordinal).ThenBy(r => r.CohortDay).ToList();
        Assert.Equal(expectedCohorts.Count, cohorts.Count);
        foreach (var (item, row) in cohorts.Zip(expectedCohorts))
        {
            var node = item!;
            Assert.Equal((row.Loop, Text(row.CohortDay)), (node.Str("loop"), node.Str("cohortDay")));
            Assert.Equal(
                (row.Inviters, row.InvitesSent, row.Opened, row.Joined, row.ReachedFirstValue),
                (Long(node, "inviters"), Long(node, "invitesSent"), Long(node, "opened"), Long(node, "joined"), Long(node, "reachedFirstValue")));
            Assert.Equal((double)row.Joined / row.Inviters, node["k"]!.GetValue<double>(), 1e-12);
            Assert.Equal((double)row.InvitesSent / row.Inviters, node["invitesPerInviter"]!.GetValue<double>(), 1e-12);
            Assert.Equal((double)row.Joined / row.InvitesSent, node["joinRate"]!.GetValue<double>(), 1e-12);
        }

        var loops = report["loops"]!.AsArray();
        Assert.Equal([Buddy, Parent, Rally], loops.Select(l => l!.Str("loop")));
        foreach (var item in loops)
        {
            var loop = item!;
            var rows = stored.Where(r => r.Loop == loop.Str("loop")).ToList();
            var (inviters, sent, opened, joined, fvm) = (rows.Sum(r => r.Inviters), rows.Sum(r => r.InvitesSent), rows.Sum(r => r.Opened), rows.Sum(r => r.Joined), rows.Sum(r => r.ReachedFirstValue));
            Assert.Equal((inviters, sent, opened, joined, fvm),
                (Long(loop, "inviters"), Long(loop, "invitesSent"), Long(loop, "opened"), Long(loop, "joined"), Long(loop, "reachedFirstValue")));
            Assert.Equal((double)joined / inviters, loop["k"]!.GetValue<double>(), 1e-12);
            Assert.Equal((double)sent / inviters, loop["invitesPerInviter"]!.GetValue<double>(), 1e-12);
            Assert.Equal((double)opened / sent, loop["openRate"]!.GetValue<double>(), 1e-12);
            Assert.Equal((double)joined / sent, loop["joinRate"]!.GetValue<double>(), 1e-12);
            Assert.Equal((double)fvm / joined, loop["firstValueRate"]!.GetValue<double>(), 1e-12);
        }

        // The data set's buddy challenge is viral.
        Assert.True(loops.Single(l => l!.Str("loop") == Buddy)!["k"]!.GetValue<double>() >= 1.2);

        var rally = await (await api.GetAsync($"/api/v1/analytics/kfactor?from={from}&to={to}&loop={Rally}")).ReadOkAsync();
        Assert.Equal([Rally], rally["loops"]!.AsArray().Select(l => l!.Str("loop")));
        Assert.Equal(stored.Count(r => r.Loop == Rally), rally["cohorts"]!.AsArray().Count);
        var oneDay = await (await api.GetAsync($"/api/v1/analytics/kfactor?from={Text(Day(1))}&to={Text(Day(1))}")).ReadOkAsync();
        Assert.Equal(stored.Count(r => r.CohortDay == Day(1)), oneDay["cohorts"]!.AsArray().Count);

        var defaults = await (await api.GetAsync("/api/v1/analytics/kfactor")).ReadOkAsync();
        Assert.Equal((Text(RollupWindow.DayOf(Today).AddDays(-29)), to), (defaults.Str("from"), defaults.Str("to")));
        Assert.Equal(cohorts.Count, defaults["cohorts"]!.AsArray().Count);

        using var csvRequest = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/analytics/kfactor?from={from}&to={to}");
        csvRequest.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        var csv = await api.SendAsync(csvRequest);
        Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType!.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n");
        Assert.Equal("loop,cohortDay,inviters,invitesSent,opened,joined,reachedFirstValue,invitesPerInviter,joinRate,k", lines[0]);
        Assert.Equal(expectedCohorts.Count + 2, lines.Length); // header, rows, and the empty string after the last CRLF
        var d1 = expectedCohorts.Single(r => r.Loop == Rally && r.CohortDay == Day(1));
        Assert.Contains($"{Rally},{Text(Day(1))},1,2,1,3,1,2,1.5,3", lines);
        Assert.Equal(3, d1.Joined);
        Assert.Equal(lines, (await api.GetStringAsync($"/api/v1/analytics/kfactor?from={from}&to={to}&format=csv")).Split("\r\n"));

        var invalid = await api.GetAsync($"/api/v1/analytics/kfactor?from=2026-02-30&loop={new string('x', KFactor.MaxLoopLength + 1)}");
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var problem = await invalid.ReadAsync();
        Assert.Equal("urn:upswing:problem:validation", problem.Str("type"));
        Assert.NotNull(problem["errors"]!["from"]);
        Assert.NotNull(problem["errors"]!["loop"]);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync($"/api/v1/analytics/kfactor?from={to}&to={from}")).StatusCode);

        // The other workspace sees only its own loop; the first never sees it.
        var theirs = await (await Server.NewClient(other.SecretKey).GetAsync($"/api/v1/analytics/kfactor?from={from}&to={to}")).ReadOkAsync();
        Assert.Equal(["tutor_spotlight"], theirs["loops"]!.AsArray().Select(l => l!.Str("loop")));
        Assert.DoesNotContain(loops, l => l!.Str("loop") == "tutor_spotlight");
    }

    // ---- the straightforward computation: what the semantics say, read off the events as sent ----

    private static List<KFactorRow> Expected(IReadOnlyList<SentEvent> sent)
    {
        var events = sent.DistinctBy(e => e.MessageId).ToList();
        var aliases = events.Where(e => e.Type == "alias").GroupBy(e => e.PreviousId!).ToDictionary(g => g.Key, g => g.First().UserId!);
        string Person(SentEvent e) => e.UserId ?? (aliases.TryGetValue(e.AnonymousId!, out var user) ? user : e.AnonymousId!);
        static bool InWindow(DateTimeOffset sentAt, DateTimeOffset at) => at >= sentAt && at <= sentAt.AddDays(7);

        var track = events.Where(e => e.Type == "track").ToList();
        var invites = track.Where(e => e.Name == "invite.sent" && e.Loop is not null && e.InviteId is not null)
            .GroupBy(e => e.InviteId!).Select(g => g.MinBy(e => e.At)!)
            .Select(e => (Id: e.InviteId!, Loop: e.Loop!, Inviter: Person(e), SentAt: e.At)).ToList();
        var firstJoins = track.Where(e => e.Name == "invite.joined" && e.InviteId is not null && !invites.Any(i => i.Id == e.InviteId && i.Inviter == Person(e)))
            .GroupBy(Person).Select(g => g.MinBy(e => e.At)!).ToList();
        return [.. invites.GroupBy(i => (i.Loop, Day: RollupWindow.DayOf(i.SentAt))).Select(g =>
            {
                var joins = firstJoins.Select(j => (Join: j, Invite: g.FirstOrDefault(i => i.Id == j.InviteId))).Where(j => j.Invite.Id is not null && InWindow(j.Invite.SentAt, j.Join.At)).ToList();
                return new KFactorRow(g.Key.Loop, g.Key.Day,
                    g.Select(i => i.Inviter).Distinct().LongCount(),
                    g.LongCount(),
                    g.LongCount(i => track.Any(e => e.Name == "invite.opened" && e.InviteId == i.Id && InWindow(i.SentAt, e.At))),
                    joins.Count,
                    joins.LongCount(j => track.Any(e => e.Name == "invite.fvm" && Person(e) == Person(j.Join) && InWindow(j.Invite.SentAt, e.At))));
            })
            .OrderBy(r => r.CohortDay).ThenBy(r => r.Loop, StringComparer.Ordinal)];
    }

    // ---- arranging: invite events through the real ingestion API ----

    private async Task<Scenario> ArrangeAsync()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var s = new Scenario(ws.Workspace.Id, Server.NewClient(ws.ClientKey), Infrastructure.Unique("k")) { SecretKey = ws.SecretKey };
        var events = new List<SentEvent>();
        var (alice, bob, anonBob, carol, dave, erin, frank, henry) =
            (s.User("alice"), s.User("bob"), s.Anonymous("bob"), s.User("carol"), s.User("dave"), s.User("erin"), s.User("frank"), s.User("henry"));
        var sentA = At(1).AddHours(10);
        events.AddRange(
        [
            Track(alice, "invite.sent", sentA, Rally, s.Invite("A")),
            Track(anonBob, "invite.opened", At(1).AddHours(11), Rally, s.Invite("A")),
            Track(anonBob, "invite.joined", At(1).AddHours(11).AddMinutes(5), Rally, s.Invite("A")),
            Alias(anonBob.AnonymousId!, bob.UserId!, At(1).AddHours(11).AddMinutes(6)),
            Track(bob, "invite.fvm", At(2).AddHours(9), Rally, s.Invite("A")),
            Track(carol, "invite.joined", sentA + Window, Rally, s.Invite("A")),
            Track(carol, "invite.fvm", sentA + Window + TimeSpan.FromSeconds(1), Rally, s.Invite("A")),
            Track(dave, "invite.joined", sentA + Window + TimeSpan.FromSeconds(1), Rally, s.Invite("A")),
            Track(alice, "invite.joined", At(1).AddHours(12), Rally, s.Invite("A")),
            Track(alice, "invite.sent", At(2).AddSeconds(-1), Rally, s.Invite("B")),
            Track(erin, "invite.joined", At(2).AddSeconds(5), Rally, s.Invite("B")),
            Track(frank, "invite.sent", At(2), Rally, s.Invite("C")),
            Track(erin, "invite.joined", At(2).AddHours(5), Rally, s.Invite("C")),
            Track(s.Anonymous("x"), "invite.opened", At(2).AddHours(6), Rally, s.Invite("C")),
            Track(frank, "invite.sent", At(3).AddHours(8), Rally, s.Invite("C")),
            Track(henry, "invite.sent", At(1).AddHours(3), Rally, null),
            Track(henry, "invite.sent", At(1).AddHours(4), null, s.Invite("N")),
            Track(s.User("nina"), "invite.joined", At(1).AddHours(5), Rally, s.Invite("N")),
        ]);

        // Two random loops: the buddy challenge viral (1–2 joins per invite, 2–3 invites per inviter), the proud parent not (0–1, 1–2).
        var random = new Random(11);
        var n = 0;
        foreach (var (loop, invitesPerInviter, maxJoins) in new[] { (Buddy, 2, 2), (Parent, 1, 2) })
        {
            var joiners = new List<Identity>();
            for (var i = 0; i < 8; i++)
            {
                var inviter = s.User($"{loop}-inviter-{i}");
                for (var k = invitesPerInviter + random.Next(2); k > 0; k--)
                {
                    var invite = s.Invite($"{loop}-{n++}");
                    var sentAt = At(random.Next(3)).AddHours(random.Next(21)).AddSeconds(n);
                    events.Add(Track(inviter, "invite.sent", sentAt, loop, invite));
                    for (var o = random.Next(3); o > 0; o--)
                    {
                        events.Add(Track(s.Anonymous($"opener-{n++}"), "invite.opened", sentAt.AddHours(random.Next(1, 190)), loop, invite));
                    }

                    for (var j = (loop == Buddy ? 1 : 0) + random.Next(maxJoins); j > 0; j--)
                    {
                        var joinedAt = sentAt.AddHours(random.Next(1, 180)).AddSeconds(n);
                        Identity joiner, person;
                        if (joiners.Count > 0 && random.NextDouble() < 0.15)
                        {
                            joiner = person = joiners[random.Next(joiners.Count)]; // joins again, through another invite
                        }
                        else if (random.NextDouble() < 0.4)
                        {
                            var anonymous = s.Anonymous($"joiner-{n}");
                            events.Add(Track(anonymous, "invite.opened", joinedAt.AddMinutes(-3), loop, invite));
                            events.Add(Alias(anonymous.AnonymousId!, $"u-{s.Tag}-joiner-{n}", joinedAt.AddMinutes(1)));
                            (joiner, person) = (anonymous, s.User($"joiner-{n}"));
                            joiners.Add(person);
                        }
                        else
                        {
                            joiner = person = s.User($"joiner-{n}");
                            joiners.Add(person);
                        }

                        n++;
                        events.Add(Track(joiner, "invite.joined", joinedAt, loop, invite));
                        if (random.NextDouble() < 0.6)
                        {
                            events.Add(Track(person, "invite.fvm", joinedAt.AddHours(random.Next(1, 48)), loop, invite));
                        }
                    }
                }
            }
        }

        // Out of order, and nothing in the future (ingestion would refuse it).
        await s.SendAsync([.. events.Where(e => e.At < Today).OrderBy(_ => random.Next())]);
        return s;
    }

    private static SentEvent Track(Identity who, string name, DateTimeOffset at, string? loop, string? inviteId) =>
        new(Infrastructure.Unique("m"), "track", name, who.UserId, who.AnonymousId, at, loop, inviteId);

    private static SentEvent Alias(string anonymousId, string userId, DateTimeOffset at) =>
        new(Infrastructure.Unique("m"), "alias", null, userId, null, at, null, null, PreviousId: anonymousId);

    private static string Text(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static long Long(JsonNode node, string name) => node[name]!.GetValue<long>();

    private Task<RollupRunDto> RunAsync(Scenario s, int? windowDays) =>
        Server.WithServicesAsync(sp => sp.GetRequiredService<RollupRunner>().RunAsync(s.Workspace, KFactorRollups.Name, windowDays, default));

    private Task<IReadOnlyList<RollupDifference>> VerifyAsync(Guid workspace, int? windowDays) =>
        Server.WithServicesAsync(sp => sp.GetRequiredService<RollupRunner>().VerifyAsync(workspace, KFactorRollups.Name, windowDays, default));

    private Task<List<KFactorRow>> ReadAsync(Guid workspace) =>
        Server.WithServicesAsync(async sp => (await sp.GetRequiredService<KFactorRollups>().ReadAsync(workspace, DateOnly.MinValue, DateOnly.MaxValue, null, null, default)).ToList());

    private sealed record Identity(string? UserId, string? AnonymousId);

    private sealed record SentEvent(
        string MessageId, string Type, string? Name, string? UserId, string? AnonymousId, DateTimeOffset At, string? Loop, string? InviteId, string? PreviousId = null);

    private sealed record Scenario(Guid Workspace, HttpClient Writer, string Tag)
    {
        public string SecretKey { get; init; } = "";

        /// <summary>Everything sent, duplicates included (the computation dedups by message id, as ingestion must).</summary>
        public List<SentEvent> Sent { get; } = [];

        public Identity User(string name) => new($"u-{Tag}-{name}", null);

        public Identity Anonymous(string name) => new(null, $"a-{Tag}-{name}");

        public string Invite(string name) => $"inv-{Tag}-{name}";

        public async Task SendAsync(IReadOnlyList<SentEvent> events, bool record = true)
        {
            foreach (var chunk in events.Chunk(100))
            {
                var batch = chunk.Select(e => e.Type == "alias"
                    ? (object)new { type = "alias", messageId = e.MessageId, previousId = e.PreviousId, userId = e.UserId, timestamp = e.At.ToString("O", CultureInfo.InvariantCulture) }
                    : new
                    {
                        type = "track",
                        messageId = e.MessageId,
                        @event = e.Name,
                        userId = e.UserId,
                        anonymousId = e.AnonymousId,
                        timestamp = e.At.ToString("O", CultureInfo.InvariantCulture),
                        properties = Properties(e),
                    });
                await (await Writer.PostAsJsonAsync("/v1/batch", new { batch })).ReadOkAsync();
            }

            if (record)
            {
                Sent.AddRange(events);
            }
        }

        private static Dictionary<string, string> Properties(SentEvent e)
        {
            var properties = new Dictionary<string, string>(StringComparer.Ordinal) { ["source"] = "test" };
            if (e.Loop is not null)
            {
                properties["loop"] = e.Loop;
            }

            if (e.InviteId is not null)
            {
                properties["inviteId"] = e.InviteId;
            }

            return properties;
        }
    }
}

[Trait("Provider", "SQLite")]
public sealed class KFactorRollupsOnSqlite(SqliteRollupServerFixture fixture) : KFactorRollupsContract(fixture), IClassFixture<SqliteRollupServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class KFactorRollupsOnPostgres(PostgresRollupServerFixture fixture) : KFactorRollupsContract(fixture), IClassFixture<PostgresRollupServerFixture>;
