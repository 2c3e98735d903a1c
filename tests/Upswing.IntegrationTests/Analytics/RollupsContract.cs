using System.Globalization;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Analytics;
using Upswing.Jobs;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Analytics;

/// <summary>
/// The rollup jobs against a straightforward computation over the events the test sent through /v1/batch (so dedup,
/// identity links and exposures are ingestion's own), on SQLite and PostgreSQL; idempotency; the CLI; the results endpoint.
/// </summary>
public abstract class RollupsContract(ServerFixture fixture)
{
    private static readonly DateTimeOffset Today = RollupWindow.StartOf(RollupWindow.DayOf(TimeProvider.System.GetUtcNow()));

    /// <summary>The first exposure day: five days ago, so every event is in the past and the late ones fall in the re-run window.</summary>
    private static readonly DateTimeOffset Base = Today.AddDays(-5);

    private UpswingTestServer Server => fixture.Server;

    [Fact]
    public async Task Rollups_EqualAStraightforwardComputation_AlsoAfterLateAndDuplicateEvents()
    {
        var scenario = await ArrangeAsync(units: 60, controlRate: 0.3, treatmentRate: 0.6);

        var first = await RunAsync(scenario, "all");
        Assert.All(first, r => Assert.Equal(RollupRunner.Succeeded, r.Outcome));
        await AssertMatchesAsync(scenario);

        // Late (a purchase from three days ago, arriving now), and duplicates (a whole batch sent again: same message ids).
        var late = scenario.Units.Where(u => u.Variation == 0).Take(3).Select(u => Track(u.EventIdentity, "Purchase", Today.AddDays(-3).AddHours(2),
            new { amount = 40, currency = "EUR" })).ToList();
        await scenario.SendAsync(late);
        await scenario.SendAsync(scenario.Sent.Take(150).ToList(), record: false);
        await RunAsync(scenario, "all");

        await AssertMatchesAsync(scenario);
        Assert.Empty(await VerifyAsync(scenario));
    }

    [Fact]
    public async Task Rollups_RunTwiceOverTheSameWindow_LeaveIdenticalTables_AndRecordBothRuns()
    {
        var scenario = await ArrangeAsync(units: 30, controlRate: 0.3, treatmentRate: 0.5);

        await RunAsync(scenario, "all", windowDays: 7);
        var daily = await ReadDailyAsync(scenario);
        var experiment = await ReadExperimentAsync(scenario);
        await RunAsync(scenario, "all", windowDays: 7);

        Assert.Equal(daily, await ReadDailyAsync(scenario));
        Assert.Equal(experiment, await ReadExperimentAsync(scenario));
        Assert.NotEmpty(daily);
        Assert.NotEmpty(experiment);
        var runs = await Server.WithServicesAsync(s => s.GetRequiredService<RollupRunner>().ListRunsAsync(scenario.Workspace, null, 50, default));
        Assert.Equal(2, runs.Count(r => r.Job == DailyMetricRollups.Name));
        Assert.Equal(2, runs.Count(r => r.Job == ExperimentRollups.Name));
        Assert.All(runs, r => Assert.Equal((RollupRunner.Succeeded, RollupWindow.DayOf(Today)), (r.Outcome, r.WindowTo)));
        Assert.Equal(daily.Count, runs.First(r => r.Job == DailyMetricRollups.Name).RowsWritten);
    }

