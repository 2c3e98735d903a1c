using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Analytics;
using Upswing.Data;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Analytics;

/// <summary>
/// GET /v1/metrics/summary, /daily and /experiments against a straightforward computation over the events the test sent
/// through /v1/batch, after the daily and experiments rollups ran, on SQLite and PostgreSQL; the read key (dashboard token)
/// as x-dashboard-token and as Bearer, and everywhere else refused; validation; CSV; answers only from the rollup tables.
/// </summary>
public abstract class MetricsApiContract(ServerFixture fixture)
{
    private static readonly DateTimeOffset Now = TimeProvider.System.GetUtcNow();
    private static readonly DateTimeOffset Today = RollupWindow.StartOf(RollupWindow.DayOf(Now));
    private static readonly DateOnly TodayDay = RollupWindow.DayOf(Now);

    private UpswingTestServer Server => fixture.Server;

    [Fact]
    public async Task Daily_EqualsAStraightforwardCountOfTheSentEvents_PerWindow_AndFiltersByEvent_AsJsonAndCsv()
    {
        var s = await ArrangeAsync();
        var api = Dashboard(s.ReadKey);

        foreach (var window in new[] { 1, 7, 30 })
        {
            var json = (await (await api.GetAsync($"/v1/metrics/daily?window_days={window}")).ReadOkAsync()).AsArray();
            var expected = ExpectedDaily(s, window);
            Assert.NotEmpty(expected);
            Assert.Equal(expected, json.Select(n => (n!.Str("day"), n!.Str("event"), n!["events"]!.GetValue<long>(), n!["users"]!.GetValue<long>())).ToList());
        }

        // The default window is 7 days; event= filters (empty means all, as the seed's example sends it).
        var week = (await (await api.GetAsync("/v1/metrics/daily?event=")).ReadOkAsync()).AsArray();
        Assert.Equal(ExpectedDaily(s, 7).Count, week.Count);
        var purchases = (await (await api.GetAsync("/v1/metrics/daily?window_days=30&event=Purchase")).ReadOkAsync()).AsArray();
        Assert.Equal(ExpectedDaily(s, 30).Where(r => r.Event == "Purchase").ToList(),
            purchases.Select(n => (n!.Str("day"), n!.Str("event"), n!["events"]!.GetValue<long>(), n!["users"]!.GetValue<long>())).ToList());

        using var csv = new HttpRequestMessage(HttpMethod.Get, "/v1/metrics/daily?window_days=30");
        csv.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        var response = await api.SendAsync(csv);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split("\r\n");
        Assert.Equal("day,event,events,users", lines[0]);
        Assert.Equal(ExpectedDaily(s, 30).Select(r => $"{r.Day},{Quote(r.Event)},{r.Events},{r.Users}"), lines[1..^1]);
        Assert.Equal("", lines[^1]);
    }

