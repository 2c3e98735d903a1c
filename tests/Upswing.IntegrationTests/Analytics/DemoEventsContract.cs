using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Access;
using Upswing.Analytics;
using Upswing.Common;
using Upswing.Data;
using Upswing.Demo;
using Upswing.TestKit;
using Upswing.Workspaces;

namespace Upswing.IntegrationTests.Analytics;

/// <summary>
/// The demo's generated history (`upswing seed --demo`), judged from what was stored: experiment results from the rollups
/// the seeding ran, daily and vitals rollups, and invite loops and retention recomputed straightforwardly from the raw
/// events table; seeding twice stores nothing more. On SQLite and PostgreSQL.
/// </summary>
public abstract class DemoEventsContract(DemoServerFixture fixture)
{
    /// <summary>The K-factor vocabulary's loops, strongest first.</summary>
    private static readonly string[] Loops = ["buddy_challenge", "results_rally", "proud_parent", "tutor_spotlight"];

    private UpswingTestServer Server => fixture.Server;

    [Fact]
    public async Task DemoSeed_DiscountTestShipsTen_WithTheRefundGuardrailFailingForTwenty_AndHeadlineTestShowsNoEffect()
    {
        var demo = await fixture.SeededAsync();
        var api = Server.NewClient(demo.SecretKey);

        var discount = await (await api.GetAsync("/api/v1/experiments/discount-test/results")).ReadOkAsync();
        Assert.Equal("ship", discount["recommendation"]!.Str("kind"));
        Assert.Equal("ten", discount["recommendation"]!.Str("variationKey"));
        Assert.False(discount["srm"]!["mismatch"]!.GetValue<bool>());
        Assert.Equal("failing", Metric(discount, "refund").Str("guardrail"));
        Assert.All(discount["variations"]!.AsArray(), v => Assert.True(v!["units"]!.GetValue<double>() > 150, "each discount arm has enough players"));

        var headline = await (await api.GetAsync("/api/v1/experiments/headline-test/results")).ReadOkAsync();
        // No effect was generated: whatever day the history ends on, no treatment is anywhere near significant at 0.1 %
        // (asserting keepRunning instead would fail on the ~5 % of days where noise crosses 0.05).
        Assert.NotEqual("stopForSrm", headline["recommendation"]!.Str("kind"));
        Assert.All(headline["metrics"]!.AsArray().SelectMany(m => m!["variations"]!.AsArray()).Where(v => v!["pValue"] is not null),
            v => Assert.True(v!["pValue"]!.GetValue<double>() > 0.001, "headline-test has no effect"));
        Assert.All(headline["variations"]!.AsArray(), v => Assert.True(v!["units"]!.GetValue<double>() > 500, "each headline arm has enough players"));
    }

    [Fact]
    public async Task DemoSeed_DailyRollupsCoverThirtyDays_AndVitalsHaveAGoodAndAPoorP75()
    {
        var demo = await fixture.SeededAsync();
        var today = RollupWindow.DayOf(demo.SeededAt);
        var daily = await Server.WithServicesAsync(s => s.GetRequiredService<DailyMetricRollups>().ReadAsync(demo.Workspace.Id, today.AddDays(-40), today, null, default));
        Assert.Equal(30, daily.Select(r => r.Day).Distinct().Count());
        Assert.Equal(today.AddDays(-29), daily.Min(r => r.Day));
        // The daily rollup counts exactly the track events stored.
        var raw = await fixture.ReadEventsAsync(demo.Workspace.Id);
        Assert.Equal(raw.Count(e => e.Type == "track"), daily.Sum(r => r.Events));

        var vitals = await Server.WithServicesAsync(s => s.GetRequiredService<VitalsRollups>().ReadAsync(demo.Workspace.Id, today.AddDays(-40), today, null, null, null, null, default));
        Assert.Equal(30, vitals.Select(r => r.Day).Distinct().Count());
        var ratings = vitals.Select(r => Vitals.Rating(r.Metric, r.P75)).ToHashSet();
        Assert.Contains(Vitals.Poor, ratings);
        Assert.Contains(Vitals.Good, ratings);
        // The shop is slow on phones, the landing page fast on desktops: over the whole month.
        var shopMobile = vitals.Where(r => r is { Metric: "LCP", Path: "/shop", DeviceClass: "mobile" }).ToList();
        var homeDesktop = vitals.Where(r => r is { Metric: "LCP", Path: "/", DeviceClass: "desktop" }).ToList();
        Assert.True(shopMobile.Count(r => Vitals.Rating("LCP", r.P75) == Vitals.Poor) > shopMobile.Count / 2);
        Assert.True(homeDesktop.Count(r => Vitals.Rating("LCP", r.P75) == Vitals.Good) > homeDesktop.Count / 2);
    }

