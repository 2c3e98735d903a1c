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
/// Funnel definitions (/api/v1/funnels), the funnels rollup against a straightforward computation over the events the
/// test sent through /v1/batch (identity links are ingestion's own), and GET /api/v1/analytics/funnels as JSON and CSV,
/// on SQLite and PostgreSQL.
/// </summary>
public abstract class FunnelsContract(ServerFixture fixture)
{
    private static readonly DateTimeOffset Today = RollupWindow.StartOf(RollupWindow.DayOf(TimeProvider.System.GetUtcNow()));

    /// <summary>Most entries: five days ago at 10:00, outside the re-run window of a second run.</summary>
    private static readonly DateTimeOffset Base = Today.AddDays(-5).AddHours(10);

    private UpswingTestServer Server => fixture.Server;

    [Fact]
    public async Task FunnelRollup_EqualsAStraightforwardComputation_WithLateEvents_IsIdempotent_RecomputesAChangedFunnel_AndForgetsADeletedOne()
    {
        var s = await ArrangeAsync();

        var first = await RunAsync(s);
        Assert.Equal(RollupRunner.Succeeded, first.Outcome);
        await AssertMatchesAsync(s, hours: 2, version: 1);

        // Late events, sent in reverse order of their timestamps, of an entry two days ago.
        var late = Today.AddDays(-2).AddHours(9);
        await s.SendAsync([Track(User("late"), "Buy", late.AddMinutes(20)), Track(User("late"), "Cart", late.AddMinutes(10), new { items = 1 }), Track(User("late"), "View", late, new { plan = "pro" })]);
        await RunAsync(s);
        await AssertMatchesAsync(s, hours: 2, version: 1);
        Assert.Contains(await ReadAsync(s), r => r.Day == RollupWindow.DayOf(late) && r.Step == 2 && r.Persons == 1);

        // A second run changes nothing, and verification finds nothing.
        var before = await ReadAsync(s);
        await RunAsync(s);
        Assert.Equal(before, await ReadAsync(s));
        Assert.Empty(await VerifyAsync(s));

        // A changed definition is recomputed over every day, also those before the re-run window.
        await (await s.Api.PatchJsonAsync($"/api/v1/funnels/{s.Key}", new { conversionWindowHours = 1 })).ReadOkAsync();
        Assert.NotEmpty(await VerifyAsync(s));
        await RunAsync(s);
        await AssertMatchesAsync(s, hours: 1, version: 2);
        Assert.Empty(await VerifyAsync(s));

        // Deleting the funnel deletes its rows.
        Assert.Equal(HttpStatusCode.OK, (await s.Api.DeleteAsync($"/api/v1/funnels/{s.Key}")).StatusCode);
        Assert.Empty(await ReadAsync(s));
        Assert.Equal(RollupRunner.Succeeded, (await RunAsync(s)).Outcome);
        Assert.Empty(await ReadAsync(s));
    }

