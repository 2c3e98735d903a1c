using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Analytics;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Analytics;

/// <summary>
/// The retention rollup against a straightforward cohort count over the events the test sent through /v1/batch (so dedup
/// and identity links are ingestion's own), on SQLite and PostgreSQL: late events (one becoming someone's first-ever),
/// out-of-order sends, UTC day and ISO week boundaries, persons in several recurring cohorts, an anonymous id linked to a
/// user, non-track events; idempotency and verify after late and duplicate events; the endpoint as JSON and CSV; validation.
/// </summary>
public abstract class RetentionRollupsContract(ServerFixture fixture)
{
    private static readonly DateOnly TodayDay = RollupWindow.DayOf(TimeProvider.System.GetUtcNow());
    private static readonly DateTimeOffset Today = RollupWindow.StartOf(TodayDay);

    /// <summary>The Monday of this ISO week at midnight UTC (never in the future), and the Sunday before it.</summary>
    private static readonly DateTimeOffset Monday = RollupWindow.StartOf(IsoMonday(TodayDay));

    private UpswingTestServer Server => fixture.Server;

    [Fact]
    public async Task RetentionRollup_EqualsAStraightforwardCount_AlsoAfterLateAndDuplicateEvents_AndIsIdempotent()
    {
        var s = await ArrangeAsync();

        var first = await RunAsync(s.Workspace);
        Assert.Equal(RollupRunner.Succeeded, first.Outcome);
        var stored = await ReadAllAsync(s.Workspace);
        Assert.Equal(Expected(s.Sent), stored);
        Assert.Equal(first.RowsWritten, stored.Count);

        // The edge cases are in the table, not only in the comparison.
        var day = (string type, DateTimeOffset at, int k) => stored.Single(r => r.Type == type && r.Period == "day" && r.CohortStart == RollupWindow.DayOf(at) && r.Offset == k).Persons;
        Assert.True(day("recurring", s.Boundary.AddSeconds(-1), 1) >= 1);           // 23:59:59 and 00:00:00 are two days
        Assert.Contains(stored, r => r.Type == "recurring" && r.Period == "week" && r.CohortStart == RollupWindow.DayOf(Monday.AddDays(-7)) && r.Offset == 1 && r.Persons >= 1);

        // Idempotent: the same window again writes the same rows.
        var second = await RunAsync(s.Workspace, windowDays: 60);
        var again = await RunAsync(s.Workspace, windowDays: 60);
        Assert.Equal(second.RowsWritten, again.RowsWritten);
        Assert.Equal(stored, await ReadAllAsync(s.Workspace));

        // Late, inside the re-run window: the newcomer's event from two days ago arrives after the run; it is now their first.
        var late = Track(s.Newcomer, "Opened App", Today.AddDays(-2).AddHours(3));
        await s.SendAsync([late]);
        Assert.NotEqual(Expected(s.Sent), await ReadAllAsync(s.Workspace));
        await RunAsync(s.Workspace);
        var afterLate = await ReadAllAsync(s.Workspace);
        Assert.Equal(Expected(s.Sent), afterLate);
        Assert.Contains(afterLate, r => r.Type == "first_time" && r.Period == "day" && r.CohortStart == TodayDay.AddDays(-2) && r.Offset == 1 && r.Persons >= 1);

        // Late and older (25 days, a --window-days 26 backfill), plus a whole batch sent again (same message ids: no change).
        var older = Track(s.Regular, "Opened App", Today.AddDays(-25).AddHours(12));
        await s.SendAsync([older]);
        await s.SendAsync([.. s.Sent.Take(80)], record: false);
        var before = Expected([.. s.Sent.Where(e => e != older)]);
        await RunAsync(s.Workspace, windowDays: 26);
        var afterOlder = await ReadAllAsync(s.Workspace);
        Assert.Equal(Expected(s.Sent), afterOlder);
        Assert.NotEqual(before, afterOlder); // the regular's first-time cohort moved 5 days earlier
        Assert.Empty(await VerifyAsync(s.Workspace, null));
        Assert.Empty(await VerifyAsync(s.Workspace, 60));
    }

