using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Upswing.Evaluation;
using Upswing.Sdk.Tests.Support;
using Upswing.TestKit;

namespace Upswing.Sdk.Tests;

/// <summary>The SDK against the real Upswing server: fetch, conditional refresh, streaming, parity with remote evaluation, exposures.</summary>
public sealed class ClientAgainstServerTests(SdkServerFixture fixture) : IClassFixture<SdkServerFixture>
{
    private UpswingTestServer Server => fixture.Server;

    private sealed record CheckoutConfig(string Title, int MaxItems, string[] Tags);

    [Fact]
    public async Task InitialFetch_EvaluatesEveryValueTypeLocally()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        await api.CreateFeatureAsync("new-nav", "boolean", false, new { id = "staff", type = "force", condition = new { staff = true }, value = true });
        await api.CreateFeatureAsync("headline", "string", "Grow faster");
        await api.CreateFeatureAsync("max-items", "number", 20);
        await api.CreateFeatureAsync("checkout", "json", new { title = "Checkout", maxItems = 3, tags = new[] { "a", "b" } });

        await using var client = new UpswingClient(TestData.Options(Server.BaseAddress, ws.ClientKey), new HttpClient());
        Assert.False(client.IsOn("new-nav"));
        Assert.True(await client.InitializeAsync(TestContext.Current.CancellationToken));

        var staff = new JsonObject { ["id"] = "u1", ["staff"] = true };
        Assert.True(client.IsOn("new-nav", staff));
        Assert.False(client.IsOn("new-nav", new JsonObject { ["id"] = "u2" }));
        var result = client.EvalFeature("new-nav", staff);
        Assert.Equal((FeatureSource.Force, "staff"), (result.Source, result.RuleId));

        Assert.Equal("Grow faster", client.GetValue("headline", "fallback"));
        Assert.Equal(20, client.GetValue("max-items", 0));
        Assert.Equal(20.0, client.GetValue("max-items", 0.0));
        var config = client.GetValue<CheckoutConfig?>("checkout", null);
        Assert.Equal(("Checkout", 3, "a,b"), (config!.Title, config.MaxItems, string.Join(',', config.Tags)));
        Assert.Equal(3, client.GetValue("checkout", default(JsonElement)).GetProperty("maxItems").GetInt32());
        // Wrong type or unknown key: the fallback, never an exception.
        Assert.Equal(-1, client.GetValue("headline", -1));
        Assert.Equal("none", client.GetValue("no-such-flag", "none"));
        Assert.Equal(FeatureSource.UnknownFeature, client.EvalFeature("no-such-flag").Source);

