using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Upswing.Access;
using Upswing.Common.Http;

namespace Upswing.Events;

/// <summary>
/// What every ingestion endpoint does between parsing and answering: find the write key, read and validate each
/// message, hand the result to the <see cref="EventWriter"/> and wait for the commit.
/// </summary>
internal sealed class Ingestion(EventWriter writer, TrackingPlans plans, IngestionMetrics metrics, TimeProvider time, Microsoft.Extensions.Options.IOptions<EventsOptions> options)
{
    public IngestionMetrics Metrics => metrics;

    /// <summary>The write key's identity, or null after answering 401 (403 for a read key).</summary>
    public async Task<KeyIdentity?> AuthenticateAsync(HttpContext http, JsonElement root)
    {
        string? key = null, error = null;
        if (http.Request.Headers.Authorization.Count > 0)
        {
            (key, error) = ApiKeyAuthenticationHandler.KeyFromAuthorization(http.Request.Headers.Authorization.ToString());
        }
        else if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("writeKey", out var writeKey) && writeKey.ValueKind == JsonValueKind.String)
        {
            key = writeKey.GetString();
        }

        var identity = key is null ? null : await KeyLookup.FindAsync(http, key);
        if (identity is { Kind: ApiKeyKind.Read })
        {
            metrics.Refused("forbidden");
            await Problems.ForbiddenProblem("Read keys may only call the /v1/metrics endpoints; events are written with a client or a secret key.").ExecuteAsync(http);
            return null;
        }

        if (identity is not null)
        {
            return identity;
        }

