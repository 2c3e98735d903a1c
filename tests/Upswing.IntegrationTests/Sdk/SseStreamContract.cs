using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Upswing.Data;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Sdk;

/// <summary>Reads server-sent events from an open response: one `event:`/`data:` block at a time.</summary>
internal sealed class SseReader(HttpResponseMessage response, StreamReader reader) : IDisposable
{
    public static async Task<SseReader> OpenAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new SseReader(response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    /// <summary>The data of the next event named <paramref name="name"/>, skipping comments (heartbeats).</summary>
    public async Task<JsonNode> NextAsync(string name, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        string? eventName = null;
        while (true)
        {
            var line = await reader.ReadLineAsync(deadline.Token) ?? throw new InvalidOperationException("The stream ended.");
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                eventName = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && eventName == name)
            {
                return JsonNode.Parse(line[6..])!;
            }
        }
    }

    /// <summary>Events may coalesce or come one per change: reads until one satisfies <paramref name="match"/>.</summary>
    public async Task<JsonNode> NextMatchingAsync(string name, Func<JsonNode, bool> match, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var left = timeout - clock.Elapsed;
            var data = await NextAsync(name, left > TimeSpan.Zero ? left : TimeSpan.Zero);
            if (match(data))
            {
                return data;
            }
        }
    }

    public void Dispose()
    {
        reader.Dispose();
        response.Dispose();
    }
}

/// <summary>GET /sub/{clientKey}: GrowthBook's streaming channel, on SQLite and PostgreSQL.</summary>
public abstract class SseStreamContract(ServerFixture fixture)
{
    private UpswingTestServer Server => fixture.Server;

    [Fact]
    public async Task Stream_SendsThePayloadNow_AndAgainAfterEveryChange()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        await (await api.PostAsJsonAsync("/api/v1/features", new { key = "banner", valueType = "string", defaultValue = "spring" })).ReadOkAsync();
        var announced = await Server.Client.GetAsync($"/api/features/{ws.ClientKey}");
        Assert.Equal("enabled", announced.Headers.GetValues("x-sse-support").Single());

        using var sdk = Server.NewClient();
        using var stream = await SseReader.OpenAsync(sdk, $"/sub/{ws.ClientKey}");
        var first = await stream.NextAsync("features", TimeSpan.FromSeconds(10));
        Assert.Equal("spring", first["features"]!["banner"]!["defaultValue"]!.GetValue<string>());

        await (await api.PatchJsonAsync("/api/v1/features/banner", new { defaultValue = "summer" })).ReadOkAsync();
        var second = await stream.NextAsync("features", TimeSpan.FromSeconds(10));
        Assert.Equal("summer", second["features"]!["banner"]!["defaultValue"]!.GetValue<string>());

        await (await api.PostAsJsonAsync("/api/v1/saved-groups", new { key = "vip", name = "VIP", type = "list", attributeKey = "id", values = new[] { "1" } })).ReadOkAsync();
        await (await api.PutAsJsonAsync("/api/v1/features/banner/environments/production", new { rules = new object[] { new { type = "force", value = "vip", savedGroups = new[] { "vip" } } } })).ReadOkAsync();
        var third = await stream.NextMatchingAsync("features", data => data["savedGroups"]?["vip"] is not null, TimeSpan.FromSeconds(10));
        Assert.Equal("vip", third["features"]!["banner"]!["rules"]![0]!["force"]!.GetValue<string>());
    }

    [Fact]
    public async Task Stream_RefusesBadKeys()
    {
        var ws = await Server.CreateWorkspaceAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, (await Server.Client.GetAsync("/sub/us_ck_nopenopenopenopenopenopenopenopenopenopenope")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Server.Client.GetAsync($"/sub/{ws.SecretKey}")).StatusCode);
    }
}

[Trait("Provider", "SQLite")]
public sealed class SseStreamOnSqlite(SqliteServerFixture fixture) : SseStreamContract(fixture), IClassFixture<SqliteServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class SseStreamOnPostgres(PostgresServerFixture fixture) : SseStreamContract(fixture), IClassFixture<PostgresServerFixture>
{
    [Fact]
    public async Task ChangeOnOneNode_ReachesStreamsOnAnotherNode()
    {
        var cluster = await PostgresCluster.SharedAsync();
        Infrastructure.Require(cluster is not null, PostgresCluster.UnavailableReason ?? "PostgreSQL unavailable");
        var database = new TestDatabase(DatabaseProvider.Postgres, await cluster!.CreateDatabaseAsync("two-nodes"), TestDatabase.Sqlite().DataDir);
        await using var nodeA = await UpswingTestServer.StartAsync(database);
        await using var nodeB = await UpswingTestServer.StartAsync(database with { DataDir = TestDatabase.Sqlite().DataDir });
        var ws = await nodeA.CreateWorkspaceAsync();
        using var adminOnA = nodeA.NewClient(ws.SecretKey);
        await (await adminOnA.PostAsJsonAsync("/api/v1/features", new { key = "theme", valueType = "string", defaultValue = "light" })).ReadOkAsync();

        using var sdkOnB = nodeB.NewClient();
        using var stream = await SseReader.OpenAsync(sdkOnB, $"/sub/{ws.ClientKey}");
        Assert.Equal("light", (await stream.NextAsync("features", TimeSpan.FromSeconds(10)))["features"]!["theme"]!["defaultValue"]!.GetValue<string>());

        await (await adminOnA.PatchJsonAsync("/api/v1/features/theme", new { defaultValue = "dark" })).ReadOkAsync();
        // Well inside the payload cache's lifetime: only LISTEN/NOTIFY can deliver it this fast.
        var update = await stream.NextAsync("features", SdkPayloadCacheLifetime - TimeSpan.FromSeconds(1));
        Assert.Equal("dark", update["features"]!["theme"]!["defaultValue"]!.GetValue<string>());
    }

    private static readonly TimeSpan SdkPayloadCacheLifetime = Upswing.Flags.SdkPayloadCache.TimeToLive;
}