    [Fact]
    public async Task Summary_EqualsAStraightforwardComputation_WithAnyKeyOfTheWorkspace_AndFlattensToCsv()
    {
        var s = await ArrangeAsync();
        var track = Tracks(s);
        var todays = track.Where(e => RollupWindow.DayOf(e.At) == TodayDay).ToList();
        var week = track.Where(e => RollupWindow.DayOf(e.At) > TodayDay.AddDays(-7)).ToList();

        foreach (var key in new[] { s.ReadKey, s.Ws.ClientKey, s.Ws.SecretKey })
        {
            var summary = await (await Dashboard(key).GetAsync("/v1/metrics/summary")).ReadOkAsync();
            Assert.Equal(s.Ws.Workspace.Slug, summary.Str("workspace"));
            Assert.Equal(todays.Count, summary["today"]!["events"]!.GetValue<long>());
            // Today's users: the largest distinct-person count of one event name (a lower bound; persons are not additive across names).
            Assert.Equal(todays.GroupBy(e => e.Name).Max(g => g.Select(e => e.User).Distinct().Count()), summary["today"]!["users"]!.GetValue<long>());
            Assert.True(summary["today"]!["users"]!.GetValue<long>() < todays.GroupBy(e => e.Name).Sum(g => g.Select(e => e.User).Distinct().Count()));
            Assert.Equal(week.Count, summary["last7Days"]!["events"]!.GetValue<long>());
            Assert.Equal(week.Select(e => RollupWindow.DayOf(e.At)).Distinct().Count(), summary["last7Days"]!["activeDays"]!.GetValue<int>());
            Assert.Equal(track.Count(e => RollupWindow.DayOf(e.At) > TodayDay.AddDays(-30)), summary["last30Days"]!["events"]!.GetValue<long>());
            var top = week.GroupBy(e => e.Name).Select(g => (g.Key, (long)g.Count())).OrderByDescending(t => t.Item2).ThenBy(t => t.Key, StringComparer.Ordinal).Take(10).ToList();
            Assert.Equal(top, summary["topEvents"]!.AsArray().Select(n => (n!.Str("event"), n!["events"]!.GetValue<long>())).ToList());
            Assert.Equal(1, summary["experiments"]!["running"]!.GetValue<int>());
            Assert.Equal(1, summary["experiments"]!["withResults"]!.GetValue<int>());
            var rollups = summary["lastRollup"]!.AsArray();
            Assert.Contains(rollups, r => r!.Str("job") == DailyMetricRollups.Name && r!.Str("outcome") == RollupRunner.Succeeded && r!["finishedAt"] is not null);
            Assert.Contains(rollups, r => r!.Str("job") == ExperimentRollups.Name && r!.Str("outcome") == RollupRunner.Succeeded);
        }

        var csv = await (await Dashboard(s.ReadKey).GetAsync("/v1/metrics/summary?format=csv")).Content.ReadAsStringAsync();
        var lines = csv.Split("\r\n");
        Assert.Equal("metric,key,value", lines[0]);
        Assert.Contains($"today.events,,{todays.Count}", lines);
        Assert.Contains($"last7Days.events,,{week.Count}", lines);
        Assert.Contains($"workspace,,{s.Ws.Workspace.Slug}", lines);
        Assert.Contains($"topEvents.events,Purchase,{week.Count(e => e.Name == "Purchase")}", lines);
        Assert.Contains($"lastRollup.outcome,{DailyMetricRollups.Name},{RollupRunner.Succeeded}", lines);
    }

    [Fact]
    public async Task Experiments_EqualAStraightforwardComputationOverTheExposureDaysInTheWindow_ByKeyAndById()
    {
        var s = await ArrangeAsync();
        var api = Dashboard(s.ReadKey);

        foreach (var window in new[] { 7, 30 })
        {
            var expected = ExpectedExperiments(s, window);
            foreach (var url in new[]
            {
                $"/v1/metrics/experiments?window_days={window}",
                $"/v1/metrics/experiments?window_days={window}&experiment_id={s.ExperimentKey}",
                $"/v1/metrics/experiments?window_days={window}&experiment_id={s.ExperimentId}",
            })
            {
                var json = (await (await api.GetAsync(url)).ReadOkAsync()).AsArray();
                Assert.Equal(expected.Select(e => (e.Metric, e.Variation, e.VariationKey, e.Units)),
                    json.Select(n => (n!.Str("metricKey"), n!["variationIndex"]!.GetValue<int>(), n!.Str("variationKey"), n!["units"]!.GetValue<long>())).ToList());
                foreach (var (e, n) in expected.Zip(json))
                {
                    Assert.Equal(s.ExperimentKey, n!.Str("experimentKey"));
                    Assert.Equal(e.Sum, n!["sum"]!.GetValue<double>(), 1e-9);
                    Assert.Equal(e.Mean, n!["mean"]!.GetValue<double>(), 1e-9);
                }
            }
        }

        // The 30-day window holds the units exposed ten days ago too: more than the 7-day one.
        Assert.True(ExpectedExperiments(s, 30).Sum(e => e.Units) > ExpectedExperiments(s, 7).Sum(e => e.Units));

        var csv = (await (await api.GetAsync("/v1/metrics/experiments?window_days=30&format=csv")).Content.ReadAsStringAsync()).Split("\r\n");
        Assert.Equal("experimentKey,metricKey,variationIndex,variationKey,units,sum,mean", csv[0]);
        Assert.Equal(ExpectedExperiments(s, 30).Count, csv.Length - 2);

        var unknown = await api.GetAsync("/v1/metrics/experiments?experiment_id=no-such-experiment");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("urn:upswing:problem:not-found", (await unknown.ReadAsync()).Str("type"));
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/v1/metrics/experiments?experiment_id={Guid.NewGuid()}")).StatusCode);
    }