        var user = client.ForUser(new Dictionary<string, object?> { ["id"] = "u3", ["staff"] = true });
        Assert.True(user.IsOn("new-nav"));
        Assert.Equal("Grow faster", user.GetValue("headline", ""));
    }

    [Fact]
    public async Task EncryptedPayload_FromTheServer_DecryptsWithTheKeysDecryptionKey()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        await api.CreateFeatureAsync("secret-sauce", "string", "ketchup", new { type = "force", condition = new { id = "u1" }, value = "truffle" });
        var created = await (await api.PostAsJsonAsync("/api/v1/keys", new { kind = "client", encryptPayload = true }, TestContext.Current.CancellationToken)).ReadOkAsync();

        await using var client = new UpswingClient(TestData.Options(Server.BaseAddress, created["key"]!.GetValue<string>(), o =>
        {
            o.DecryptionKey = created["apiKey"]!["decryptionKey"]!.GetValue<string>();
            o.Streaming = false;
        }), new HttpClient());
        Assert.True(await client.InitializeAsync(TestContext.Current.CancellationToken));
        Assert.Equal("truffle", client.GetValue("secret-sauce", "", new JsonObject { ["id"] = "u1" }));
        Assert.Equal("ketchup", client.GetValue("secret-sauce", "", new JsonObject { ["id"] = "u2" }));
    }

    [Fact]
    public async Task Refresh_SendsTheETag_AndA304KeepsThePayload()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        await api.CreateFeatureAsync("banner", "string", "spring");
        var handler = new RecordingHandler();
        await using var client = new UpswingClient(TestData.Options(Server.BaseAddress, ws.ClientKey, o => o.Streaming = false), new HttpClient(handler));
        Assert.True(await client.InitializeAsync(TestContext.Current.CancellationToken));
        Assert.True(await client.RefreshAsync(TestContext.Current.CancellationToken));

        var fetches = handler.Exchanges.Where(e => e.Path.StartsWith("/api/features/", StringComparison.Ordinal)).ToList();
        Assert.Equal((null, 200), (fetches[0].IfNoneMatch, fetches[0].Status));
        Assert.NotNull(fetches[1].IfNoneMatch);
        Assert.Equal(304, fetches[1].Status);
        Assert.Equal("spring", client.GetValue("banner", ""));

        await api.SetDefaultAsync("banner", "summer");
        await Infrastructure.WaitUntilAsync(async () => await client.RefreshAsync() && client.GetValue("banner", "") == "summer", TimeSpan.FromSeconds(15), "the changed payload");
        Assert.Contains(handler.Exchanges, e => e.Status == 200 && e.IfNoneMatch is not null);
    }

    [Fact]
    public async Task AChangeThroughTheApi_ReachesTheClientOverTheStream()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        await api.CreateFeatureAsync("headline", "string", "Grow faster");
        var logs = new LogCapture();
        await using var client = new UpswingClient(TestData.Options(Server.BaseAddress, ws.ClientKey, o => o.RefreshInterval = TimeSpan.FromHours(1)), new HttpClient(), loggerFactory: TestData.Loggers(logs));
        var updates = 0;
        client.FeaturesUpdated += (_, _) => Interlocked.Increment(ref updates);
        await client.InitializeAsync(TestContext.Current.CancellationToken);
        await TestData.WaitUntilAsync(() => client.IsStreaming, "the stream to connect");

        await api.SetDefaultAsync("headline", "Grow together");
        // Polling is an hour away: only the stream can bring the change this fast.
        await TestData.WaitUntilAsync(() => client.GetValue("headline", "") == "Grow together", "the streamed change", seconds: 5);
        Assert.True(Volatile.Read(ref updates) >= 2);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(ws.ClientKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheStream_Reconnects_AfterADroppedConnection_AndAfterAServerRestart()
    {
        var database = TestDatabase.Sqlite();
        var first = await UpswingTestServer.StartAsync(database);
        var ws = await first.CreateWorkspaceAsync();
        using (var api = first.NewClient(ws.SecretKey))
        {
            await api.CreateFeatureAsync("theme", "string", "light");
        }

        await using var relay = new TcpRelay(first.BaseAddress);
        var logs = new LogCapture();
        await using var client = new UpswingClient(
            TestData.Options(relay.BaseAddress, ws.ClientKey, o => (o.ReconnectDelay, o.RefreshInterval) = (TimeSpan.FromMilliseconds(200), TimeSpan.FromHours(1))),
            new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }),
            loggerFactory: TestData.Loggers(logs));
        await client.InitializeAsync(TestContext.Current.CancellationToken);
        await TestData.WaitUntilAsync(() => client.IsStreaming, "the stream to connect");

        relay.DropAll();
        await TestData.WaitUntilAsync(() => client.Sync.StreamConnections == 2, "a reconnect after the drop");
        using (var api = first.NewClient(ws.SecretKey))
        {
            await api.SetDefaultAsync("theme", "dark");
        }

        await TestData.WaitUntilAsync(() => client.GetValue("theme", "") == "dark", "the change over the new stream", seconds: 5);

        await first.StopAsync();
        relay.DropAll();
        await TestData.WaitUntilAsync(() => !client.IsStreaming, "the stream to notice the stop");
        await using var second = await UpswingTestServer.StartAsync(database);
        relay.Target = second.BaseAddress;
        await TestData.WaitUntilAsync(() => client.Sync.StreamConnections == 3, "a reconnect to the restarted server", seconds: 20);
        using (var api = second.NewClient(ws.SecretKey))
        {
            await api.SetDefaultAsync("theme", "solarized");
        }

        await TestData.WaitUntilAsync(() => client.GetValue("theme", "") == "solarized", "the change from the restarted server", seconds: 5);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(ws.ClientKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task TwoThousandUsers_GetTheSameAnswersLocallyAsFromRemoteEvaluation()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        await (await api.PostAsJsonAsync("/api/v1/saved-groups", new { key = "beta", name = "Beta", type = "list", attributeKey = "id", values = Enumerable.Range(0, 200).Select(i => $"user-{i * 7}").ToArray() }, TestContext.Current.CancellationToken)).ReadOkAsync();
        await api.CreateFeatureAsync("ramp", "boolean", false, new { type = "rollout", value = true, coverage = 0.3 });
        await api.CreateFeatureAsync("layout", "string", "control", new { type = "experiment", experimentKey = "layout-test", variations = new[] { "a", "b", "c" }, weights = new[] { 0.5, 0.25, 0.25 }, coverage = 0.8 });
        await api.CreateFeatureAsync("limit", "number", 10,
            new { type = "force", condition = new { country = new Dictionary<string, string[]> { ["$in"] = ["FR", "DE"] } }, value = 25 },
            new { type = "experiment", variations = new[] { 10, 20 }, hashAttribute = "deviceId", fallbackAttribute = "id" });
        await api.CreateFeatureAsync("copy", "json", new { title = "Hello" }, new { type = "force", value = new { title = "Beta" }, savedGroups = new[] { "beta" } },
            new { type = "experiment", experimentKey = "copy-test", variations = new object[] { new { title = "Hello" }, new { title = "Welcome back" } }, coverage = 0.5 });

        await using var client = new UpswingClient(TestData.Options(Server.BaseAddress, ws.ClientKey, o => o.TrackExposures = false), new HttpClient());
        Assert.True(await client.InitializeAsync(TestContext.Current.CancellationToken));

        string[] countries = ["FR", "DE", "US", "JP", "BR"];
        string[] keys = ["ramp", "layout", "limit", "copy"];
        var users = Enumerable.Range(0, 2000).Select(i => i % 2 == 0
            ? new JsonObject { ["id"] = $"user-{i}", ["country"] = countries[i % countries.Length] }
            : new JsonObject { ["id"] = $"user-{i}", ["deviceId"] = $"device-{i * 7919}", ["country"] = countries[i % countries.Length] }).ToList();
        var remote = new JsonNode[users.Count];
        using var http = Server.NewClient();
        await Parallel.ForAsync(0, users.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
            remote[i] = (await (await http.PostAsJsonAsync($"/api/eval/{ws.ClientKey}", new { attributes = users[i] }, ct)).ReadOkAsync())["features"]!);

        var mismatches = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < users.Count; i++)
        {
            var user = client.ForUser(users[i]);
            foreach (var key in keys)
            {
                var local = user.EvalFeature(key);
                var server = remote[i][key]!;
                var expectedVariation = server["rules"]?[0]?["tracks"]?[0]?["result"]?["variationId"]?.GetValue<int>();
                var localVariation = local.ExperimentResult is { InExperiment: true } r ? r.VariationId : (int?)null;
                var localValue = user.GetValue<JsonNode?>(key, null)?.ToJsonString();
                seen.Add($"{key}={localValue}");
                if (localValue != server["defaultValue"]?.ToJsonString() || localVariation != expectedVariation || user.IsOn(key) != JsonTruthy(server["defaultValue"]))
                {
                    mismatches.Add($"{users[i].ToJsonString()} {key}: local {localValue}/{localVariation}, server {server.ToJsonString()}");
                }
            }
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} mismatches, e.g. {string.Join("; ", mismatches.Take(5))}");
        Assert.Superset(new HashSet<string>(["ramp=true", "ramp=false", "layout=\"a\"", "layout=\"b\"", "layout=\"c\"", "layout=\"control\"", "limit=25", "limit=10", "limit=20", "copy={\"title\":\"Beta\"}", "copy={\"title\":\"Welcome back\"}"], StringComparer.Ordinal), seen);
    }

    [Fact]
    public async Task Exposures_AreTrackedOncePerUserExperimentAndVariation()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        await api.CreateFeatureAsync("pricing", "string", "old", new { type = "experiment", experimentKey = "pricing-test", variations = new[] { "old", "new" } });
        await api.CreateFeatureAsync("plain", "boolean", true);
        await using var emulator = await IngestionEmulator.StartAsync(ws.ClientKey);
        await using var client = new UpswingClient(TestData.Options(Server.BaseAddress, ws.ClientKey, o => o.EventsHost = emulator.BaseAddress), new HttpClient());
        await client.InitializeAsync(TestContext.Current.CancellationToken);

        for (var repeat = 0; repeat < 5; repeat++)
        {
            foreach (var id in new[] { "u1", "u2", "u3" })
            {
                client.GetValue("pricing", "", new JsonObject { ["id"] = id });
                client.IsOn("plain", new JsonObject { ["id"] = id });
            }
        }

        // No hash attribute, no exposure: GrowthBook skips users it cannot bucket.
        client.IsOn("pricing", new JsonObject { ["country"] = "FR" });
        var inline = client.Run(new Experiment { Key = "inline-test", Variations = [JsonValue.Create(0), JsonValue.Create(1)] }, new JsonObject { ["id"] = "u1" });
        Assert.True(inline.InExperiment);

        await client.FlushAsync(TestContext.Current.CancellationToken);
        var exposures = emulator.Messages.Values.Where(m => m["event"]!.GetValue<string>() == UpswingClient.ExperimentViewedEvent).ToList();
        Assert.Equal(4, exposures.Count);
        var u1 = exposures.Single(m => m["userId"]!.GetValue<string>() == "u1" && m["properties"]!["experimentId"]!.GetValue<string>() == "pricing-test");
        var expected = client.EvalFeature("pricing", new JsonObject { ["id"] = "u1" }).ExperimentResult!.Value;
        Assert.Equal(expected.Key, u1["properties"]!["variationId"]!.GetValue<string>());
        Assert.Equal(expected.VariationId, u1["properties"]!["variationIndex"]!.GetValue<int>());
        Assert.Equal("pricing", u1["properties"]!["featureId"]!.GetValue<string>());
        Assert.Single(exposures, m => m["properties"]!["experimentId"]!.GetValue<string>() == "inline-test");
    }

    private static bool JsonTruthy(JsonNode? node) => node?.GetValueKind() switch
    {
        null or JsonValueKind.Null or JsonValueKind.False => false,
        JsonValueKind.String => node.GetValue<string>().Length > 0,
        JsonValueKind.Number => node.GetValue<double>() != 0,
        _ => true,
    };
}