    [Fact]
    public async Task DemoSeed_InviteLoops_BuddyChallengeHasKAbove1_2_AndEveryOtherLoopBelow1_FromTheRawEvents()
    {
        var demo = await fixture.SeededAsync();
        var events = await fixture.ReadEventsAsync(demo.Workspace.Id);
        var sends = events.Where(e => e.Name == "invite.sent").ToDictionary(e => e.Property("inviteId")!);
        var joins = events.Where(e => e.Name == "invite.joined").ToList();
        Assert.All(events.Where(e => e.Name is "invite.sent" or "invite.opened" or "invite.joined" or "invite.fvm"),
            e => Assert.Contains(e.Property("loop"), Loops));

        var k = new Dictionary<string, double>();
        foreach (var loop in Loops)
        {
            // K = persons who joined within 7 days of the send / distinct inviters, per loop and send day, summed over days.
            var inviters = sends.Values.Where(s => s.Property("loop") == loop).Select(s => (s.UserId, Day: RollupWindow.DayOf(s.Timestamp))).Distinct().Count();
            var joined = joins.Where(j => j.Property("loop") == loop && sends.TryGetValue(j.Property("inviteId")!, out var s) && j.Timestamp - s.Timestamp <= TimeSpan.FromDays(7))
                .Select(j => j.UserId).Distinct().Count();
            Assert.True(inviters > 30, $"{loop} has {inviters} inviters");
            k[loop] = (double)joined / inviters;
        }

        var text = string.Join(", ", k.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}={p.Value:F2}")));
        Assert.True(k["buddy_challenge"] >= 1.2, text);
        Assert.All(Loops.Skip(1), loop => Assert.True(k[loop] < 1, text));
        Assert.True(k["results_rally"] > k["proud_parent"] && k["proud_parent"] > k["tutor_spotlight"], text);

        // Every join follows an open of the same invite, and invitees who join go on like other players.
        var opened = events.Where(e => e.Name == "invite.opened").Select(e => e.Property("inviteId")).ToHashSet();
        Assert.All(joins, j => Assert.Contains(j.Property("inviteId"), opened));
        var invitedUsers = joins.Select(j => j.UserId).ToHashSet();
        Assert.Contains(events, e => e.Name == "Session Started" && invitedUsers.Contains(e.UserId));
    }

