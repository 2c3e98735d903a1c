using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Events;

/// <summary>
/// Segment's own Node.js client (npm @segment/analytics-node), pointed at a running Upswing with its <c>host</c>
/// option and the workspace's client key as write key: every call type arrives once with what the client built, also
/// when answers are lost and the client sends the same batch again.
/// </summary>
public abstract class SegmentNodeClientContract(ServerFixture fixture)
{
    private static readonly NodeScripts Scripts = new(Path.Combine("tests", "Upswing.IntegrationTests", "Events", "js"), "Segment's Node.js client", "@segment/analytics-node");
    private static readonly string[] CallTypes = ["track", "identify", "page", "screen", "group", "alias"];

    private UpswingTestServer Server => fixture.Server;

    [Fact]
    public async Task EveryCallOfTheNodeClient_IsStoredOnce_WithItsPropertiesTraitsAndContext()
    {
        await Scripts.EnsureInstalledAsync();
        var ws = await Server.CreateWorkspaceAsync();
        var userId = Infrastructure.Unique("node-user");

        var sent = await SendAsync(Server.BaseAddress, ws.ClientKey, userId, perType: 200, flushAt: 100);

        Assert.Equal(200 * CallTypes.Length, sent.Count);
        await AssertStoredExactlyOnceAsync(ws, userId, sent);
    }

    [Fact]
    public async Task BatchesWhoseAnswerIsLost_AreRetriedByTheNodeClient_AndStoredExactlyOnce()
    {
        await Scripts.EnsureInstalledAsync();
        var ws = await Server.CreateWorkspaceAsync();
        var userId = Infrastructure.Unique("node-retry");
        await using var relay = await FlakyRelay.StartAsync(Server.BaseAddress);

        var sent = await SendAsync(relay.BaseAddress, ws.ClientKey, userId, perType: 100, flushAt: 20);

        // The relay really made the client send batches again: each lost answer was followed by a retry of the same
        // message ids, both for batches Upswing had already stored and for batches it never saw.
        var attempts = relay.Attempts.ToList();
        var firstTries = attempts.Where(a => !a.Retry).ToList();
        Assert.Equal(sent.Count, firstTries.Sum(a => a.MessageIds.Length));
        foreach (var fault in new[] { Fault.StoredThen503, Fault.StoredThenDropped, Fault.NotStored503 })
        {
            var faulted = firstTries.Where(a => a.Fault == fault).ToList();
            Assert.True(faulted.Count >= 3, $"only {faulted.Count} first attempts got {fault}");
            foreach (var attempt in faulted)
            {
                Assert.Contains(attempts, a => a.Retry && a.MessageIds.SequenceEqual(attempt.MessageIds, StringComparer.Ordinal));
            }
        }

        await AssertStoredExactlyOnceAsync(ws, userId, sent);
    }

