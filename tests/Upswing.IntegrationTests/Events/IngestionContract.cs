using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Data;
using Upswing.Events;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Events;

/// <summary>Segment-compatible and native ingestion and the read side, on SQLite and PostgreSQL.</summary>
public abstract class IngestionContract(ServerFixture fixture)
{
    private UpswingTestServer Server => fixture.Server;

    [Fact]
    public async Task Track_SentThreeTimes_IsStoredOnce()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var writer = BasicClient(ws.ClientKey);
        using var api = Server.NewClient(ws.SecretKey);
        var userId = Infrastructure.Unique("user");
        var message = new { userId, @event = "Order Completed", messageId = Infrastructure.Unique("msg"), properties = new { total = 42.5, items = new[] { "a", "b" } } };

        for (var i = 0; i < 3; i++)
        {
            var response = await writer.PostAsJsonAsync("/v1/track", message);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True((await response.ReadAsync())["success"]!.GetValue<bool>());
        }

        var events = await (await api.GetAsync($"/api/v1/events?userId={userId}")).ReadOkAsync();
        var stored = Assert.Single(events.AsArray())!;
        Assert.Equal("track", stored.Str("type"));
        Assert.Equal("Order Completed", stored.Str("name"));
        Assert.Equal(message.messageId, stored.Str("messageId"));
        Assert.Equal(42.5, stored["properties"]!["total"]!.GetValue<double>());
        Assert.Equal("b", stored["properties"]!["items"]![1]!.GetValue<string>());
        var today = TimeProvider.System.GetUtcNow().ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var stats = await (await api.GetAsync("/api/v1/events/stats?name=Order%20Completed")).ReadOkAsync();
        var count = Assert.Single(stats.AsArray())!;
        Assert.Equal(today, count.Str("day"));
        Assert.Equal(1, count["count"]!.GetValue<long>());
    }

    [Fact]
    public async Task Batch_ResendingSomeStoredIds_StoresOnlyTheNewOnes_AndLaterBatchesWhole()
    {
        // PostgreSQL claims ids by COPY and falls back to ON CONFLICT when one was stored before: both paths, in turn.
        var ws = await Server.CreateWorkspaceAsync();
        using var writer = BasicClient(ws.ClientKey);
        using var api = Server.NewClient(ws.SecretKey);
        var userId = Infrastructure.Unique("user");
        var prefix = Infrastructure.Unique("m");
        object Track(int n) => new { type = "track", userId, @event = "Step", messageId = $"{prefix}-{n}", properties = new { n } };

        foreach (var ids in new[] { new[] { 1, 2, 3 }, [2, 3, 4, 5, 5], [6], [1, 6, 7] })
        {
            var response = await writer.PostAsJsonAsync("/v1/batch", new { batch = ids.Select(Track).ToArray() });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var stored = (await (await api.GetAsync($"/api/v1/events?userId={userId}&limit=100")).ReadOkAsync()).AsArray();
        Assert.Equal([1, 2, 3, 4, 5, 6, 7], stored.Select(e => e!["properties"]!["n"]!.GetValue<int>()).Order());
        var stats = await (await api.GetAsync("/api/v1/events/stats?name=Step")).ReadOkAsync();
        Assert.Equal(7, Assert.Single(stats.AsArray())!["count"]!.GetValue<long>());
    }

    [Fact]
    public async Task Stats_SumEveryWritersCounterRow_IntoOneRowPerNameAndDay()
    {
        // Each PostgreSQL writer loop (and each node) adds to counter rows of its own shard, so that two commits never
        // wait on one row's lock. Another writer's row is planted first; then concurrent batches land on this node's.
        var ws = await Server.CreateWorkspaceAsync();
        using var writer = BasicClient(ws.ClientKey);
        using var api = Server.NewClient(ws.SecretKey);
        var today = DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().UtcDateTime);
        await Server.WithServicesAsync(async services =>
        {
            var db = services.GetRequiredService<UpswingDb>();
            db.Add(new EventDailyCount { WorkspaceId = ws.Workspace.Id, Day = today, Type = "track", Name = "Counted", Shard = 31, Count = 5 });
            return await db.SaveChangesAsync();
        });

        var prefix = Infrastructure.Unique("c");
        await Parallel.ForEachAsync(Enumerable.Range(0, 24), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (b, ct) =>
        {
            var batch = Enumerable.Range(0, 25).Select(i => new { type = "track", userId = $"u{b}", @event = "Counted", messageId = $"{prefix}-{b}-{i}" }).ToArray();
            Assert.Equal(HttpStatusCode.OK, (await writer.PostAsJsonAsync("/v1/batch", new { batch }, ct)).StatusCode);
        });

        var stats = await (await api.GetAsync("/api/v1/events/stats?name=Counted")).ReadOkAsync();
        var count = Assert.Single(stats.AsArray())!;
        Assert.Equal(today.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), count.Str("day"));
        Assert.Equal(5 + (24 * 25), count["count"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("/v1/identify", "identify")]
    [InlineData("/v1/i", "identify")]
    [InlineData("/v1/page", "page")]
    [InlineData("/v1/p", "page")]
    [InlineData("/v1/screen", "screen")]
    [InlineData("/v1/s", "screen")]
    [InlineData("/v1/group", "group")]
    [InlineData("/v1/g", "group")]
    [InlineData("/v1/t", "track")]
    public async Task EverySegmentPath_StoresItsCall(string path, string type)
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var writer = BasicClient(ws.ClientKey);
        using var api = Server.NewClient(ws.SecretKey);
        var anonymousId = Infrastructure.Unique("anon");
        var response = await writer.PostAsJsonAsync(path, new { anonymousId, @event = "Clicked", name = "Pricing", groupId = "acme", traits = new { plan = "team" } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var stored = Assert.Single((await (await api.GetAsync($"/api/v1/events?anonymousId={anonymousId}")).ReadOkAsync()).AsArray())!;
        Assert.Equal(type, stored.Str("type"));
        if (type == "group")
        {
            Assert.Equal("acme", stored.Str("groupId"));
            Assert.Equal("team", stored["traits"]!.Str("plan"));
        }
    }

    [Fact]
    public async Task Alias_LinksThePreviousIdToTheUser()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var writer = BasicClient(ws.ClientKey);
        using var api = Server.NewClient(ws.SecretKey);
        var (anonymousId, userId) = (Infrastructure.Unique("anon"), Infrastructure.Unique("user"));
        await (await writer.PostAsJsonAsync("/v1/page", new { anonymousId, name = "Home" })).ReadOkAsync();
        await (await writer.PostAsJsonAsync("/v1/a", new { previousId = anonymousId, userId })).ReadOkAsync();

        var profile = await (await api.GetAsync($"/api/v1/users/{anonymousId}")).ReadOkAsync();
        Assert.Equal(userId, profile.Str("userId"));
        Assert.Equal([anonymousId], profile["anonymousIds"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["alias", "page"], profile["events"]!.AsArray().Select(e => e!.Str("type")).Order());
    }

    [Fact]
    public async Task TextPlainBeacon_WithWriteKeyInBody_IsAccepted()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var anonymousId = Infrastructure.Unique("anon");
        var body = JsonSerializer.Serialize(new { writeKey = ws.ClientKey, batch = new object[] { new { type = "page", anonymousId, name = "Docs" } } });
        using var content = new StringContent(body, Encoding.UTF8, "text/plain");
        var response = await Server.Client.PostAsync("/v1/b", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var stored = Assert.Single((await (await api.GetAsync($"/api/v1/events?anonymousId={anonymousId}")).ReadOkAsync()).AsArray())!;
        Assert.Equal("Docs", stored["properties"]!.Str("name"));
    }

    [Fact]
    public async Task GzipBatch_WithFormContentType_IsAccepted()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var writer = BasicClient(ws.ClientKey);
        using var api = Server.NewClient(ws.SecretKey);
        var userId = Infrastructure.Unique("user");
        var batch = Enumerable.Range(0, 50).Select(i => new { type = "track", userId, @event = "Viewed", properties = new { i } }).ToArray();
        var json = JsonSerializer.SerializeToUtf8Bytes(new { batch });
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(json);
        }

        using var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
        content.Headers.ContentEncoding.Add("gzip");
        Assert.Equal(HttpStatusCode.OK, (await writer.PostAsync("/v1/batch", content)).StatusCode);

        var stored = await (await api.GetAsync($"/api/v1/events?userId={userId}&limit=100")).ReadOkAsync();
        Assert.Equal(Enumerable.Range(0, 50), stored.AsArray().Select(e => e!["properties"]!["i"]!.GetValue<int>()).Order());
    }

    [Fact]
    public async Task ClockSkew_IsCorrectedFromSentAt()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var writer = BasicClient(ws.ClientKey);
        using var api = Server.NewClient(ws.SecretKey);
        var userId = Infrastructure.Unique("user");
        // The device clock runs a year behind; the event happened 30 s before it was sent.
        var sentAt = TimeProvider.System.GetUtcNow().AddYears(-1);
        var before = TimeProvider.System.GetUtcNow();
        await (await writer.PostAsJsonAsync("/v1/batch", new
        {
            sentAt,
            batch = new object[] { new { type = "track", userId, @event = "Skewed", originalTimestamp = sentAt.AddSeconds(-30) } },
        })).ReadOkAsync();
        var after = TimeProvider.System.GetUtcNow();

        var stored = Assert.Single((await (await api.GetAsync($"/api/v1/events?userId={userId}")).ReadOkAsync()).AsArray())!;
        var timestamp = stored["timestamp"]!.GetValue<DateTimeOffset>();
        Assert.InRange(timestamp, before.AddSeconds(-30).AddMilliseconds(-5), after.AddSeconds(-30).AddMilliseconds(5));
        Assert.Equal(sentAt.AddSeconds(-30).ToUnixTimeMilliseconds(), stored["originalTimestamp"]!.GetValue<DateTimeOffset>().ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Identify_MergesTraitsAndLinksIds_AndTheProfileShowsThem()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var writer = BasicClient(ws.ClientKey);
        using var api = Server.NewClient(ws.SecretKey);
        var (anonymousId, userId) = (Infrastructure.Unique("anon"), Infrastructure.Unique("user"));
        await (await writer.PostAsJsonAsync("/v1/track", new { anonymousId, @event = "Landing Viewed" })).ReadOkAsync();
        await (await writer.PostAsJsonAsync("/v1/identify", new { userId, anonymousId, traits = new { email = "ada@example.com", plan = "free", address = new { city = "Paris" } } })).ReadOkAsync();
        await (await writer.PostAsJsonAsync("/v1/identify", new { userId, traits = new { plan = "pro", address = new { country = "FR" } } })).ReadOkAsync();
        await (await writer.PostAsJsonAsync("/v1/track", new { userId, @event = "Upgraded" })).ReadOkAsync();

        foreach (var id in new[] { userId, anonymousId })
        {
            var profile = await (await api.GetAsync($"/api/v1/users/{id}")).ReadOkAsync();
            Assert.Equal(userId, profile.Str("userId"));
            Assert.Equal([anonymousId], profile["anonymousIds"]!.AsArray().Select(n => n!.GetValue<string>()));
            // Segment's shallow merge: later traits replace earlier ones key by key.
            Assert.Equal("ada@example.com", profile["traits"]!.Str("email"));
            Assert.Equal("pro", profile["traits"]!.Str("plan"));
            Assert.Equal("FR", profile["traits"]!["address"]!.Str("country"));
            Assert.Null(profile["traits"]!["address"]!["city"]);
            var events = profile["events"]!.AsArray();
            Assert.Equal(4, events.Count);
            // First seen is the anonymous visit before sign-up, last seen the newest event.
            Assert.Equal(events.Single(e => e!["name"]?.GetValue<string>() == "Landing Viewed")!["timestamp"]!.GetValue<DateTimeOffset>(), profile["firstSeenAt"]!.GetValue<DateTimeOffset>());
            Assert.Equal(events[0]!["timestamp"]!.GetValue<DateTimeOffset>(), profile["lastSeenAt"]!.GetValue<DateTimeOffset>());
        }

        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/v1/users/{Infrastructure.Unique("nobody")}")).StatusCode);
    }

    [Fact]
    public async Task EventAfterAssignment_CarriesTheVariation_AndEarlierEventsDoNot()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        using var writer = BasicClient(ws.ClientKey);
        var key = Infrastructure.Unique("checkout");
        await (await api.PostAsJsonAsync("/api/v1/experiments", new { key, name = "Checkout", variations = new object[] { new { key = "control" }, new { key = "one-page" } } })).ReadOkAsync();
        await (await api.PostAsync($"/api/v1/experiments/{key}/start", null)).ReadOkAsync();
        var userId = Infrastructure.Unique("user");
        var early = TimeProvider.System.GetUtcNow().AddMinutes(-5);

        using var assigner = Server.NewClient(ws.ClientKey);
        var assignment = await (await assigner.PostAsJsonAsync("/v1/assignment", new { userId })).ReadOkAsync();
        var variation = assignment["assignments"]![0]!.Str("variationKey");
        await (await writer.PostAsJsonAsync("/v1/batch", new
        {
            batch = new object[]
            {
                new { type = "track", userId, @event = "Checkout Started" },
                new { type = "track", userId, @event = "Cart Viewed", timestamp = early },
            },
        })).ReadOkAsync();

        var events = (await (await api.GetAsync($"/api/v1/events?userId={userId}")).ReadOkAsync()).AsArray();
        var started = events.Single(e => e!.Str("name") == "Checkout Started")!;
        Assert.Equal(variation, started["experiments"]![key]!.GetValue<string>());
        Assert.Null(events.Single(e => e!.Str("name") == "Cart Viewed")!["experiments"]);
        var profile = await (await api.GetAsync($"/api/v1/users/{userId}")).ReadOkAsync();
        Assert.Equal(variation, Assert.Single(profile["assignments"]!.AsArray())!.Str("variationKey"));
    }

    [Fact]
    public async Task ExperimentViewedEvents_FromSdks_AreStoredExposures_ThatAssignmentThenKeeps()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        using var writer = BasicClient(ws.ClientKey);
        var key = Infrastructure.Unique("paywall");
        await (await api.PostAsJsonAsync("/api/v1/experiments", new { key, name = "Paywall", variations = new object[] { new { key = "control" }, new { key = "soft" }, new { key = "hard" } } })).ReadOkAsync();
        await (await api.PostAsync($"/api/v1/experiments/{key}/start", null)).ReadOkAsync();
        var (jsUser, dotnetUser, snakeUser) = (Infrastructure.Unique("js"), Infrastructure.Unique("net"), Infrastructure.Unique("seg"));

        await (await writer.PostAsJsonAsync("/v1/batch", new
        {
            batch = new object[]
            {
                // The GrowthBook JS SDK's tracking callback: variationId is the variation's index as text when variations have no keys.
                new { type = "track", userId = jsUser, @event = "Experiment Viewed", properties = new { experimentId = key, variationId = "2" } },
                // Upswing's .NET SDK: the variation key and its index.
                new { type = "track", userId = dotnetUser, @event = "Experiment Viewed", properties = new { experimentId = key, variationId = "soft", variationIndex = 1 } },
                // Segment's snake_case spelling, reported twice: the first exposure stays.
                new { type = "track", userId = snakeUser, @event = "Experiment Viewed", properties = new { experiment_id = key, variation_id = "control" } },
                new { type = "track", userId = snakeUser, @event = "Experiment Viewed", properties = new { experiment_id = key, variation_id = "hard" } },
                new { type = "track", userId = snakeUser, @event = "Experiment Viewed", properties = new { experiment_id = "no-such-experiment", variation_id = "a" } },
            },
        })).ReadOkAsync();

        using var assigner = Server.NewClient(ws.ClientKey);
        foreach (var (user, variation) in new[] { (jsUser, "hard"), (dotnetUser, "soft"), (snakeUser, "control") })
        {
            var answer = (await (await assigner.PostAsJsonAsync("/v1/assignment", new { userId = user, experiments = new[] { key } })).ReadOkAsync())["assignments"]![0]!;
            Assert.Equal(variation, answer.Str("variationKey"));
            Assert.True(answer["sticky"]!.GetValue<bool>());
        }

        var counts = await (await api.GetAsync($"/api/v1/experiments/{key}/assignments")).ReadOkAsync();
        Assert.Equal(3, counts["total"]!.GetValue<long>());
    }

    [Fact]
    public async Task InvalidEvents_AreQuarantinedWithReasons_ValidOnesStored()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var writer = BasicClient(ws.ClientKey);
        using var api = Server.NewClient(ws.SecretKey);
        var userId = Infrastructure.Unique("user");
        var response = await writer.PostAsJsonAsync("/v1/batch", new
        {
            batch = new object[]
            {
                new { type = "track", userId, @event = "Fine" },
                new { type = "track", userId },
                new { type = "track", @event = "Nobody" },
                new { type = "launch", userId },
                new { type = "track", userId, @event = "Old", timestamp = "1970-01-02T00:00:00Z" },
                new { type = "track", userId, @event = "Bad props", properties = new[] { 1, 2 } },
            },
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        Assert.Equal(["Fine"], (await (await api.GetAsync($"/api/v1/events?userId={userId}")).ReadOkAsync()).AsArray().Select(e => e!.Str("name")));
        var quarantine = (await (await api.GetAsync("/api/v1/events/quarantine")).ReadOkAsync()).AsArray();
        Assert.Equal(5, quarantine.Count);
        var reasons = quarantine.SelectMany(q => q!["reasons"]!.AsArray().Select(r => r!.GetValue<string>())).ToList();
        Assert.Contains("event is required for a track call.", reasons);
        Assert.Contains("userId or anonymousId is required.", reasons);
        Assert.Contains("type must be track, identify, page, screen, group or alias.", reasons);
        Assert.Contains("timestamp is before 2000-01-01.", reasons);
        Assert.Contains("properties must be a JSON object.", reasons);
        Assert.All(quarantine, q => Assert.Equal(JsonValueKind.Object, q!["payload"]!.GetValueKind()));
    }

    [Fact]
    public async Task NativeBatch_AnswersPerEvent_AndDedupsOnMessageId()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var writer = Server.NewClient(ws.ClientKey);
        using var api = Server.NewClient(ws.SecretKey);
        var (userId, anonymousId) = (Infrastructure.Unique("user"), Infrastructure.Unique("anon"));
        var body = new
        {
            events = new object[]
            {
                new { name = "Level Up", userId, timestamp = TimeProvider.System.GetUtcNow().AddMinutes(-1), properties = new { level = 3 }, messageId = Infrastructure.Unique("m") },
                new { userId, properties = new { level = 4 } },
                new { name = "Level Up", anonymousId },
            },
        };
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var result = await (await writer.PostAsJsonAsync("/v1/events", body)).ReadOkAsync();
            Assert.Equal(2, result["accepted"]!.GetValue<int>());
            Assert.Equal(1, result["quarantined"]!.GetValue<int>());
            var items = result["results"]!.AsArray();
            Assert.Equal(["accepted", "quarantined", "accepted"], items.Select(i => i!.Str("status")));
            Assert.Equal(["name is required."], items[1]!["errors"]!.AsArray().Select(e => e!.GetValue<string>()));
        }

        // The first event had a messageId and is stored once; the third had none, so each send is a new event.
        var stored = (await (await api.GetAsync($"/api/v1/events?userId={userId}")).ReadOkAsync()).AsArray();
        Assert.Equal(3, Assert.Single(stored)!["properties"]!["level"]!.GetValue<int>());
        Assert.Equal(2, (await (await api.GetAsync($"/api/v1/events?anonymousId={anonymousId}")).ReadOkAsync()).AsArray().Count);
    }

    [Fact]
    public async Task Limits_OversizedEventOrBatch_Is413_AndNothingIsStored()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var writer = BasicClient(ws.ClientKey);
        using var api = Server.NewClient(ws.SecretKey);
        var userId = Infrastructure.Unique("user");
        var big = new string('x', 33 * 1024);

        await AssertProblem(await writer.PostAsJsonAsync("/v1/track", new { userId, @event = "Big", properties = new { big } }), 413, "urn:upswing:problem:payload-too-large");
        await AssertProblem(await writer.PostAsJsonAsync("/v1/batch", new { batch = new object[] { new { type = "track", userId, @event = "Small" }, new { type = "track", userId, @event = "Big", properties = new { big } } } }), 413, "urn:upswing:problem:payload-too-large");
        var many = Enumerable.Range(0, 20).Select(_ => new { type = "track", userId, @event = "Medium", properties = new { text = new string('y', 30 * 1024) } }).ToArray();
        await AssertProblem(await writer.PostAsJsonAsync("/v1/batch", new { batch = many }), 413, "urn:upswing:problem:payload-too-large");

        Assert.Empty((await (await api.GetAsync($"/api/v1/events?userId={userId}")).ReadOkAsync()).AsArray());
    }

    [Fact]
    public async Task MalformedRequests_AreClearProblems()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var writer = BasicClient(ws.ClientKey);
        await AssertProblem(await Server.Client.PostAsJsonAsync("/v1/track", new { userId = "u", @event = "x" }), 401, "urn:upswing:problem:unauthorized");
        await AssertProblem(await Server.Client.PostAsJsonAsync("/v1/track", new { userId = "u", @event = "x", writeKey = "us_ck_nope" }), 401, "urn:upswing:problem:unauthorized");
        using var invalid = new StringContent("{\"batch\": [", Encoding.UTF8, "application/json");
        await AssertProblem(await writer.PostAsync("/v1/batch", invalid), 400, "urn:upswing:problem:bad-request");
        await AssertProblem(await writer.PostAsJsonAsync("/v1/batch", new { events = Array.Empty<object>() }), 400, "urn:upswing:problem:bad-request");
        await AssertProblem(await writer.PostAsJsonAsync("/v1/batch", new[] { 1 }), 400, "urn:upswing:problem:bad-request");
        await AssertProblem(await writer.PostAsJsonAsync("/v1/events", new { batch = Array.Empty<object>() }), 400, "urn:upswing:problem:bad-request");
        using var notGzip = new ByteArrayContent([1, 2, 3]);
        notGzip.Headers.ContentEncoding.Add("gzip");
        await AssertProblem(await writer.PostAsync("/v1/track", notGzip), 400, "urn:upswing:problem:bad-request");
        using var empty = new ByteArrayContent([]);
        await AssertProblem(await writer.PostAsync("/v1/track", empty), 400, "urn:upswing:problem:bad-request");
    }

    [Fact]
    public async Task EventList_FiltersAndPages_WithoutSkippingEventsOfTheSameTimestamp()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var writer = BasicClient(ws.ClientKey);
        using var api = Server.NewClient(ws.SecretKey);
        var userId = Infrastructure.Unique("user");
        var at = TimeProvider.System.GetUtcNow().AddHours(-1);
        var batch = Enumerable.Range(0, 7).Select(i => new { type = "track", userId, @event = i % 2 == 0 ? "Even" : "Odd", timestamp = at, messageId = $"{userId}-{i}" }).ToArray();
        await (await writer.PostAsJsonAsync("/v1/batch", new { batch })).ReadOkAsync();

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = (await (await api.GetAsync($"/api/v1/events?userId={userId}&limit=3{cursor}")).ReadOkAsync()).AsArray();
            seen.AddRange(page.Select(e => e!.Str("messageId")));
            cursor = page.Count == 3 ? $"&before={Uri.EscapeDataString(page[^1]!.Str("timestamp"))}&beforeId={page[^1]!.Str("id")}" : null;
        }
        while (cursor is not null);

        Assert.Equal(batch.Select(b => b.messageId).Order(), seen.Order());
        Assert.Equal(7, seen.Distinct().Count());
        Assert.Equal(4, (await (await api.GetAsync($"/api/v1/events?userId={userId}&name=Even")).ReadOkAsync()).AsArray().Count);
        Assert.Single((await (await api.GetAsync($"/api/v1/events?messageId={userId}-3")).ReadOkAsync()).AsArray());
        Assert.Empty((await (await api.GetAsync($"/api/v1/events?userId={userId}&from={Uri.EscapeDataString(at.AddSeconds(1).ToString("O"))}")).ReadOkAsync()).AsArray());
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/api/v1/events?limit=0")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/api/v1/events?type=launch")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/api/v1/events/stats?from=2026-02-01&to=2026-01-01")).StatusCode);
    }

    [Fact]
    public async Task EventList_ByEnvironment_KeepsThatEnvironmentsClientKeys_AndSecretKeyEvents()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var created = await (await api.PostAsJsonAsync("/api/v1/keys", new { kind = "client", environment = "development", name = "dev" })).ReadOkAsync();
        var userId = Infrastructure.Unique("user");
        foreach (var (key, name) in new[] { (ws.ClientKey, "From production"), (created.Str("key"), "From development"), (ws.SecretKey, "From the server") })
        {
            using var writer = BasicClient(key);
            await (await writer.PostAsJsonAsync("/v1/track", new { userId, @event = name })).ReadOkAsync();
        }

        async Task<IEnumerable<string>> NamesAsync(string filter) =>
            (await (await api.GetAsync($"/api/v1/events?userId={userId}{filter}")).ReadOkAsync()).AsArray().Select(e => e!.Str("name")).Order();
        Assert.Equal(["From development", "From production", "From the server"], await NamesAsync(""));
        Assert.Equal(["From production", "From the server"], await NamesAsync("&environment=production"));
        Assert.Equal(["From development", "From the server"], await NamesAsync("&environment=development"));
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/api/v1/events?environment=staging")).StatusCode);
    }

    private HttpClient BasicClient(string key)
    {
        var client = Server.NewClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":")));
        return client;
    }

    private static async Task AssertProblem(HttpResponseMessage response, int status, string type)
    {
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(type, (await response.ReadAsync()).Str("type"));
    }
}

[Trait("Provider", "SQLite")]
public sealed class IngestionOnSqlite(SqliteServerFixture fixture) : IngestionContract(fixture), IClassFixture<SqliteServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class IngestionOnPostgres(PostgresServerFixture fixture) : IngestionContract(fixture), IClassFixture<PostgresServerFixture>;