    [Fact]
    public async Task Verify_ReportsAStoredRowThatDiffersFromTheEvents()
    {
        var s = await ArrangeAsync();
        await RunAsync(s.Workspace);
        await s.SendAsync([Track(s.Newcomer, "Opened App", Today.AddHours(1))]);
        await s.SendAsync([Track(new Person(Infrastructure.Unique("u-new"), null), "Opened App", Today.AddMinutes(5))]);

        var differences = await VerifyAsync(s.Workspace, 3);
        Assert.Contains(differences, d => d.Row.StartsWith($"first_time day {TodayDay:yyyy-MM-dd} +0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RetentionEndpoint_AnswersTheRollupsCohorts_AsJsonAndCsv_AndValidatesEachField()
    {
        var s = await ArrangeAsync();
        await RunAsync(s.Workspace);
        var api = Server.NewClient(s.Secret);
        var from = TodayDay.AddDays(-40).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var to = TodayDay.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var expected = Expected(s.Sent).Where(r => r.Type == "recurring" && r.Period == "day" && r.CohortStart >= TodayDay.AddDays(-40)).ToList();

        var json = await (await api.GetAsync($"/api/v1/analytics/retention?type=recurring&period=day&from={from}&to={to}")).ReadOkAsync();
        Assert.Equal(("recurring", "day", from, to), (json.Str("type"), json.Str("period"), json.Str("from"), json.Str("to")));
        var cohorts = json["cohorts"]!.AsArray();
        Assert.Equal(expected.Where(r => r.Offset == 0).Select(r => r.CohortStart.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)), cohorts.Select(c => c!.Str("cohortStart")));
        foreach (var cohort in cohorts)
        {
            var start = DateOnly.Parse(cohort!.Str("cohortStart"), CultureInfo.InvariantCulture);
            var cells = expected.Where(r => r.CohortStart == start).ToList();
            var size = cells.Single(r => r.Offset == 0).Persons;
            Assert.Equal(size, cohort!["size"]!.GetValue<long>());
            var values = cohort!["values"]!.AsArray();
            // Every offset up to today, and none after it (today's cohort has offset 0 only).
            Assert.Equal(Math.Min(30, TodayDay.DayNumber - start.DayNumber) + 1, values.Count);
            foreach (var value in values)
            {
                var k = value!["offset"]!.GetValue<int>();
                var persons = cells.Single(r => r.Offset == k).Persons;
                Assert.Equal(persons, value["persons"]!.GetValue<long>());
                Assert.Equal((double)persons / size, value["rate"]!.GetValue<double>(), 1e-12);
            }
        }

        // The average of offset k: over the cohorts that reached it, Σ persons / Σ sizes.
        var average = json["average"]!.AsArray();
        foreach (var k in new[] { 0, 1, 7 })
        {
            var reached = expected.Where(r => r.Offset == k).ToList();
            var sizes = reached.Sum(r => expected.Single(c => c.CohortStart == r.CohortStart && c.Offset == 0).Persons);
            var a = average.Single(x => x!["offset"]!.GetValue<int>() == k)!;
            Assert.Equal((reached.Sum(r => r.Persons), sizes), (a["persons"]!.GetValue<long>(), a["cohortSize"]!.GetValue<long>()));
            Assert.Equal((double)reached.Sum(r => r.Persons) / sizes, a["rate"]!.GetValue<double>(), 1e-12);
        }

        // Weeks: from/to snap to Mondays; the default is first_time.
        var weeks = await (await api.GetAsync($"/api/v1/analytics/retention?period=week&from={TodayDay.AddDays(-30):yyyy-MM-dd}")).ReadOkAsync();
        Assert.Equal(("first_time", IsoMonday(TodayDay.AddDays(-30)), IsoMonday(TodayDay)),
            (weeks.Str("type"), DateOnly.Parse(weeks.Str("from"), CultureInfo.InvariantCulture), DateOnly.Parse(weeks.Str("to"), CultureInfo.InvariantCulture)));
        Assert.Equal(Expected(s.Sent).Count(r => r.Type == "first_time" && r.Period == "week" && r.Offset == 0 && r.CohortStart >= IsoMonday(TodayDay.AddDays(-30))),
            weeks["cohorts"]!.AsArray().Count);

        using var csvRequest = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/analytics/retention?type=recurring&from={from}&to={to}");
        csvRequest.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        var csv = await api.SendAsync(csvRequest);
        Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType!.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n");
        Assert.Equal("cohortStart,size,offset,persons,rate", lines[0]);
        Assert.Equal(expected.Count + 2, lines.Length); // header, one line per cell, and the empty string after the last CRLF
        var firstCell = expected[0];
        Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"{firstCell.CohortStart:yyyy-MM-dd},{firstCell.Persons},0,{firstCell.Persons},1"), lines[1]);

        var invalid = await api.GetAsync("/api/v1/analytics/retention?type=weekly&period=month&from=2026-02-30&to=yesterday");
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var problem = await invalid.ReadAsync();
        Assert.Equal("urn:upswing:problem:validation", problem.Str("type"));
        foreach (var field in new[] { "type", "period", "from", "to" })
        {
            Assert.NotNull(problem["errors"]![field]);
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync($"/api/v1/analytics/retention?from={to}&to={from}")).StatusCode);
    }

    [Fact]
    public async Task RetentionEndpoint_ShowsOnlyTheCallersWorkspace()
    {
        var a = await ArrangeAsync();
        var b = await Server.CreateWorkspaceAsync();
        await RunAsync(a.Workspace);
        await RunAsync(b.Workspace.Id);

        var other = await (await Server.NewClient(b.SecretKey).GetAsync("/api/v1/analytics/retention?type=recurring")).ReadOkAsync();
        Assert.Empty(other["cohorts"]!.AsArray());
        var own = await (await Server.NewClient(a.Secret).GetAsync("/api/v1/analytics/retention?type=recurring")).ReadOkAsync();
        Assert.NotEmpty(own["cohorts"]!.AsArray());
    }

    // ---- the straightforward computation ----

    /// <summary>
    /// Every cohort with persons, from the sent events: deduplicated by message id, track events only, a person is the
    /// user id, else the user the anonymous id was aliased to, else the anonymous id; each offset whose period has started.
    /// </summary>
    private static List<RetentionRow> Expected(IReadOnlyList<SentEvent> sent)
    {
        var unique = sent.GroupBy(e => e.MessageId).Select(g => g.First()).ToList();
        var links = unique.Where(e => e.Type == "alias").ToDictionary(e => e.PreviousId!, e => e.UserId!);
        var activity = unique.Where(e => e.Type == "track")
            .GroupBy(e => e.UserId ?? links.GetValueOrDefault(e.AnonymousId!) ?? e.AnonymousId!)
            .Select(g => g.Select(e => RollupWindow.DayOf(e.At)).ToHashSet()).ToList();
        var rows = new List<RetentionRow>();
        foreach (var type in new[] { "first_time", "recurring" })
        {
            foreach (var (period, length, max) in new[] { ("day", 1, 30), ("week", 7, 12) })
            {
                DateOnly PeriodOf(DateOnly d) => period == "day" ? d : IsoMonday(d);
                var cohorts = new SortedDictionary<DateOnly, List<HashSet<DateOnly>>>();
                foreach (var days in activity)
                {
                    var periods = days.Select(PeriodOf).ToHashSet();
                    foreach (var start in type == "first_time" ? [PeriodOf(days.Min())] : periods)
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
                    for (var k = 0; k <= max && start.AddDays(k * length) <= TodayDay; k++)
                    {
                        rows.Add(new RetentionRow(type, period, start, k, members.Count(m => m.Contains(start.AddDays(k * length)))));
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

    // ---- arranging: events through the real ingestion API ----

    private async Task<Scenario> ArrangeAsync()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var tag = Infrastructure.Unique("r");
        var s = new Scenario(ws.Workspace.Id, ws.SecretKey, Server.NewClient(ws.ClientKey), new Person($"u-{tag}-regular", null), new Person($"u-{tag}-newcomer", null),
            Today.AddDays(-9));
        var random = new Random(11);
        var events = new List<SentEvent>();

        // A regular, active on many days: in many recurring cohorts; first seen 20 days ago.
        foreach (var ago in new[] { 20, 19, 13, 12, 6, 5, 1 })
        {
            events.Add(Track(s.Regular, "Opened App", Today.AddDays(-ago).AddHours(random.Next(0, 24))));
            events.Add(Track(s.Regular, "Viewed Item", Today.AddDays(-ago).AddHours(random.Next(0, 24))));
        }

        // The UTC day boundary: 23:59:59 and 00:00:00 are different days.
        var night = new Person($"u-{tag}-night", null);
        events.Add(Track(night, "Opened App", s.Boundary.AddSeconds(-1)));
        events.Add(Track(night, "Opened App", s.Boundary));

        // The ISO week boundary: Sunday 23:59:59 and Monday 00:00:00 are different weeks.
        var weekend = new Person($"u-{tag}-weekend", null);
        events.Add(Track(weekend, "Opened App", Monday.AddSeconds(-1)));
        events.Add(Track(weekend, "Opened App", Monday));
        events.Add(Track(weekend, "Opened App", Monday.AddDays(-7).AddHours(10)));

        // An anonymous visitor who signs up: the anonymous events and the user's are one person.
        var anonymous = new Person(null, $"a-{tag}-visitor");
        var user = new Person($"u-{tag}-visitor", null);
        events.Add(Track(anonymous, "Opened App", Today.AddDays(-15).AddHours(9)));
        events.Add(new SentEvent(NewId(), "alias", null, user.UserId, null, Today.AddDays(-15).AddHours(10), PreviousId: anonymous.AnonymousId));
        events.Add(Track(user, "Opened App", Today.AddDays(-14).AddHours(9)));
        events.Add(Track(user, "Opened App", Today.AddDays(-8).AddHours(9)));

        // Only identify and page events: no activity.
        var silent = new Person($"u-{tag}-silent", null);
        events.Add(new SentEvent(NewId(), "identify", null, silent.UserId, null, Today.AddDays(-3)));
        events.Add(new SentEvent(NewId(), "page", null, silent.UserId, null, Today.AddDays(-2)));
        events.Add(new SentEvent(NewId(), "page", null, s.Regular.UserId, null, Today.AddDays(-30)));

        // The newcomer: first seen yesterday (a late event will make it the day before).
        events.Add(Track(s.Newcomer, "Opened App", Today.AddDays(-1).AddHours(8)));
        events.Add(Track(s.Newcomer, "Opened App", Today.AddMinutes(1)));

        // The crowd: random days over the last 60.
        for (var i = 0; i < 40; i++)
        {
            var who = new Person($"u-{tag}-{i}", null);
            var start = random.Next(0, 60);
            for (var n = random.Next(1, 8); n > 0; n--)
            {
                var ago = Math.Max(0, start - random.Next(0, 30));
                events.Add(Track(who, random.Next(2) == 0 ? "Opened App" : "Viewed Item", Today.AddDays(-ago).AddMinutes(random.Next(0, 60 * 24))));
            }
        }

        // Out of order: shuffled, and sent in small batches.
        await s.SendAsync([.. events.Where(e => e.At <= TimeProvider.System.GetUtcNow()).OrderBy(_ => random.Next())]);
        return s;
    }

    private static SentEvent Track(Person who, string name, DateTimeOffset at) => new(NewId(), "track", name, who.UserId, who.AnonymousId, at);

    private static string NewId() => Infrastructure.Unique("m");

    private Task<RollupRunDto> RunAsync(Guid workspace, int? windowDays = null) =>
        Server.WithServicesAsync(s => s.GetRequiredService<RollupRunner>().RunAsync(workspace, RetentionRollups.Name, windowDays, default));

    private Task<IReadOnlyList<RollupDifference>> VerifyAsync(Guid workspace, int? windowDays) =>
        Server.WithServicesAsync(s => s.GetRequiredService<RollupRunner>().VerifyAsync(workspace, RetentionRollups.Name, windowDays, default));

    private Task<List<RetentionRow>> ReadAllAsync(Guid workspace) =>
        Server.WithServicesAsync(async s =>
        {
            var rollups = s.GetRequiredService<RetentionRollups>();
            var rows = new List<RetentionRow>();
            foreach (var type in Retention.Types)
            {
                foreach (var period in Retention.Periods)
                {
                    rows.AddRange(await rollups.ReadAsync(workspace, type, period, DateOnly.MinValue, DateOnly.MaxValue, null, default));
                }
            }

            return rows;
        });

    private sealed record Person(string? UserId, string? AnonymousId);

    private sealed record SentEvent(string MessageId, string Type, string? Name, string? UserId, string? AnonymousId, DateTimeOffset At, string? PreviousId = null);

    private sealed record Scenario(Guid Workspace, string Secret, HttpClient Writer, Person Regular, Person Newcomer, DateTimeOffset Boundary)
    {
        /// <summary>Everything sent, duplicates excluded (the computation dedups by message id anyway).</summary>
        public List<SentEvent> Sent { get; } = [];

        public async Task SendAsync(IReadOnlyList<SentEvent> events, bool record = true)
        {
            foreach (var chunk in events.Chunk(25))
            {
                var batch = chunk.Select(e => e.Type switch
                {
                    "alias" => (object)new { type = "alias", messageId = e.MessageId, previousId = e.PreviousId, userId = e.UserId, timestamp = Time(e) },
                    "track" => new { type = "track", messageId = e.MessageId, @event = e.Name, userId = e.UserId, anonymousId = e.AnonymousId, timestamp = Time(e) },
                    _ => new { type = e.Type, messageId = e.MessageId, userId = e.UserId, timestamp = Time(e) },
                });
                await (await Writer.PostAsJsonAsync("/v1/batch", new { batch })).ReadOkAsync();
            }

            if (record)
            {
                Sent.AddRange(events);
            }
        }

        private static string Time(SentEvent e) => e.At.ToString("O", CultureInfo.InvariantCulture);
    }
}

[Trait("Provider", "SQLite")]
public sealed class RetentionRollupsOnSqlite(SqliteRollupServerFixture fixture) : RetentionRollupsContract(fixture), IClassFixture<SqliteRollupServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class RetentionRollupsOnPostgres(PostgresRollupServerFixture fixture) : RetentionRollupsContract(fixture), IClassFixture<PostgresRollupServerFixture>;