    private async Task AssertStoredExactlyOnceAsync(TestWorkspace ws, string userId, IReadOnlyList<JsonNode> sent)
    {
        using var api = Server.NewClient(ws.SecretKey);
        var stored = new List<JsonNode>();
        foreach (var type in CallTypes)
        {
            // At most 200 of each type, so one page (up to 1000) holds them all.
            stored.AddRange((await (await api.GetAsync($"/api/v1/events?userId={userId}&type={type}&limit=1000")).ReadOkAsync()).AsArray().Select(e => e!));
        }

        var duplicates = stored.GroupBy(e => e.Str("messageId"), StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(duplicates.Count == 0, $"{duplicates.Count} message ids stored more than once, e.g. {string.Join(", ", duplicates.Take(5))}");
        var byMessageId = stored.ToDictionary(e => e.Str("messageId"), StringComparer.Ordinal);
        var missing = sent.Where(e => !byMessageId.ContainsKey(e.Str("messageId"))).Select(e => e.Str("messageId")).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {sent.Count} sent events are missing, e.g. {string.Join(", ", missing.Take(5))}");
        Assert.Equal(sent.Count, stored.Count);

        foreach (var expected in sent)
        {
            var actual = byMessageId[expected.Str("messageId")];
            var what = $"{expected.Str("type")} {expected.Str("messageId")}";
            Assert.True(expected.Str("type") == actual.Str("type"), what);
            Assert.True((expected["event"] ?? expected["name"])?.GetValue<string>() == actual["name"]?.GetValue<string>(), $"{what}: name");
            Assert.True(JsonNode.DeepEquals(expected["properties"], actual["properties"]), $"{what}: properties {expected["properties"]?.ToJsonString()} stored as {actual["properties"]?.ToJsonString()}");
            Assert.True(JsonNode.DeepEquals(expected["traits"], actual["traits"]), $"{what}: traits {expected["traits"]?.ToJsonString()} stored as {actual["traits"]?.ToJsonString()}");
            Assert.True(expected["groupId"]?.GetValue<string>() == actual["groupId"]?.GetValue<string>(), $"{what}: groupId");
            Assert.True(expected["previousId"]?.GetValue<string>() == actual["previousId"]?.GetValue<string>(), $"{what}: previousId");
            Assert.Equal(DateTimeOffset.Parse(expected.Str("timestamp"), System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.Parse(actual.Str("originalTimestamp"), System.Globalization.CultureInfo.InvariantCulture));

            // Everything the client put in the context (its library, our campaign) is kept as sent.
            var context = actual["context"]!.AsObject();
            foreach (var (key, value) in expected["context"]!.AsObject())
            {
                Assert.True(JsonNode.DeepEquals(value, context[key]), $"{what}: context.{key} {value?.ToJsonString()} stored as {context[key]?.ToJsonString()}");
            }

            Assert.Equal("@segment/analytics-node", context["library"]!.Str("name"));
        }
    }

    /// <summary>Runs send.mjs; returns every event as the client built it, after asserting the client reported all delivered.</summary>
    private static async Task<IReadOnlyList<JsonNode>> SendAsync(Uri host, string writeKey, string userId, int perType, int flushAt)
    {
        var input = new JsonObject
        {
            ["host"] = host.ToString().TrimEnd('/'),
            ["writeKey"] = writeKey,
            ["userId"] = userId,
            ["perType"] = perType,
            ["flushAt"] = flushAt,
            ["flushInterval"] = 200,
            ["maxRetries"] = 3,
            ["httpRequestTimeout"] = 10_000,
        };
        var output = JsonNode.Parse(await Scripts.RunNodeAsync(["send.mjs"], input.ToJsonString()))!;
        var results = output["events"]!.AsArray();
        var failed = results.Where(r => !r!["delivered"]!.GetValue<bool>()).ToList();
        Assert.True(failed.Count == 0, $"the client gave up on {failed.Count} events, e.g. {failed.FirstOrDefault()?["error"]}");
        return results.Select(r => r!["event"]!).ToList();
    }

    /// <summary>What the relay does to a first attempt; first attempts take these in turn.</summary>
    private enum Fault
    {
        None = 0,
        StoredThen503 = 1,
        StoredThenDropped = 2,
        NotStored503 = 3,
    }

    private sealed record Attempt(bool Retry, Fault Fault, string[] MessageIds);

    /// <summary>
    /// An HTTP relay on a loopback port between the client and Upswing. First attempts of batches take turns: the
    /// batch is stored and the client told 503; stored and the connection dropped before any answer; not forwarded
    /// and 503; passed through. Retries (the client's X-Retry-Count header) always pass through.
    /// </summary>
    private sealed class FlakyRelay : IAsyncDisposable
    {
        private readonly WebApplication app;
        private readonly HttpClient upstream;
        private int firstAttempts;

        private FlakyRelay(WebApplication app, HttpClient upstream)
        {
            this.app = app;
            this.upstream = upstream;
        }

        public ConcurrentQueue<Attempt> Attempts { get; } = new();

        public Uri BaseAddress { get; private set; } = null!;

        public static async Task<FlakyRelay> StartAsync(Uri target)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var relay = new FlakyRelay(app, new HttpClient { BaseAddress = target, Timeout = TimeSpan.FromSeconds(30) });
            app.Map("/{**path}", relay.HandleAsync);
            await app.StartAsync();
            relay.BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            return relay;
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
            upstream.Dispose();
        }

        private async Task HandleAsync(HttpContext context)
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            var body = buffer.ToArray();
            var messageIds = JsonNode.Parse(body)!["batch"]!.AsArray().Select(m => m!.Str("messageId")).ToArray();
            var retry = context.Request.Headers.ContainsKey("X-Retry-Count");
            var fault = retry ? Fault.None : (Fault)(Interlocked.Increment(ref firstAttempts) % 4);
            Attempts.Enqueue(new Attempt(retry, fault, messageIds));

            if (fault == Fault.NotStored503)
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return;
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, context.Request.Path + context.Request.QueryString) { Content = new ByteArrayContent(body) };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", context.Request.ContentType);
            request.Headers.TryAddWithoutValidation("Authorization", context.Request.Headers.Authorization.ToString());
            using var response = await upstream.SendAsync(request, context.RequestAborted);
            var answer = await response.Content.ReadAsByteArrayAsync(context.RequestAborted);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            switch (fault)
            {
                case Fault.StoredThen503:
                    context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    break;
                case Fault.StoredThenDropped:
                    context.Abort();
                    break;
                default:
                    context.Response.StatusCode = (int)response.StatusCode;
                    context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
                    await context.Response.Body.WriteAsync(answer, context.RequestAborted);
                    break;
            }
        }
    }
}

public sealed class SegmentNodeClientOnSqlite(SqliteServerFixture fixture) : SegmentNodeClientContract(fixture), IClassFixture<SqliteServerFixture>;

public sealed class SegmentNodeClientOnPostgres(PostgresServerFixture fixture) : SegmentNodeClientContract(fixture), IClassFixture<PostgresServerFixture>;