    [Fact]
    public async Task FunnelEndpoint_AnswersStepsBreakdownsAndDays_FromTheRollup_AsJsonAndCsv()
    {
        var s = await ArrangeAsync();
        await RunAsync(s);
        var entries = Expected(s, 2);
        var (from, to) = (RollupWindow.DayOf(Base), RollupWindow.DayOf(Today));
        var query = $"/api/v1/analytics/funnels?funnel={s.Key}&from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}";

        var json = await (await s.Api.GetAsync(query)).ReadOkAsync();
        Assert.Equal((s.Key, 2, "plan", 1), (json["funnel"]!.Str("key"), json["funnel"]!["conversionWindowHours"]!.GetValue<int>(), json["funnel"]!.Str("breakdownProperty"), json["funnel"]!["version"]!.GetValue<int>()));
        AssertSteps(json["steps"]!, entries);
        var breakdowns = json["breakdowns"]!.AsArray();
        var expectedValues = entries.GroupBy(e => e.Breakdown).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
        Assert.Equal(expectedValues.Select(g => g.Key.Length == 0 ? "(none)" : g.Key), breakdowns.Select(b => b!.Str("value")));
        foreach (var (node, group) in breakdowns.Zip(expectedValues))
        {
            AssertSteps(node!["steps"]!, [.. group]);
        }

        // A breakdown value filters the entries: steps, breakdowns and days of that value only ("(none)": entries without one).
        foreach (var group in expectedValues)
        {
            var value = group.Key.Length == 0 ? "(none)" : group.Key;
            var only = await (await s.Api.GetAsync($"{query}&breakdown={Uri.EscapeDataString(value)}")).ReadOkAsync();
            AssertSteps(only["steps"]!, [.. group]);
            Assert.Equal(value, Assert.Single(only["breakdowns"]!.AsArray())!.Str("value"));
            Assert.Equal(group.Count(), only["daily"]!.AsArray().Sum(d => d!["entered"]!.GetValue<long>()));
        }

        Assert.Equal(0, (await (await s.Api.GetAsync($"{query}&breakdown=no-such-plan")).ReadOkAsync())["steps"]![0]!["persons"]!.GetValue<long>());

        var daily = json["daily"]!.AsArray();
        Assert.Equal(to.DayNumber - from.DayNumber + 1, daily.Count);
        foreach (var node in daily.Select(n => n!))
        {
            var d = DateOnly.Parse(node.Str("day"), CultureInfo.InvariantCulture);
            Assert.Equal(entries.Count(e => e.Day == d), node["entered"]!.GetValue<long>());
            Assert.Equal(entries.Count(e => e.Day == d && e.Seconds.Count == 3), node["completed"]!.GetValue<long>());
        }

        using var csvRequest = new HttpRequestMessage(HttpMethod.Get, query);
        csvRequest.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        var csv = await s.Api.SendAsync(csvRequest);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType!.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n");
        Assert.Equal("breakdown,step,event,persons,conversionFromStart,conversionFromPrevious,dropOff,averageSecondsToConvert", lines[0]);
        Assert.Equal(((1 + expectedValues.Count) * 3) + 2, lines.Length);
        Assert.StartsWith(",0,View," + entries.Count.ToString(CultureInfo.InvariantCulture) + ",1,1,0,", lines[1], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("(none),2,Buy,", StringComparison.Ordinal));

        // The AB Calicritters endpoint answers the same funnel over the last window_days days (a secret key reads it too).
        var windowDays = to.DayNumber - from.DayNumber + 1;
        var metrics = (await (await s.Api.GetAsync($"/v1/metrics/funnels?window_days={windowDays}&funnel_name={s.Key}")).ReadOkAsync()).AsArray();
        Assert.Equal(s.Key, Assert.Single(metrics)!["funnel"]!.Str("key"));
        AssertSteps(metrics[0]!["steps"]!, entries);
        Assert.Contains(s.Key, await s.Api.GetStringAsync($"/v1/metrics/funnels?window_days={windowDays}"));
        Assert.Equal(HttpStatusCode.NotFound, (await s.Api.GetAsync("/v1/metrics/funnels?funnel_name=nope")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await s.Api.GetAsync("/v1/metrics/funnels?window_days=0")).StatusCode);

        // Range validation, the funnel parameter, and an unknown funnel.
        var missing = await s.Api.GetAsync("/api/v1/analytics/funnels?from=2026-02-30");
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        var problem = await missing.ReadAsync();
        Assert.NotNull(problem["errors"]!["funnel"]);
        Assert.NotNull(problem["errors"]!["from"]);
        Assert.Equal(HttpStatusCode.BadRequest, (await s.Api.GetAsync($"/api/v1/analytics/funnels?funnel={s.Key}&from=2020-01-01&to=2026-01-01")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await s.Api.GetAsync("/api/v1/analytics/funnels?funnel=nope")).StatusCode);
    }

    [Fact]
    public async Task FunnelDefinitions_AreValidatedPerField_Versioned_Conflicting_AndAudited()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var api = Server.NewClient(ws.SecretKey);
        var key = Infrastructure.Unique("signup");

        var invalid = await api.PostAsJsonAsync("/api/v1/funnels", new
        {
            key = "-bad",
            name = "",
            steps = new object[] { new { @event = "View", filters = new[] { new { property = "plan", @operator = "like", value = "x" } } }, new { @event = "" } },
            conversionWindowHours = 0,
            breakdownProperty = new string('p', 101),
        });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var errors = (await invalid.ReadAsync())["errors"]!.AsObject();
        Assert.Equal(
            ["breakdownProperty", "conversionWindowHours", "key", "name", "steps[0].filters[0].operator", "steps[1].event"],
            errors.Select(e => e.Key).Order(StringComparer.Ordinal));
        var oneStep = await (await api.PostAsJsonAsync("/api/v1/funnels", new { key, name = "One", steps = new[] { new { @event = "View" } } })).ReadAsync();
        Assert.NotNull(oneStep["errors"]!["steps"]);