    [Fact]
    public async Task RollupRuns_MoveTheWatermark_AndStartAtItMinusTheRerunWindow()
    {
        var scenario = await ArrangeAsync(units: 10, controlRate: 0.5, treatmentRate: 0.5);

        var first = (await RunAsync(scenario, DailyMetricRollups.Name)).Single();
        var second = (await RunAsync(scenario, DailyMetricRollups.Name)).Single();

        Assert.Equal(RollupWindow.DayOf(scenario.Sent.Min(e => e.At)), first.WindowFrom);
        Assert.Equal(RollupWindow.DayOf(Today).AddDays(-3), second.WindowFrom);
        var watermark = await Server.WithServicesAsync(s => s.GetRequiredService<RollupRunner>().WatermarkAsync(scenario.Workspace, DailyMetricRollups.Name, default));
        Assert.Equal(second.StartedAt, watermark!.Value, TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task PruneRuns_DeletesTheRunsThatFinishedBeforeTheCutoff_AndKeepsTheRest()
    {
        var scenario = await ArrangeAsync(units: 10, controlRate: 0.5, treatmentRate: 0.5);
        var run = (await RunAsync(scenario, DailyMetricRollups.Name)).Single();

        await Server.WithServicesAsync(s => s.GetRequiredService<RollupRunner>().PruneRunsAsync(run.FinishedAt.AddMinutes(-1), default));
        var runsAfterKeeping = await Server.WithServicesAsync(s => s.GetRequiredService<RollupRunner>().ListRunsAsync(scenario.Workspace, null, 50, default));
        var pruned = await Server.WithServicesAsync(s => s.GetRequiredService<RollupRunner>().PruneRunsAsync(run.FinishedAt.AddMinutes(1), default));
        var runsAfterPruning = await Server.WithServicesAsync(s => s.GetRequiredService<RollupRunner>().ListRunsAsync(scenario.Workspace, null, 50, default));

        Assert.Contains(runsAfterKeeping, r => r.Id == run.Id);
        Assert.True(pruned >= 1);
        Assert.Empty(runsAfterPruning);
    }

    [Fact]
    public async Task RollupJob_RunsTheRollupForEveryWorkspace_ThroughTheJobQueue()
    {
        var scenario = await ArrangeAsync(units: 10, controlRate: 0.5, treatmentRate: 0.5);

        await Server.WithServicesAsync(s => s.GetRequiredService<JobQueue>().EnqueueAsync(new RollupJob(DailyMetricRollups.Name)));

        await Infrastructure.WaitUntilAsync(
            async () => (await Server.WithServicesAsync(s => s.GetRequiredService<RollupRunner>().ListRunsAsync(scenario.Workspace, DailyMetricRollups.Name, 1, default))).Count == 1,
            TimeSpan.FromSeconds(30), "the job's rollup run");
        Assert.NotEmpty(await ReadDailyAsync(scenario));
    }

    [Fact]
    public async Task Cli_RollupThenVerify_PassesAfterLateAndDuplicateEvents_AndFailsOnATamperedRow()
    {
        var scenario = await ArrangeAsync(units: 20, controlRate: 0.3, treatmentRate: 0.6);
        string[] database = [.. Server.Database.CliArguments];

        var rollup = await UpswingCliRunner.RunAsync(["rollup", "--workspace", scenario.Slug, .. database]);
        Assert.True(rollup.ExitCode == 0, rollup.ToString());
        Assert.Contains(rollup.OutLines, l => l.StartsWith("total daily:", StringComparison.Ordinal));
        Assert.Contains(rollup.OutLines, l => l.StartsWith("total experiments:", StringComparison.Ordinal));

        await scenario.SendAsync([Track(scenario.Units[0].EventIdentity, "Purchase", Today.AddDays(-2), new { amount = 10, currency = "EUR" })]);
        await scenario.SendAsync(scenario.Sent.Take(50).ToList(), record: false);
        var stale = await UpswingCliRunner.RunAsync(["rollup", "verify", "--workspace", scenario.Slug, .. database]);
        Assert.True(stale.ExitCode == 1, stale.ToString());

        Assert.Equal(0, (await UpswingCliRunner.RunAsync(["rollup", "--workspace", scenario.Slug, "--window-days", "4", .. database])).ExitCode);
        var verified = await UpswingCliRunner.RunAsync(["rollup", "verify", "--workspace", scenario.Slug, .. database]);
        Assert.True(verified.ExitCode == 0, verified.ToString());

        var row = (await ReadExperimentAsync(scenario)).First(r => r.MetricKey == "purchases");
        await Server.WithServicesAsync(async s =>
        {
            await s.GetRequiredService<ExperimentMetricRollups>().UpsertAsync(scenario.Workspace, [row with { Sum = row.Sum + 1, ComputedAt = null }], default);
            return 0;
        });
        var tampered = await UpswingCliRunner.RunAsync(["rollup", "verify", "--workspace", scenario.Slug, "--window-days", "30", .. database]);
        Assert.True(tampered.ExitCode == 1, tampered.ToString());
        Assert.Contains(tampered.OutLines, l => l.Contains("purchases", StringComparison.Ordinal) && l.Contains("\tsum\t", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Results_AfterARollup_ShowTheEffectInTheEvents()
    {
        var scenario = await ArrangeAsync(units: 120, controlRate: 0.1, treatmentRate: 0.9);
        await RunAsync(scenario, ExperimentRollups.Name);

        var results = await (await scenario.Api.GetAsync($"/api/v1/experiments/{scenario.ExperimentKey}/results?differenceType=absolute")).ReadOkAsync();

        var expected = Expected(scenario).Where(r => r.MetricKey == "purchased").ToList();
        var purchased = results["metrics"]!.AsArray().Single(m => m!.Str("key") == "purchased")!;
        var treatment = purchased["variations"]![1]!;
        Assert.Equal(expected.Where(r => r.Variation == 1).Sum(r => r.Units), treatment["n"]!.GetValue<double>());
        Assert.True(treatment["expected"]!.GetValue<double>() > 0.5, treatment.ToJsonString());
        Assert.True(treatment["pValue"]!.GetValue<double>() < 0.001, treatment.ToJsonString());
        Assert.Equal("winning", treatment.Str("verdict"));
        Assert.Equal([60.0, 60.0], results["variations"]!.AsArray().Select(v => v!["units"]!.GetValue<double>()));
    }

    // ---- the straightforward computation ----

    private static List<ExperimentMetricRollupRow> Expected(Scenario scenario)
    {
        var sent = scenario.Sent.GroupBy(e => e.MessageId).Select(g => g.First()).ToList();
        var links = sent.Where(e => e.Type == "alias").ToDictionary(e => e.PreviousId!, e => e.UserId!);
        string PersonOf(string id) => links.TryGetValue(id, out var user) ? user : id;
        var track = sent.Where(e => e.Type == "track").Select(e => (Person: e.UserId ?? PersonOf(e.AnonymousId!), Event: e)).ToList();
        var units = track.Where(t => t.Event.Name == "Experiment Viewed")
            .Select(t => (Unit: t.Event.UserId ?? t.Event.AnonymousId!, t.Person, Variation: t.Event.Variation!.Value, At: t.Event.At)).ToList();
        List<SentEvent> Of(string person, string name) => [.. track.Where(t => t.Person == person && t.Event.Name == name).Select(t => t.Event)];

        var rows = new List<ExperimentMetricRollupRow>();
        foreach (var group in units.GroupBy(u => (u.Variation, Day: RollupWindow.DayOf(u.At))).OrderBy(g => g.Key.Variation).ThenBy(g => g.Key.Day))
        {
            var (variation, day) = group.Key;
            var purchased = group.Select(u => Of(u.Person, "Purchase").Any(p => p.At >= u.At && p.At <= u.At.AddHours(24)) ? 1.0 : 0.0).ToList();
            var purchases = group.Select(u => (double)Of(u.Person, "Purchase").Count(p => p.At >= u.At)).ToList();
            var revenue = group.Select(u => Math.Min(100, Of(u.Person, "Purchase").Where(p => p.At >= u.At && p.Currency == "EUR").Sum(p => p.Amount))).ToList();
            var returned = group.Select(u => Of(u.Person, "Visit").Any(v => v.At >= u.At.AddDays(1) && v.At < u.At.AddDays(2)) ? 1.0 : 0.0).ToList();
            var visits = group.Select(u => (double)Of(u.Person, "Visit").Count(v => v.At >= u.At)).ToList();
            var preVisits = group.Select(u => (double)Of(u.Person, "Visit").Count(v => v.At >= u.At.AddDays(-2) && v.At < u.At)).ToList();
            var n = group.Count();
            ExperimentMetricRollupRow Plain(string metric, List<double> x) => new(scenario.ExperimentKey, metric, variation, day, n, x.Sum(), x.Sum(v => v * v));
            rows.Add(Plain("purchased", purchased));
            rows.Add(Plain("purchases", purchases));
            rows.Add(Plain("returned", returned));
            rows.Add(Plain("revenue", revenue));
            rows.Add(Plain("revenue-per-purchase", revenue) with
            {
                DenominatorSum = purchases.Sum(),
                DenominatorSumSquares = purchases.Sum(v => v * v),
                SumProducts = revenue.Zip(purchases).Sum(p => p.First * p.Second),
            });
            rows.Add(Plain("visits", visits) with
            {
                PreSum = preVisits.Sum(),
                PreSumSquares = preVisits.Sum(v => v * v),
                SumProductsPre = visits.Zip(preVisits).Sum(p => p.First * p.Second),
            });
        }

        return [.. rows.OrderBy(r => r.MetricKey, StringComparer.Ordinal).ThenBy(r => r.Variation).ThenBy(r => r.Day)];
    }

    private static List<DailyMetricRow> ExpectedDaily(Scenario scenario)
    {
        var sent = scenario.Sent.GroupBy(e => e.MessageId).Select(g => g.First()).ToList();
        var links = sent.Where(e => e.Type == "alias").ToDictionary(e => e.PreviousId!, e => e.UserId!);
        return [.. sent.Where(e => e.Type == "track")
            .GroupBy(e => (Day: RollupWindow.DayOf(e.At), e.Name))
            .Select(g => new DailyMetricRow(g.Key.Day, g.Key.Name!, g.Count(), g.Select(e => e.UserId ?? links.GetValueOrDefault(e.AnonymousId!) ?? e.AnonymousId).Distinct().Count()))
            .OrderBy(r => r.Day).ThenBy(r => r.Event, StringComparer.Ordinal)];
    }

    private async Task AssertMatchesAsync(Scenario scenario)
    {
        Assert.Equal(ExpectedDaily(scenario), await ReadDailyAsync(scenario));
        var expected = Expected(scenario);
        var stored = await ReadExperimentAsync(scenario);
        Assert.Equal(expected.Select(Key), stored.Select(Key));
        foreach (var (e, s) in expected.Zip(stored))
        {
            Assert.Equal(e.Units, s.Units);
            double?[] expectedSums = [e.Sum, e.SumSquares, e.DenominatorSum, e.DenominatorSumSquares, e.SumProducts, e.PreSum, e.PreSumSquares, e.SumProductsPre];
            double?[] storedSums = [s.Sum, s.SumSquares, s.DenominatorSum, s.DenominatorSumSquares, s.SumProducts, s.PreSum, s.PreSumSquares, s.SumProductsPre];
            for (var i = 0; i < expectedSums.Length; i++)
            {
                Assert.True(expectedSums[i] is null ? storedSums[i] is null : storedSums[i] is { } v && Math.Abs(v - expectedSums[i]!.Value) < 1e-6,
                    $"{Key(e)} column {i}: expected {expectedSums[i]}, stored {storedSums[i]}");
            }
        }

        static string Key(ExperimentMetricRollupRow r) => $"{r.MetricKey}/{r.Variation}/{r.Day:yyyy-MM-dd}";
    }

    // ---- arranging: metrics, an experiment, and events through the real ingestion API ----

    private async Task<Scenario> ArrangeAsync(int units, double controlRate, double treatmentRate)
    {
        var ws = await Server.CreateWorkspaceAsync();
        var api = Server.NewClient(ws.SecretKey);
        object[] metrics =
        [
            new { key = "purchased", name = "Purchased within a day", type = "binomial", @event = "Purchase", conversionWindowHours = 24 },
            new { key = "purchases", name = "Purchases", type = "count", @event = "Purchase" },
            new
            {
                key = "revenue", name = "Revenue in euros", type = "sum", @event = "Purchase", valueProperty = "amount",
                filters = new[] { new { property = "currency", @operator = "eq", value = "EUR" } }, capping = new { type = "absolute", value = 100 },
            },
            new { key = "returned", name = "Came back the next day", type = "retention", @event = "Visit", retentionDay = 1 },
            new { key = "revenue-per-purchase", name = "Revenue per purchase", type = "ratio", numerator = "revenue", denominator = "purchases" },
            new { key = "visits", name = "Visits", type = "count", @event = "Visit", cupedPreDays = 2 },
        ];
        foreach (var metric in metrics)
        {
            await (await api.PostAsJsonAsync("/api/v1/metrics", metric)).ReadOkAsync();
        }

        var key = Infrastructure.Unique("checkout");
        await (await api.PostAsJsonAsync("/api/v1/experiments", new
        {
            key,
            name = "Checkout",
            variations = new object[] { new { key = "control" }, new { key = "fast" } },
            metrics = new { primary = new[] { "purchased" }, secondary = new[] { "purchases", "revenue", "returned", "revenue-per-purchase", "visits" } },
        })).ReadOkAsync();
        await (await api.PostAsync($"/api/v1/experiments/{key}/start", null)).ReadOkAsync();

        var scenario = new Scenario(ws.Workspace.Id, ws.Workspace.Slug, key, api, Server.NewClient(ws.ClientKey));
        var random = new Random(units);
        var tag = Infrastructure.Unique("p");
        var events = new List<SentEvent>();
        for (var i = 0; i < units; i++)
        {
            var variation = i % 2;
            var exposed = i switch
            {
                0 => Base.AddDays(1).AddSeconds(-1),     // 23:59:59 on the first day
                1 => Base.AddDays(1),                     // 00:00:00 on the second
                _ => Base.AddDays(i % 3).AddHours(8).AddMinutes(i),
            };
            var anonymous = i % 4 == 3;
            var id = anonymous ? $"a-{tag}-{i}" : $"u-{tag}-{i}";
            var unit = new TestUnit(id, variation, exposed, anonymous ? new Identity(null, id) : new Identity(id, null));
            scenario.Units.Add(unit);
            events.Add(Track(unit.EventIdentity, "Experiment Viewed", exposed, new { experimentId = key, variationId = variation == 0 ? "control" : "fast" }, variation));
            var later = unit.EventIdentity;
            if (anonymous)
            {
                // Identified an hour after exposure; everything after that is sent under the user id only.
                var user = $"u-{tag}-{i}";
                events.Add(new SentEvent(NewId(), "alias", null, user, null, exposed.AddHours(1), null, PreviousId: id));
                later = new Identity(user, null);
            }

            for (var v = random.Next(0, 3); v > 0; v--)
            {
                events.Add(Track(unit.EventIdentity, "Visit", exposed.AddHours(-random.Next(1, 60)), null));
            }

            for (var v = random.Next(0, 3); v > 0; v--)
            {
                events.Add(Track(later, "Visit", exposed.AddDays(1).AddHours(random.Next(0, 36)), null));
            }

            var purchases = random.NextDouble() < (variation == 0 ? controlRate : treatmentRate) ? random.Next(1, 3) : 0;
            for (var p = 0; p < purchases; p++)
            {
                var at = i switch
                {
                    2 => exposed.AddHours(24),                 // exactly at the end of the conversion window: converted
                    4 => exposed.AddHours(24).AddSeconds(1),   // a second later: not converted, but counted
                    _ => exposed.AddHours(random.Next(2, 30)),
                };
                events.Add(Track(later, "Purchase", at, new { amount = random.Next(5, 150), currency = random.NextDouble() < 0.8 ? "EUR" : "USD" }));
            }
        }

        // Someone outside the experiment, across a UTC midnight.
        events.Add(Track(new Identity($"u-{tag}-outsider", null), "Visit", Base.AddDays(4).AddSeconds(-1), null));
        events.Add(Track(new Identity($"u-{tag}-outsider", null), "Visit", Base.AddDays(4), null));

        // Out of order: shuffled, but each unit's exposure still before anything else of it (the first exposure stored wins).
        var exposures = events.Where(e => e.Name == "Experiment Viewed").ToList();
        var rest = events.Except(exposures).OrderBy(_ => random.Next()).ToList();
        await scenario.SendAsync([.. exposures, .. rest]);
        return scenario;
    }

    private static SentEvent Track(Identity who, string name, DateTimeOffset at, object? properties, int? variation = null)
    {
        var json = properties is null ? null : System.Text.Json.JsonSerializer.SerializeToNode(properties);
        return new SentEvent(NewId(), "track", name, who.UserId, who.AnonymousId, at, properties, Variation: variation,
            Amount: json?["amount"]?.GetValue<double>() ?? 0, Currency: json?["currency"]?.GetValue<string>());
    }

    private static string NewId() => Infrastructure.Unique("m");

    private async Task<IReadOnlyList<RollupRunDto>> RunAsync(Scenario scenario, string job, int? windowDays = null) =>
        await Server.WithServicesAsync(async s =>
        {
            var runner = s.GetRequiredService<RollupRunner>();
            var runs = new List<RollupRunDto>();
            foreach (var name in job == "all" ? runner.Jobs : [job])
            {
                runs.Add(await runner.RunAsync(scenario.Workspace, name, windowDays, default));
            }

            return runs;
        });

    private Task<List<RollupDifference>> VerifyAsync(Scenario scenario) =>
        Server.WithServicesAsync(async s =>
        {
            var runner = s.GetRequiredService<RollupRunner>();
            var all = new List<RollupDifference>();
            foreach (var name in runner.Jobs)
            {
                all.AddRange(await runner.VerifyAsync(scenario.Workspace, name, null, default));
            }

            return all;
        });

    private Task<List<DailyMetricRow>> ReadDailyAsync(Scenario scenario) =>
        Server.WithServicesAsync(async s => (await s.GetRequiredService<DailyMetricRollups>().ReadAsync(scenario.Workspace, DateOnly.MinValue, DateOnly.MaxValue, null, default)).ToList());

    private Task<List<ExperimentMetricRollupRow>> ReadExperimentAsync(Scenario scenario) =>
        Server.WithServicesAsync(async s => (await s.GetRequiredService<ExperimentMetricRollups>().ReadAsync(scenario.Workspace, scenario.ExperimentKey, default))
            .Select(r => r with { ComputedAt = null }).ToList());

    private sealed record Identity(string? UserId, string? AnonymousId);

    private sealed record TestUnit(string Id, int Variation, DateTimeOffset ExposedAt, Identity EventIdentity);

    private sealed record SentEvent(
        string MessageId, string Type, string? Name, string? UserId, string? AnonymousId, DateTimeOffset At, object? Properties,
        string? PreviousId = null, int? Variation = null, double Amount = 0, string? Currency = null);

    private sealed record Scenario(Guid Workspace, string Slug, string ExperimentKey, HttpClient Api, HttpClient Writer)
    {
        public List<TestUnit> Units { get; } = [];

        /// <summary>Everything sent, duplicates included (the computation dedups by message id, as ingestion must).</summary>
        public List<SentEvent> Sent { get; } = [];

        public async Task SendAsync(IReadOnlyList<SentEvent> events, bool record = true)
        {
            foreach (var chunk in events.Chunk(100))
            {
                var batch = chunk.Select(e => e.Type == "alias"
                    ? (object)new { type = "alias", messageId = e.MessageId, previousId = e.PreviousId, userId = e.UserId, timestamp = e.At.ToString("O", CultureInfo.InvariantCulture) }
                    : new { type = "track", messageId = e.MessageId, @event = e.Name, userId = e.UserId, anonymousId = e.AnonymousId, timestamp = e.At.ToString("O", CultureInfo.InvariantCulture), properties = e.Properties });
                await (await Writer.PostAsJsonAsync("/v1/batch", new { batch })).ReadOkAsync();
            }

            if (record)
            {
                Sent.AddRange(events);
            }
        }
    }
}

/// <summary>A server whose periodic rollups are off, so only the tests run rollups.</summary>
public abstract class RollupServerFixture : ServerFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>>? Settings =>
    [
        new("Jobs:Periodic:rollup-daily:Cron", "off"),
        new("Jobs:Periodic:rollup-experiments:Cron", "off"),
        new("Jobs:Periodic:rollup-vitals:Cron", "off"),
        new("Jobs:Periodic:rollup-funnels:Cron", "off"),
        new("Jobs:Periodic:rollup-retention:Cron", "off"),
        new("Jobs:Periodic:rollup-kfactor:Cron", "off"),
        new("Jobs:Periodic:prune-rollup-runs:Cron", "off"),
    ];
}

public sealed class SqliteRollupServerFixture : RollupServerFixture
{
    public override string ProviderName => "SQLite";

    protected override Task<TestDatabase?> CreateDatabaseAsync() => Task.FromResult<TestDatabase?>(TestDatabase.Sqlite());
}

public sealed class PostgresRollupServerFixture : RollupServerFixture
{
    public override string ProviderName => "PostgreSQL";

    protected override Task<TestDatabase?> CreateDatabaseAsync() => PostgresServerFixture.PostgresDatabaseAsync(GetType().Name);
}

[Trait("Provider", "SQLite")]
public sealed class RollupsOnSqlite(SqliteRollupServerFixture fixture) : RollupsContract(fixture), IClassFixture<SqliteRollupServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class RollupsOnPostgres(PostgresRollupServerFixture fixture) : RollupsContract(fixture), IClassFixture<PostgresRollupServerFixture>;