    [Fact]
    public async Task DemoSeed_TheAnalyticsEndpointsShowKAbove1_2_TheCoreJourneyFunnel_AndRetentionCohorts_FromTheRollups()
    {
        var demo = await fixture.SeededAsync();
        var api = Server.NewClient(demo.SecretKey);

        var kfactor = await (await api.GetAsync("/api/v1/analytics/kfactor")).ReadOkAsync();
        var k = kfactor["loops"]!.AsArray().ToDictionary(l => l!.Str("loop"), l => l!["k"]!.GetValue<double>());
        Assert.Equal(Loops.Order(StringComparer.Ordinal), k.Keys.Order(StringComparer.Ordinal));
        Assert.True(k["buddy_challenge"] >= 1.2, string.Join(", ", k));

        var funnel = await (await api.GetAsync("/api/v1/analytics/funnels?funnel=core_journey")).ReadOkAsync();
        var persons = funnel["steps"]!.AsArray().Select(st => st!["persons"]!.GetValue<long>()).ToList();
        Assert.Equal(4, persons.Count);
        Assert.True(persons[0] > 1000 && persons[0] > persons[1] && persons[1] > persons[2] && persons[2] > persons[3] && persons[3] > 0, string.Join(", ", persons));
        Assert.Contains(funnel["breakdowns"]!.AsArray(), b => b!.Str("value") == "invite");

        var retention = await (await api.GetAsync("/api/v1/analytics/retention?type=first_time&period=day")).ReadOkAsync();
        var average = retention["average"]!.AsArray().ToDictionary(a => a!["offset"]!.GetValue<int>(), a => a!["rate"]!.GetValue<double>());
        Assert.Equal(1, average[0]);
        Assert.True(average[1] > average[7] && average[7] > 0, string.Join(", ", average));
    }

    [Fact]
    public async Task DemoSeed_RetentionOnDay1IsBetween30And50Percent_AndTheFunnelDropsOff()
    {
        var demo = await fixture.SeededAsync();
        var events = await fixture.ReadEventsAsync(demo.Workspace.Id);
        var today = RollupWindow.DayOf(demo.SeededAt);
        var signedUp = events.Where(e => e.Name == "Signed Up").ToDictionary(e => e.UserId!, e => RollupWindow.DayOf(e.Timestamp));
        var sessions = events.Where(e => e.Name == "Session Started").Select(e => (e.UserId, Day: RollupWindow.DayOf(e.Timestamp))).ToHashSet();
        double Retained(int n)
        {
            var cohort = signedUp.Where(u => u.Value.AddDays(n) <= today.AddDays(-1)).ToList();
            return (double)cohort.Count(u => sessions.Contains((u.Key, u.Value.AddDays(n)))) / cohort.Count;
        }

        var (d1, d7, d20) = (Retained(1), Retained(7), Retained(20));
        var text = string.Create(CultureInfo.InvariantCulture, $"D1={d1:P1} D7={d7:P1} D20={d20:P1}");
        Assert.InRange(d1, 0.30, 0.50);
        Assert.True(d7 < d1 && d20 < d7 && d20 > 0.03, text);

        var landed = events.Where(e => e.Name == "Landing Viewed").Select(e => e.AnonymousId).Distinct().Count();
        var named = events.Where(e => e.Name == "Critter Named").Select(e => e.UserId).Distinct().Count();
        var bought = events.Where(e => e.Name == "Order Completed").Select(e => e.UserId).Distinct().Count();
        Assert.InRange(landed, 3000, 6000);
        Assert.True(signedUp.Count < landed && named < signedUp.Count && bought < named);
        Assert.InRange(events.Count, 150_000, 300_000);
        // Signing up links the anonymous visitor to the user: the identify call carries both.
        Assert.All(events.Where(e => e.Type == "identify"), e => Assert.NotNull(e.AnonymousId));
    }

    [Fact]
    public async Task DemoSeed_IsFast_AndSeedingTwiceStoresNothingMore()
    {
        var demo = await fixture.SeededAsync();
        TestContext.Current.SendDiagnosticMessage($"{Server.Database.Provider}: demo seeded in {demo.Elapsed.TotalSeconds:F1} s ({demo.Summary.Events} events, {demo.Summary.Vitals} vitals, {demo.Summary.Persons} persons, {demo.Summary.Users} users)");
        Assert.True(demo.Elapsed < TimeSpan.FromSeconds(90), $"seeding took {demo.Elapsed}");
        var before = await fixture.CountEventsAsync(demo.Workspace.Id);
        Assert.Equal(demo.Summary.Events, before);

        var again = await Server.WithServicesAsync(async s =>
        {
            var data = s.GetRequiredService<DemoData>();
            var workspace = await data.EnsureAsync(null, Actor.System, default);
            return (workspace, data.LastSeeded);
        });
        Assert.Equal(demo.Workspace.Id, again.workspace.Id);
        Assert.Null(again.LastSeeded);
        Assert.Equal(before, await fixture.CountEventsAsync(demo.Workspace.Id));
    }