    [Theory]
    [InlineData("/v1/metrics/daily?window_days=0")]
    [InlineData("/v1/metrics/daily?window_days=367")]
    [InlineData("/v1/metrics/daily?window_days=seven")]
    [InlineData("/v1/metrics/daily?window_days=-3")]
    [InlineData("/v1/metrics/experiments?window_days=1.5")]
    public async Task WindowDays_OutsideOneTo366_IsAValidationProblemNamingIt(string url)
    {
        var ws = await Server.CreateWorkspaceAsync();
        var response = await Dashboard(await CreateReadKeyAsync(ws)).GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.ReadAsync();
        Assert.Equal("urn:upswing:problem:validation", problem.Str("type"));
        Assert.NotNull(problem["errors"]!["window_days"]);
    }

    [Fact]
    public async Task Tokens_TravelAsHeaderOrBearer_MissingInvalidOrRevokedAre401_AndClientKeysOnlyReadTheSummary()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var read = await CreateReadKeyAsync(ws);
        Assert.StartsWith("us_rk_", read, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await Dashboard(read).GetAsync("/v1/metrics/daily")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Server.NewClient(read).GetAsync("/v1/metrics/daily")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Server.NewClient(ws.SecretKey).GetAsync("/v1/metrics/experiments")).StatusCode);

        foreach (var url in new[] { "/v1/metrics/summary", "/v1/metrics/daily", "/v1/metrics/experiments" })
        {
            await AssertProblemAsync(await Server.NewClient().GetAsync(url), HttpStatusCode.Unauthorized);
            await AssertProblemAsync(await Dashboard("us_rk_" + new string('x', 40)).GetAsync(url), HttpStatusCode.Unauthorized);
            await AssertProblemAsync(await Dashboard("not-a-key").GetAsync(url), HttpStatusCode.Unauthorized);
        }

        // A client key is public in apps: the summary only.
        Assert.Equal(HttpStatusCode.OK, (await Dashboard(ws.ClientKey).GetAsync("/v1/metrics/summary")).StatusCode);
        await AssertProblemAsync(await Dashboard(ws.ClientKey).GetAsync("/v1/metrics/daily"), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await Server.NewClient(ws.ClientKey).GetAsync("/v1/metrics/experiments"), HttpStatusCode.Forbidden);

        var keys = await (await Server.NewClient(ws.SecretKey).GetAsync("/api/v1/keys")).ReadOkAsync();
        var id = keys.AsArray().Single(k => k!.Str("kind") == "Read" || k!.Str("kind") == "read")!.Str("id");
        await (await Server.NewClient(ws.SecretKey).PostAsync($"/api/v1/keys/{id}/revoke", null)).ReadOkAsync();
        await AssertProblemAsync(await Dashboard(read).GetAsync("/v1/metrics/summary"), HttpStatusCode.Unauthorized);
        await AssertProblemAsync(await Server.NewClient(read).GetAsync("/v1/metrics/daily"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Cli_KeysCreateKindRead_PrintsAReadKeyThatReadsTheMetrics()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var created = await UpswingCliRunner.RunAsync(["keys", "create", "--workspace", ws.Workspace.Slug, "--kind", "read", "--name", "wallboard", .. Server.Database.CliArguments]);
        Assert.True(created.ExitCode == 0, created.ToString());
        var key = Assert.Single(created.OutLines);
        Assert.StartsWith("us_rk_", key, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await Dashboard(key).GetAsync("/v1/metrics/daily")).StatusCode);
        await AssertProblemAsync(await Server.NewClient(key).GetAsync("/api/v1/keys"), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task ReadKey_IsRefusedByManagementIngestionAssignmentAndSdkEndpoints()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var read = await CreateReadKeyAsync(ws);
        var bearer = Server.NewClient(read);

        await AssertProblemAsync(await bearer.GetAsync("/api/v1/keys"), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await bearer.PostAsJsonAsync("/api/v1/keys", new { kind = "secret" }), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await bearer.GetAsync("/api/v1/metrics"), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await bearer.PostAsJsonAsync("/api/v1/features", new { key = "f", valueType = "boolean", defaultValue = false }), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await bearer.GetAsync("/api/v1/analytics/vitals"), HttpStatusCode.Forbidden);
        // The dashboard-token header authenticates only the metrics API: on management endpoints it is no credential at all.
        await AssertProblemAsync(await Dashboard(ws.SecretKey).GetAsync("/api/v1/keys"), HttpStatusCode.Unauthorized);
        await AssertProblemAsync(await Dashboard(read).GetAsync("/api/v1/keys"), HttpStatusCode.Unauthorized);

        await AssertProblemAsync(await bearer.PostAsJsonAsync("/v1/batch", new { batch = new[] { new { type = "track", userId = "u1", @event = "Hack" } } }), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await bearer.PostAsJsonAsync("/v1/track", new { userId = "u1", @event = "Hack" }), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await Server.NewClient().PostAsJsonAsync("/v1/batch", new { writeKey = read, batch = new[] { new { type = "track", userId = "u1", @event = "Hack" } } }), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await bearer.PostAsJsonAsync("/v1/events", new { events = new[] { new { name = "Hack", userId = "u1" } } }), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await bearer.PostAsJsonAsync("/v1/assignment", new { userId = "u1" }), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await Server.NewClient().GetAsync($"/api/features/{read}"), HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.Unauthorized, (await bearer.PostAsJsonAsync("/ofrep/v1/evaluate/flags", new { context = new { targetingKey = "u1" } })).StatusCode);

        // Nothing was written with it.
        var events = await (await Server.NewClient(ws.SecretKey).GetAsync("/api/v1/events?userId=u1")).ReadOkAsync();
        Assert.Empty(events.AsArray());
    }

    [Fact]
    public async Task Answers_ComeFromTheRollupTables_AndChangeOnlyAfterTheNextRollup()
    {
        var s = await ArrangeAsync();
        var api = Dashboard(s.ReadKey);
        var daily = await api.GetStringAsync("/v1/metrics/daily?window_days=30");
        var summary = await (await api.GetAsync("/v1/metrics/summary")).ReadOkAsync();
        var experiments = await api.GetStringAsync("/v1/metrics/experiments?window_days=30");

        // Every raw Purchase of the workspace goes, straight in the database.
        var deleted = await Server.WithServicesAsync(async services =>
        {
            var dialect = services.GetRequiredService<SqlDialect>();
            await using var connection = await dialect.OpenConnectionAsync(default);
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM events WHERE workspace_id = @workspace AND name = 'Purchase'";
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@workspace";
            parameter.Value = dialect.Value(s.Ws.Workspace.Id);
            command.Parameters.Add(parameter);
            return await command.ExecuteNonQueryAsync();
        });
        Assert.Equal(Tracks(s).Count(e => e.Name == "Purchase"), deleted);

        Assert.Equal(daily, await api.GetStringAsync("/v1/metrics/daily?window_days=30"));
        Assert.Equal(experiments, await api.GetStringAsync("/v1/metrics/experiments?window_days=30"));
        var unchanged = await (await api.GetAsync("/v1/metrics/summary")).ReadOkAsync();
        Assert.Equal(summary["last30Days"]!.ToJsonString(), unchanged["last30Days"]!.ToJsonString());

        await RunRollupsAsync(s);

        var after = (await (await api.GetAsync("/v1/metrics/daily?window_days=30")).ReadOkAsync()).AsArray();
        Assert.DoesNotContain(after, n => n!.Str("event") == "Purchase");
        Assert.Equal(ExpectedDaily(s, 30).Count(r => r.Event != "Purchase"), after.Count);
        var rerun = (await (await api.GetAsync("/v1/metrics/experiments?window_days=30")).ReadOkAsync()).AsArray();
        Assert.All(rerun.Where(n => n!.Str("metricKey") == "purchases"), n => Assert.Equal(0, n!["sum"]!.GetValue<double>()));
        Assert.Equal(summary["last30Days"]!["events"]!.GetValue<long>() - deleted,
            (await (await api.GetAsync("/v1/metrics/summary")).ReadOkAsync())["last30Days"]!["events"]!.GetValue<long>());
    }

    [Fact]
    public async Task Daily_AndSummary_ByEnvironment_ReadTheEnvironmentsBucketAndTheEnvironmentLessOne_AndVerifyClean()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var development = (await (await Server.NewClient(ws.SecretKey).PostAsJsonAsync("/api/v1/keys",
            new { kind = "client", environment = "development", name = "dev" })).ReadOkAsync()).Str("key");
        var tag = Infrastructure.Unique("env");
        var at = (Now - Today < TimeSpan.FromMinutes(30) ? Today : Now.AddMinutes(-10)).ToString("O", CultureInfo.InvariantCulture);
        // Production (the fixture's client key): three persons; development: two; a secret key bound to no environment:
        // one person, and one production person again (counted once per environment bucket).
        async Task SendAsync(string key, params string[] users) =>
            await (await Server.NewClient(key).PostAsJsonAsync("/v1/batch", new
            {
                batch = users.Select(u => new { type = "track", @event = "Visit", userId = $"{tag}-{u}", timestamp = at }),
            })).ReadOkAsync();
        await SendAsync(ws.ClientKey, "p1", "p2", "p3", "p3");
        await SendAsync(development, "d1", "d2");
        await SendAsync(ws.SecretKey, "n1", "p1");
        await Server.WithServicesAsync(async services =>
        {
            var runner = services.GetRequiredService<RollupRunner>();
            Assert.Equal(RollupRunner.Succeeded, (await runner.RunAsync(ws.Workspace.Id, DailyMetricRollups.Name, 2, default)).Outcome);
            Assert.Empty(await runner.VerifyAsync(ws.Workspace.Id, DailyMetricRollups.Name, 2, default));
            return 0;
        });

        var api = Server.NewClient(ws.SecretKey);
        async Task<(long Events, long Users)> VisitsAsync(string query)
        {
            var row = (await (await api.GetAsync("/v1/metrics/daily?window_days=1" + query)).ReadOkAsync()).AsArray().Single()!;
            Assert.Equal("Visit", row.Str("event"));
            return (row["events"]!.GetValue<long>(), row["users"]!.GetValue<long>());
        }

        Assert.Equal((8L, 7L), await VisitsAsync(""));
        Assert.Equal((6L, 5L), await VisitsAsync("&environment=production"));
        Assert.Equal((4L, 4L), await VisitsAsync("&environment=development"));
        Assert.Equal((8L, 7L), await VisitsAsync("&environment="));
        var summary = await (await api.GetAsync("/v1/metrics/summary?environment=development")).ReadOkAsync();
        Assert.Equal(4, summary["today"]!["events"]!.GetValue<long>());

        foreach (var path in new[] { "/v1/metrics/daily?environment=staging", "/v1/metrics/summary?environment=staging" })
        {
            var invalid = await api.GetAsync(path);
            Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
            Assert.Contains("development", (await invalid.ReadAsync())["errors"]!["environment"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }

    // ---- the straightforward computation ----

    private static List<SentEvent> Tracks(Scenario s) => [.. s.Sent.Where(e => e.At <= Now)];

    private static List<(string Day, string Event, long Events, long Users)> ExpectedDaily(Scenario s, int window) =>
        [.. Tracks(s).Where(e => RollupWindow.DayOf(e.At) > TodayDay.AddDays(-window))
            .GroupBy(e => (Day: RollupWindow.DayOf(e.At), e.Name))
            .OrderBy(g => g.Key.Day).ThenBy(g => g.Key.Name, StringComparer.Ordinal)
            .Select(g => (g.Key.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), g.Key.Name, (long)g.Count(), (long)g.Select(e => e.User).Distinct().Count()))];

    private static List<(string Metric, int Variation, string VariationKey, long Units, double Sum, double Mean)> ExpectedExperiments(Scenario s, int window)
    {
        var exposures = s.Sent.Where(e => e.Name == "Experiment Viewed").GroupBy(e => e.User).Select(g => g.OrderBy(e => e.At).First())
            .Where(e => RollupWindow.DayOf(e.At) > TodayDay.AddDays(-window)).ToList();
        var rows = new List<(string, int, string, long, double, double)>();
        foreach (var variation in exposures.GroupBy(e => e.Variation!.Value).OrderBy(g => g.Key))
        {
            var purchasesOf = variation.Select(u => s.Sent.Where(e => e.Name == "Purchase" && e.User == u.User && e.At >= u.At).ToList()).ToList();
            var units = variation.Count();
            var purchases = purchasesOf.Sum(p => (double)p.Count);
            var revenue = purchasesOf.Sum(p => p.Sum(e => e.Amount));
            var key = variation.Key == 0 ? "control" : "treatment";
            rows.Add(("purchases", variation.Key, key, units, purchases, purchases / units));
            rows.Add(("revenue", variation.Key, key, units, revenue, revenue / units));
            rows.Add(("revenue-per-purchase", variation.Key, key, units, revenue, revenue / purchases));
        }

        return [.. rows.OrderBy(r => r.Item1, StringComparer.Ordinal).ThenBy(r => r.Item2)];
    }

    // ---- arranging ----

    private async Task<Scenario> ArrangeAsync()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var admin = Server.NewClient(ws.SecretKey);
        object[] metrics =
        [
            new { key = "purchases", name = "Purchases", type = "count", @event = "Purchase" },
            new { key = "revenue", name = "Revenue", type = "sum", @event = "Purchase", valueProperty = "amount" },
            new { key = "revenue-per-purchase", name = "Revenue per purchase", type = "ratio", numerator = "revenue", denominator = "purchases" },
        ];
        foreach (var metric in metrics)
        {
            await (await admin.PostAsJsonAsync("/api/v1/metrics", metric)).ReadOkAsync();
        }

        var experimentKey = Infrastructure.Unique("checkout");
        var experiment = await (await admin.PostAsJsonAsync("/api/v1/experiments", new
        {
            key = experimentKey,
            name = "Checkout",
            variations = new object[] { new { key = "control" }, new { key = "treatment" } },
            metrics = new { primary = new[] { "purchases" }, secondary = new[] { "revenue", "revenue-per-purchase" } },
        })).ReadOkAsync();
        await (await admin.PostAsync($"/api/v1/experiments/{experimentKey}/start", null)).ReadOkAsync();
        // A second experiment, never exposed: no results, and it does not run.
        await (await admin.PostAsJsonAsync("/api/v1/experiments", new { key = Infrastructure.Unique("idle"), name = "Idle", variations = new object[] { new { key = "a" }, new { key = "b" } } })).ReadOkAsync();

        var s = new Scenario(ws, await CreateReadKeyAsync(ws), experimentKey, experiment.Str("id"));
        var tag = Infrastructure.Unique("p");
        var random = new Random(11);
        // Today's events sit at or before now: the run may be just after midnight.
        var todayAt = Now - Today < TimeSpan.FromMinutes(30) ? Today : Now.AddMinutes(-20);
        for (var i = 0; i < 24; i++)
        {
            var user = $"u-{tag}-{i}";
            // Exposed ten days ago (outside a 7-day window), two days ago, or today.
            var exposed = (i % 3) switch { 0 => Today.AddDays(-10).AddHours(9), 1 => Today.AddDays(-2).AddHours(23).AddMinutes(59), _ => todayAt };
            s.Sent.Add(new SentEvent(user, "Experiment Viewed", exposed, i % 2));
            for (var p = random.Next(0, 3); p > 0; p--)
            {
                s.Sent.Add(new SentEvent(user, "Purchase", exposed.AddMinutes(random.Next(1, 10)) is var at && at <= Now ? at : exposed, Amount: random.Next(5, 120)));
            }

            // A purchase before exposure never counts for the experiment; the daily counts do count it.
            if (i % 5 == 0)
            {
                s.Sent.Add(new SentEvent(user, "Purchase", exposed.AddDays(-1), Amount: 50));
            }

            // Visits on several days: the same person on two days counts on each (users are per day).
            s.Sent.Add(new SentEvent(user, "Visit", Today.AddDays(-(i % 4)).AddHours(1)));
            s.Sent.Add(new SentEvent(user, "Visit", Today.AddDays(-20 - (i % 3)).AddHours(2)));
        }

        // Outside every window but the longest: 40 days ago; and a name with a comma for the CSV.
        s.Sent.Add(new SentEvent($"u-{tag}-old", "Visit", Today.AddDays(-40)));
        s.Sent.Add(new SentEvent($"u-{tag}-x", "Signed up, web", todayAt));
        s.Sent.RemoveAll(e => e.At > Now);

        var writer = Server.NewClient(ws.ClientKey);
        var exposuresFirst = s.Sent.Where(e => e.Name == "Experiment Viewed").Concat(s.Sent.Where(e => e.Name != "Experiment Viewed")).ToList();
        foreach (var chunk in exposuresFirst.Chunk(100))
        {
            var batch = chunk.Select(e => new
            {
                type = "track",
                messageId = Infrastructure.Unique("m"),
                @event = e.Name,
                userId = e.User,
                timestamp = e.At.ToString("O", CultureInfo.InvariantCulture),
                properties = e.Name == "Experiment Viewed"
                    ? (object)new { experimentId = experimentKey, variationId = e.Variation == 0 ? "control" : "treatment" }
                    : new { amount = e.Amount },
            });
            await (await writer.PostAsJsonAsync("/v1/batch", new { batch })).ReadOkAsync();
        }

        await RunRollupsAsync(s);
        return s;
    }

    private Task<int> RunRollupsAsync(Scenario s) =>
        Server.WithServicesAsync(async services =>
        {
            var runner = services.GetRequiredService<RollupRunner>();
            foreach (var job in new[] { DailyMetricRollups.Name, ExperimentRollups.Name })
            {
                Assert.Equal(RollupRunner.Succeeded, (await runner.RunAsync(s.Ws.Workspace.Id, job, 60, default)).Outcome);
            }

            return 0;
        });

    private async Task<string> CreateReadKeyAsync(TestWorkspace ws)
    {
        var created = await (await Server.NewClient(ws.SecretKey).PostAsJsonAsync("/api/v1/keys", new { kind = "read", name = "dashboard" })).ReadOkAsync();
        return created.Str("key");
    }

    private HttpClient Dashboard(string token)
    {
        var client = Server.NewClient();
        client.DefaultRequestHeaders.Add("x-dashboard-token", token);
        return client;
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.ReadAsync();
        Assert.Equal((int)status, problem["status"]!.GetValue<int>());
    }

    private static string Quote(string field) => field.Contains(',', StringComparison.Ordinal) ? $"\"{field}\"" : field;

    private sealed record SentEvent(string User, string Name, DateTimeOffset At, int? Variation = null, double Amount = 0);

    private sealed record Scenario(TestWorkspace Ws, string ReadKey, string ExperimentKey, string ExperimentId)
    {
        public List<SentEvent> Sent { get; } = [];
    }
}

[Trait("Provider", "SQLite")]
public sealed class MetricsApiOnSqlite(SqliteRollupServerFixture fixture) : MetricsApiContract(fixture), IClassFixture<SqliteRollupServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class MetricsApiOnPostgres(PostgresRollupServerFixture fixture) : MetricsApiContract(fixture), IClassFixture<PostgresRollupServerFixture>;