        metrics.Refused("unauthorized");
        http.Response.Headers.WWWAuthenticate = "Basic realm=\"upswing\"";
        await Problems.UnauthorizedProblem(key is null && error is null
            ? "A write key is required: HTTP Basic with the key as user name, 'Authorization: Bearer <key>', or writeKey in the body."
            : error ?? "The write key is not valid or has been revoked.").ExecuteAsync(http);
        return null;
    }

    /// <summary>
    /// Validates and commits; returns the per-event results, or null when it answered with an error itself
    /// (413 for an oversized event, 503 when the queue is full or the commit failed).
    /// </summary>
    public async Task<NativeBatchResult?> IngestAsync(HttpContext http, KeyIdentity key, JsonElement root, JsonElement[] messages, string? impliedType, bool native)
    {
        for (var i = 0; i < messages.Length; i++)
        {
            if (EventMessages.RawLength(messages[i]) > EventLimits.MaxEventBytes)
            {
                metrics.Refused("too_large");
                await TypedResults.Problem(statusCode: 413, type: Problems.PayloadTooLarge, title: Problems.TitleFor(413),
                    detail: $"Event {i} is larger than {EventLimits.MaxEventBytes / 1024} KB.").ExecuteAsync(http);
                return null;
            }
        }

        var plan = await plans.GetAsync(key.WorkspaceId, http.RequestAborted);
        var envelope = new Envelope(time.GetUtcNow(), ReadSentAt(root), root.TryGetProperty("context", out var context) ? context : null);
        var events = new List<IncomingEvent>(messages.Length);
        var quarantined = new List<QuarantineItem>();
        var results = new List<NativeItemResult>(native ? messages.Length : 0);
        Dictionary<string, string[]>? rejected = null;
        for (var i = 0; i < messages.Length; i++)
        {
            var (e, q) = EventMessages.Read(messages[i], impliedType, native, envelope, time);
            if (e is not null && plan.Check(e, messages[i]) is { Count: > 0 } violations)
            {
                q = new QuarantineItem(e.MessageId, e.Type, e.Name, violations, messages[i].GetRawText());
                e = null;
            }

            if (e is not null)
            {
                events.Add(e);
                if (native)
                {
                    results.Add(new NativeItemResult(i, e.MessageId, "accepted", null));
                }
            }
            else if (plan.Validation == EventValidation.Reject)
            {
                (rejected ??= [])[impliedType is not null ? "body" : (native ? "events" : "batch") + $"[{i}]"] = [.. q!.Reasons];
                if (native)
                {
                    results.Add(new NativeItemResult(i, q!.MessageId, "rejected", q.Reasons));
                }
            }
            else
            {
                quarantined.Add(q!);
                if (native)
                {
                    results.Add(new NativeItemResult(i, q!.MessageId, "quarantined", q.Reasons));
                }
            }
        }

        if (rejected is not null)
        {
            metrics.Refused("invalid");
            if (!native || events.Count == 0)
            {
                // The workspace asked for strictness: nothing of a request with an invalid event is stored.
                await Common.Failure.Invalid(rejected).ToProblem().ExecuteAsync(http);
                return null;
            }
        }

        if (events.Count + quarantined.Count == 0)
        {
            return new NativeBatchResult(0, 0, rejected?.Count ?? 0, results);
        }

        if (!await CommitAsync(http, new PendingWrite(key.WorkspaceId, key.EnvironmentId, envelope.ReceivedAt, events, quarantined)))
        {
            return null;
        }

        return new NativeBatchResult(events.Count, quarantined.Count, rejected?.Count ?? 0, results);
    }

    /// <summary>Stores web-vitals measurements; null when it answered with an error itself.</summary>
    public async Task<VitalsResult?> IngestVitalsAsync(HttpContext http, KeyIdentity key, JsonElement root)
    {
        var (vitals, rejected) = WebVitals.Read(root, http.Request, time.GetUtcNow());
        if (vitals.Count == 0)
        {
            if (rejected.Count > 0)
            {
                metrics.Refused("invalid");
                await Common.Failure.Invalid(rejected.ToDictionary(r => $"metrics[{r.Index}]", r => r.Errors.ToArray())).ToProblem().ExecuteAsync(http);
                return null;
            }

            return new VitalsResult(0, rejected);
        }

        return await CommitAsync(http, new PendingWrite(key.WorkspaceId, key.EnvironmentId, time.GetUtcNow(), [], [], vitals))
            ? new VitalsResult(vitals.Count, rejected)
            : null;
    }

    /// <summary>Queues the write and waits for its commit; false after answering 503.</summary>
    private async Task<bool> CommitAsync(HttpContext http, PendingWrite write)
    {
        var refusal = writer.TryEnqueue(write);
        if (refusal != WriteRefusal.None)
        {
            metrics.Refused(refusal == WriteRefusal.QueueFull ? "queue_full" : "stopping");
            // A full queue is 429: Segment's libraries wait for Retry-After only on 429 (a 503 they retry at once).
            await RetryLaterAsync(http, refusal == WriteRefusal.QueueFull ? 429 : 503, refusal == WriteRefusal.QueueFull
                ? "Ingestion is behind; nothing was accepted. Retry after the given delay."
                : "The server is shutting down; nothing was accepted. Retry shortly.");
            return false;
        }

        try
        {
            await write.Completion;
            return true;
        }
        catch (Exception)
        {
            // The writer logged the cause; the sender keeps its data and retries.
            metrics.Refused("commit_failed");
            await RetryLaterAsync(http, 503, "The data could not be stored; nothing was accepted. Retry after the given delay.");
            return false;
        }
    }

    private static DateTimeOffset? ReadSentAt(JsonElement root) =>
        root.TryGetProperty("sentAt", out var sentAt) && sentAt.ValueKind == JsonValueKind.String
        && DateTimeOffset.TryParse(sentAt.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed)
            ? parsed
            : null;

    private Task RetryLaterAsync(HttpContext http, int status, string detail)
    {
        http.Response.Headers.RetryAfter = options.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return TypedResults.Problem(statusCode: status, type: Problems.TypeFor(status), title: Problems.TitleFor(status), detail: detail).ExecuteAsync(http);
    }
}