    private static JsonNode Metric(JsonNode results, string key) => results["metrics"]!.AsArray().Single(m => m!.Str("key") == key)!;
}

/// <summary>A stored event as the tests read it back from the events table.</summary>
public sealed record StoredEvent(string Type, string? Name, string? UserId, string? AnonymousId, DateTimeOffset Timestamp, JsonObject? Properties)
{
    public string? Property(string name) => Properties?[name]?.GetValue<string>();
}

/// <summary>What the fixture's one seeding produced.</summary>
public sealed record SeededDemo(WorkspaceDto Workspace, string SecretKey, DemoEventsSummary Summary, TimeSpan Elapsed, DateTimeOffset SeededAt);

/// <summary>A rollup server (periodic rollups off) whose demo workspace is seeded once, by the first test that asks.</summary>
public abstract class DemoServerFixture : RollupServerFixture
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private SeededDemo? seeded;
    private List<StoredEvent>? events;

    public async Task<SeededDemo> SeededAsync()
    {
        await gate.WaitAsync();
        try
        {
            return seeded ??= await Server.WithServicesAsync(async s =>
            {
                var data = s.GetRequiredService<DemoData>();
                var seededAt = s.GetRequiredService<TimeProvider>().GetUtcNow();
                var clock = Stopwatch.StartNew();
                var workspace = await data.EnsureAsync(null, Actor.System, default);
                var elapsed = clock.Elapsed;
                var caller = new WorkspaceContext(workspace.Id, WorkspaceRole.Owner, Actor.System);
                var key = await s.GetRequiredService<ApiKeyService>().CreateAsync(caller, ApiKeyKind.Secret, null, "demo test", default);
                return new SeededDemo(workspace, key.Value!.Key, data.LastSeeded!, elapsed, seededAt);
            });
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Every stored event of the workspace, straight from the events table.</summary>
    public async Task<List<StoredEvent>> ReadEventsAsync(Guid workspaceId) => events ??= await Server.WithServicesAsync(async s =>
    {
        var dialect = s.GetRequiredService<SqlDialect>();
        await using var connection = await dialect.OpenConnectionAsync(default);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT type, name, user_id, anonymous_id, timestamp, properties FROM events WHERE workspace_id = @workspace";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        var list = new List<StoredEvent>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            list.Add(new StoredEvent(reader.GetString(0), Text(reader, 1), Text(reader, 2), Text(reader, 3), dialect.ReadTime(reader, 4),
                Text(reader, 5) is { } json ? JsonNode.Parse(json) as JsonObject : null));
        }

        return list;
    });

    public Task<long> CountEventsAsync(Guid workspaceId) => Server.WithServicesAsync(async s =>
    {
        var dialect = s.GetRequiredService<SqlDialect>();
        await using var connection = await dialect.OpenConnectionAsync(default);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM events WHERE workspace_id = @workspace";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    });

    private static string? Text(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}

public sealed class SqliteDemoServerFixture : DemoServerFixture
{
    public override string ProviderName => "SQLite";

    protected override Task<TestDatabase?> CreateDatabaseAsync() => Task.FromResult<TestDatabase?>(TestDatabase.Sqlite());
}

public sealed class PostgresDemoServerFixture : DemoServerFixture
{
    public override string ProviderName => "PostgreSQL";

    protected override Task<TestDatabase?> CreateDatabaseAsync() => PostgresServerFixture.PostgresDatabaseAsync(GetType().Name);
}

[Trait("Provider", "SQLite")]
public sealed class DemoEventsOnSqlite(SqliteDemoServerFixture fixture) : DemoEventsContract(fixture), IClassFixture<SqliteDemoServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class DemoEventsOnPostgres(PostgresDemoServerFixture fixture) : DemoEventsContract(fixture), IClassFixture<PostgresDemoServerFixture>;
