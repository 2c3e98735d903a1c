using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Upswing.Sdk.Tests.Support;

/// <summary>One request the emulator received, whatever it answered.</summary>
public sealed record BatchAttempt(int Status, JsonObject? Body, DateTimeOffset ReceivedAt);

/// <summary>
/// A local stand-in for the ingestion API's Segment-compatible POST /v1/batch (issue 4), written from Segment's
/// documented HTTP API: HTTP Basic with the write key as user name, JSON body {"batch": [...], "sentAt"}, each message
/// with a type, a messageId, a timestamp and a userId or anonymousId (track messages also an event name), at most
/// 32 KB per message and 500 KB per batch, answered 200 {"success": true}. Messages are stored by messageId, so a
/// retried batch is deduplicated as the real server will. Tests can queue failures (500, 429 + Retry-After) that are
/// answered before the next requests are accepted.
/// </summary>
public sealed class IngestionEmulator : IAsyncDisposable
{
    public const int MaxBatchBytes = 500 * 1024;
    public const int MaxMessageBytes = 32 * 1024;

    private readonly string writeKey;
    private readonly ConcurrentQueue<(int Status, string? RetryAfter)> scriptedFailures = new();
    private readonly ConcurrentQueue<BatchAttempt> attempts = new();
    private readonly ConcurrentDictionary<string, JsonObject> messages = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<JsonObject> acceptedBatches = new();
    private int duplicates;
    private LocalHttpServer? server;

    private IngestionEmulator(string writeKey) => this.writeKey = writeKey;

    public Uri BaseAddress => server!.BaseAddress;

    /// <summary>Every request, in arrival order, with the status it got.</summary>
    public IReadOnlyList<BatchAttempt> Attempts => attempts.ToArray();

    /// <summary>Bodies of the batches answered 200.</summary>
    public IReadOnlyList<JsonObject> AcceptedBatches => acceptedBatches.ToArray();

    /// <summary>Stored messages by messageId (each once, however often it was sent).</summary>
    public IReadOnlyDictionary<string, JsonObject> Messages => messages;

    /// <summary>Messages that arrived again in an accepted batch after they had been stored.</summary>
    public int Duplicates => Volatile.Read(ref duplicates);

    public static async Task<IngestionEmulator> StartAsync(string writeKey)
    {
        var emulator = new IngestionEmulator(writeKey);
        emulator.server = await LocalHttpServer.StartAsync(app => app.MapPost("/v1/batch", (Delegate)emulator.HandleAsync));
        return emulator;
    }

    /// <summary>The next request is answered with <paramref name="status"/> (and Retry-After, if given) instead of being accepted.</summary>
    public void FailNext(int status, string? retryAfter = null) => scriptedFailures.Enqueue((status, retryAfter));

    private async Task<IResult> HandleAsync(HttpContext http)
    {
        var received = DateTimeOffset.FromUnixTimeMilliseconds(Environment.TickCount64);
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
        var bytes = buffer.ToArray();
        JsonObject? body = null;
        try
        {
            body = JsonNode.Parse(bytes) as JsonObject;
        }
        catch (JsonException)
        {
        }

        var (status, result) = Answer(http, bytes, body);
        attempts.Enqueue(new BatchAttempt(status, body, received));
        return result;
    }

    private (int Status, IResult Result) Answer(HttpContext http, byte[] bytes, JsonObject? body)
    {
        if (!Authorized(http.Request.Headers.Authorization))
        {
            return (401, Results.Json(new { success = false, error = "invalid write key" }, statusCode: 401));
        }

        if (scriptedFailures.TryDequeue(out var failure))
        {
            if (failure.RetryAfter is not null)
            {
                http.Response.Headers.RetryAfter = failure.RetryAfter;
            }

            return (failure.Status, Results.Json(new { success = false, error = "scripted failure" }, statusCode: failure.Status));
        }

        if (!MediaTypeHeaderValue.TryParse(http.Request.ContentType, out var type) || type.MediaType != "application/json")
        {
            return (415, Results.Json(new { success = false, error = "content type must be application/json" }, statusCode: 415));
        }

        if (bytes.Length > MaxBatchBytes)
        {
            return (400, Results.Json(new { success = false, error = "batch larger than 500 KB" }, statusCode: 400));
        }

        if (Invalid(body) is { } error)
        {
            return (400, Results.Json(new { success = false, error }, statusCode: 400));
        }

        foreach (var message in body!["batch"]!.AsArray().Cast<JsonObject>())
        {
            if (!messages.TryAdd(message["messageId"]!.GetValue<string>(), (JsonObject)message.DeepClone()))
            {
                Interlocked.Increment(ref duplicates);
            }
        }

        acceptedBatches.Enqueue(body);
        return (200, Results.Json(new { success = true }));
    }

    private bool Authorized(string? header)
    {
        if (header is null || !AuthenticationHeaderValue.TryParse(header, out var auth) || auth.Scheme != "Basic" || auth.Parameter is null)
        {
            return false;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(auth.Parameter));
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            return colon >= 0 && text[..colon] == writeKey;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static string? Invalid(JsonObject? body)
    {
        if (body?["batch"] is not JsonArray batch || batch.Count == 0)
        {
            return "body must be an object with a non-empty batch array";
        }

        if (!IsTimestamp(body["sentAt"]))
        {
            return "sentAt must be an ISO-8601 timestamp";
        }

        foreach (var node in batch)
        {
            if (node is not JsonObject message)
            {
                return "every batch item must be an object";
            }

            if (Encoding.UTF8.GetByteCount(message.ToJsonString()) > MaxMessageBytes)
            {
                return "message larger than 32 KB";
            }

            var type = Text(message["type"]);
            if (type is not ("track" or "identify" or "page" or "screen" or "group" or "alias"))
            {
                return "unknown message type";
            }

            if (type == "track" && string.IsNullOrEmpty(Text(message["event"])))
            {
                return "track messages need an event";
            }

            if (string.IsNullOrEmpty(Text(message["userId"])) && string.IsNullOrEmpty(Text(message["anonymousId"])))
            {
                return "messages need a userId or an anonymousId";
            }

            if (string.IsNullOrEmpty(Text(message["messageId"])) || !IsTimestamp(message["timestamp"]))
            {
                return "messages need a messageId and an ISO-8601 timestamp";
            }

            if (message["properties"] is { } properties && properties is not JsonObject)
            {
                return "properties must be an object";
            }
        }

        return null;
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static bool IsTimestamp(JsonNode? node) =>
        Text(node) is { } s && DateTimeOffset.TryParseExact(s, ["yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mm:ssK"], CultureInfo.InvariantCulture, DateTimeStyles.None, out _);

    public async ValueTask DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }
}