        var response = await api.PostAsJsonAsync("/api/v1/funnels", new { key, name = "Signup", steps = new[] { new { @event = "View" }, new { @event = "Signup" } } });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/api/v1/funnels/{key}", response.Headers.Location!.ToString());
        var created = await response.ReadAsync();
        Assert.Equal((24, 1), (created["conversionWindowHours"]!.GetValue<int>(), created["version"]!.GetValue<int>()));
        Assert.Equal(HttpStatusCode.Conflict, (await api.PostAsJsonAsync("/api/v1/funnels", new { key, name = "Again", steps = new[] { new { @event = "A" }, new { @event = "B" } } })).StatusCode);

        var updated = await (await api.PatchJsonAsync($"/api/v1/funnels/{key}", new { breakdownProperty = "plan" })).ReadOkAsync();
        Assert.Equal(("plan", 2, "Signup"), (updated.Str("breakdownProperty"), updated["version"]!.GetValue<int>(), updated.Str("name")));
        Assert.Equal(2, updated["steps"]!.AsArray().Count);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PatchJsonAsync($"/api/v1/funnels/{key}", new { key = "other" })).StatusCode);
        Assert.Single((await (await api.GetAsync("/api/v1/funnels")).ReadOkAsync()).AsArray());
        Assert.Equal(HttpStatusCode.OK, (await api.DeleteAsync($"/api/v1/funnels/{key}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/v1/funnels/{key}")).StatusCode);

        var audit = (await (await api.GetAsync("/api/v1/audit?resourceType=funnel")).ReadOkAsync()).AsArray().Where(e => e!.Str("resourceId") == key).ToList();
        Assert.Equal(["funnel.created", "funnel.updated", "funnel.deleted"], audit.Select(e => e!.Str("action")).Reverse());
    }

    // ---- the straightforward computation ----

    private sealed record Entry(DateOnly Day, string Breakdown, List<double> Seconds);

    /// <summary>Per person and UTC day, the first View; then each step's earliest unused event at or after the previous step, within the window.</summary>
    private static List<Entry> Expected(Scenario s, int hours)
    {
        var links = s.Sent.Where(e => e.Type == "alias").ToDictionary(e => e.AnonymousId!, e => e.UserId!);
        var track = s.Sent.Where(e => e.Type == "track").Select(e => (Person: e.UserId ?? links.GetValueOrDefault(e.AnonymousId!) ?? e.AnonymousId!, Event: e)).ToList();
        bool Step(int step, SentEvent e) => step switch
        {
            0 => e.Name == "View",
            1 => e.Name == "Cart" && e.Items is > 0,
            _ => e.Name == "Buy",
        };

        var entries = new List<Entry>();
        foreach (var person in track.GroupBy(t => t.Person))
        {
            var events = person.Select(t => t.Event).OrderBy(e => e.At).ToList();
            foreach (var entry in events.Where(e => Step(0, e)).GroupBy(e => RollupWindow.DayOf(e.At)).Select(g => g.First()))
            {
                var seconds = new List<double> { 0 };
                var previous = entry;
                for (var step = 1; step < 3; step++)
                {
                    var next = events.FirstOrDefault(e => e != previous && e.At >= previous.At && e.At <= entry.At.AddHours(hours) && Step(step, e));
                    if (next is null)
                    {
                        break;
                    }

                    seconds.Add((next.At - entry.At).TotalSeconds);
                    previous = next;
                }

                entries.Add(new Entry(RollupWindow.DayOf(entry.At), entry.Plan ?? "", seconds));
            }
        }

        return entries;
    }

    private async Task AssertMatchesAsync(Scenario s, int hours, int version)
    {
        var expected = Expected(s, hours).GroupBy(e => (e.Day, e.Breakdown))
            .SelectMany(g => Enumerable.Range(0, 3).Select(step => new FunnelRollupRow(
                s.Key, g.Key.Day, g.Key.Breakdown, step, g.Count(e => e.Seconds.Count > step), g.Where(e => e.Seconds.Count > step).Sum(e => e.Seconds[step]), version)))
            .OrderBy(r => r.Day).ThenBy(r => r.Breakdown, StringComparer.Ordinal).ThenBy(r => r.Step).ToList();
        Assert.Equal(expected, await ReadAsync(s));
    }

    private static void AssertSteps(JsonNode steps, List<Entry> entries)
    {
        var persons = Enumerable.Range(0, 3).Select(i => (long)entries.Count(e => e.Seconds.Count > i)).ToArray();
        for (var i = 0; i < 3; i++)
        {
            var step = steps[i]!;
            Assert.Equal(persons[i], step["persons"]!.GetValue<long>());
            Assert.Equal(i == 0 ? 0 : persons[i - 1] - persons[i], step["dropOff"]!.GetValue<long>());
            Assert.Equal((double)persons[i] / persons[0], step["conversionFromStart"]!.GetValue<double>(), 1e-9);
            if (i == 0 || persons[i] == 0)
            {
                Assert.Null(step["averageSecondsToConvert"]);
            }
            else
            {
                Assert.Equal((double)persons[i] / persons[i - 1], step["conversionFromPrevious"]!.GetValue<double>(), 1e-9);
                Assert.Equal(entries.Where(e => e.Seconds.Count > i).Average(e => e.Seconds[i]), step["averageSecondsToConvert"]!.GetValue<double>(), 1e-6);
            }
        }
    }

    // ---- the scenario ----

    private async Task<Scenario> ArrangeAsync()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var s = new Scenario(ws.Workspace.Id, Infrastructure.Unique("checkout"), Server.NewClient(ws.SecretKey), Server.NewClient(ws.ClientKey));
        await (await s.Api.PostAsJsonAsync("/api/v1/funnels", new
        {
            key = s.Key,
            name = "Checkout",
            steps = new object[] { new { @event = "View" }, new { @event = "Cart", filters = new[] { new { property = "items", @operator = "gt", value = 0 } } }, new { @event = "Buy" } },
            conversionWindowHours = 2,
            breakdownProperty = "plan",
        })).ReadOkAsync();

        var b = Base;
        var midnight = Today.AddDays(-4);
        List<SentEvent> events =
        [
            // Straight through.
            Track(User("full"), "View", b, new { plan = "pro" }), Track(User("full"), "Cart", b.AddMinutes(10), new { items = 1 }), Track(User("full"), "Buy", b.AddMinutes(30)),
            // Buy before Cart: only View → Cart.
            Track(User("order"), "View", b, new { plan = "free" }), Track(User("order"), "Buy", b.AddMinutes(5)), Track(User("order"), "Cart", b.AddMinutes(10), new { items = 2 }),
            // Buy exactly at the window's end counts; one second later does not.
            Track(User("edge"), "View", b, new { plan = "free" }), Track(User("edge"), "Cart", b.AddHours(1), new { items = 1 }), Track(User("edge"), "Buy", b.AddHours(2)),
            Track(User("over"), "View", b, new { plan = "free" }), Track(User("over"), "Cart", b.AddHours(1), new { items = 1 }), Track(User("over"), "Buy", b.AddHours(2).AddSeconds(1)),
            // Enters on two UTC days around midnight.
            Track(User("night"), "View", midnight.AddMinutes(-30), new { plan = "pro" }), Track(User("night"), "View", midnight.AddMinutes(10), new { plan = 3 }),
            Track(User("night"), "Cart", midnight.AddMinutes(20), new { items = 1 }), Track(User("night"), "Buy", midnight.AddMinutes(40)),
            // Anonymous, then identified: one person (no plan: the "(none)" breakdown).
            Track(Anonymous("anon"), "View", b.AddMinutes(1)), Alias("anon", "known"), Track(User("known"), "Cart", b.AddMinutes(20), new { items = 3 }), Track(User("known"), "Buy", b.AddMinutes(40)),
            // A Cart the step's filter rejects, then one it takes.
            Track(User("filtered"), "View", b, new { plan = true }), Track(User("filtered"), "Cart", b.AddMinutes(5), new { items = 0 }),
            Track(User("filtered"), "Cart", b.AddMinutes(15), new { items = 4 }),
        ];
        var random = new Random(11);
        for (var i = 0; i < 25; i++)
        {
            var who = User($"r{i}");
            var at = b.AddDays(random.Next(4)).AddMinutes(random.Next(600));
            events.Add(Track(who, "View", at, random.Next(3) == 0 ? null : new { plan = random.Next(2) == 0 ? "free" : "pro" }));
            if (random.Next(4) > 0)
            {
                events.Add(Track(who, "Cart", at.AddMinutes(random.Next(-10, 100)), new { items = random.Next(3) }));
            }

            if (random.Next(3) > 0)
            {
                events.Add(Track(who, "Buy", at.AddMinutes(random.Next(-10, 150))));
            }
        }

        await s.SendAsync(events);
        return s;
    }

    private static (string? UserId, string? AnonymousId) User(string id) => (id, null);

    private static (string? UserId, string? AnonymousId) Anonymous(string id) => (null, id);

    private static SentEvent Track((string? UserId, string? AnonymousId) who, string name, DateTimeOffset at, object? properties = null)
    {
        var node = properties is null ? null : ToNode(properties);
        return new SentEvent(Guid.NewGuid().ToString(), "track", name, who.UserId, who.AnonymousId, at, properties,
            node?["plan"] is { } plan ? plan.GetValueKind() == System.Text.Json.JsonValueKind.String ? plan.GetValue<string>() : plan.ToJsonString() : null,
            node?["items"]?.GetValue<int>());
    }

    private static JsonNode? ToNode(object properties) => System.Text.Json.JsonSerializer.SerializeToNode(properties);

    private static SentEvent Alias(string anonymousId, string userId) => new(Guid.NewGuid().ToString(), "alias", null, userId, anonymousId, Base, null, null, null);

    private Task<RollupRunDto> RunAsync(Scenario s) =>
        Server.WithServicesAsync(sp => sp.GetRequiredService<RollupRunner>().RunAsync(s.Workspace, FunnelRollups.Name, null, default));

    private Task<IReadOnlyList<RollupDifference>> VerifyAsync(Scenario s) =>
        Server.WithServicesAsync(sp => sp.GetRequiredService<RollupRunner>().VerifyAsync(s.Workspace, FunnelRollups.Name, null, default));

    // Every event comes with the fixture's production key: one environment bucket, compared without it.
    private Task<List<FunnelRollupRow>> ReadAsync(Scenario s) =>
        Server.WithServicesAsync(async sp => (await sp.GetRequiredService<FunnelRollups>().ReadAsync(s.Workspace, s.Key, DateOnly.MinValue, DateOnly.MaxValue, null, default))
            .Select(r => r with { Environment = default }).ToList());

    /// <summary>A sent event; <paramref name="Plan"/> is the breakdown text the test expects, <paramref name="Items"/> the filtered property.</summary>
    private sealed record SentEvent(string MessageId, string Type, string? Name, string? UserId, string? AnonymousId, DateTimeOffset At, object? Properties, string? Plan, int? Items);

    private sealed record Scenario(Guid Workspace, string Key, HttpClient Api, HttpClient Writer)
    {
        public List<SentEvent> Sent { get; } = [];

        public async Task SendAsync(IReadOnlyList<SentEvent> events)
        {
            var batch = events.Select(e => e.Type == "alias"
                ? (object)new { type = "alias", messageId = e.MessageId, previousId = e.AnonymousId, userId = e.UserId, timestamp = e.At.ToString("O", CultureInfo.InvariantCulture) }
                : new { type = "track", messageId = e.MessageId, @event = e.Name, userId = e.UserId, anonymousId = e.AnonymousId, timestamp = e.At.ToString("O", CultureInfo.InvariantCulture), properties = e.Properties });
            await (await Writer.PostAsJsonAsync("/v1/batch", new { batch })).ReadOkAsync();
            Sent.AddRange(events);
        }
    }
}

[Trait("Provider", "SQLite")]
public sealed class FunnelsOnSqlite(SqliteRollupServerFixture fixture) : FunnelsContract(fixture), IClassFixture<SqliteRollupServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class FunnelsOnPostgres(PostgresRollupServerFixture fixture) : FunnelsContract(fixture), IClassFixture<PostgresRollupServerFixture>;
