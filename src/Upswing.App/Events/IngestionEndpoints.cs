using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Common.Http;

namespace Upswing.Events;

/// <summary>
/// The write side: Segment's HTTP Tracking API (with analytics.js's short paths) and the native batch. Any key of
/// the workspace (client or secret) may write, given as HTTP Basic user name, bearer token or the body's writeKey.
/// Bodies are JSON whatever the Content-Type says (browsers send text/plain beacons) and may be gzipped.
/// </summary>
internal static class IngestionEndpoints
{
    private static readonly byte[] SegmentSuccess = Encoding.UTF8.GetBytes("{\"success\":true}");

    public static void MapIngestion(this IEndpointRouteBuilder app)
    {
        var segment = app.MapGroup("/v1").WithTags("Ingestion").RequireCors(Flags.SdkEndpoints.CorsPolicy).AuthenticatesByKeyInRequest();
        foreach (var (type, path, shortPath) in new[]
        {
            (EventTypes.Track, "track", "t"), (EventTypes.Identify, "identify", "i"), (EventTypes.Page, "page", "p"),
            (EventTypes.Screen, "screen", "s"), (EventTypes.Group, "group", "g"), (EventTypes.Alias, "alias", "a"),
        })
        {
            RequestDelegate handler = http => IngestSegmentAsync(http, type);
            segment.MapPost("/" + path, handler).WithName("Segment" + char.ToUpperInvariant(path[0]) + path[1..])
                .WithSummary($"Segment {path} call (also at /v1/{shortPath}).").WithMetadata(SegmentMetadata());
            segment.MapPost("/" + shortPath, handler).ExcludeFromDescription();
        }

        RequestDelegate batch = http => IngestSegmentAsync(http, null);
        segment.MapPost("/batch", batch).WithName("SegmentBatch").WithSummary("Segment batch: {batch: [messages], sentAt?, context?} (also at /v1/b and /v1/import).")
            .WithMetadata(SegmentMetadata());
        segment.MapPost("/b", batch).ExcludeFromDescription();
        segment.MapPost("/import", batch).ExcludeFromDescription();

        segment.MapPost("/events", (Func<HttpContext, Task>)IngestNativeAsync).WithName("IngestEvents")
            .WithSummary("Native batch: {events: [{name, userId | anonymousId, timestamp, properties, messageId?}]} with a result per event.")
            .Produces<NativeBatchResult>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        segment.MapPost("/vitals", (Func<HttpContext, Task>)IngestVitalsAsync).WithName("IngestWebVitals")
            .WithSummary("Web vitals as the web-vitals library reports them (one metric, an array, or {metrics: [...]}), e.g. sent with navigator.sendBeacon; stored once per metric id, the latest report winning.")
            .Produces<VitalsResult>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task IngestVitalsAsync(HttpContext http)
    {
        var ingestion = http.RequestServices.GetRequiredService<Ingestion>();
        using var body = await ReadBodyAsync(http, ingestion, EventLimits.MaxEventBytes);
        using var document = Parse(body, objectOnly: false);
        var key = await ingestion.AuthenticateAsync(http, document.RootElement);
        if (key is not null && await ingestion.IngestVitalsAsync(http, key, document.RootElement) is { } result)
        {
            await TypedResults.Ok(result).ExecuteAsync(http);
        }
    }

    private static object[] SegmentMetadata() =>
    [
        new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(SegmentResult), ["application/json"]),
        new ProducesResponseTypeMetadata(StatusCodes.Status400BadRequest, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), ["application/problem+json"]),
        new ProducesResponseTypeMetadata(StatusCodes.Status401Unauthorized, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), ["application/problem+json"]),
        new ProducesResponseTypeMetadata(StatusCodes.Status413PayloadTooLarge, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), ["application/problem+json"]),
        new ProducesResponseTypeMetadata(StatusCodes.Status503ServiceUnavailable, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), ["application/problem+json"]),
    ];

    private static async Task IngestSegmentAsync(HttpContext http, string? impliedType)
    {
        var ingestion = http.RequestServices.GetRequiredService<Ingestion>();
        var maxBytes = impliedType is null ? EventLimits.MaxBatchBytes : EventLimits.MaxEventBytes;
        using var body = await ReadBodyAsync(http, ingestion, maxBytes);
        using var document = Parse(body);
        var root = document.RootElement;
        var key = await ingestion.AuthenticateAsync(http, root);
        if (key is null)
        {
            return;
        }

        JsonElement[] messages;
        if (impliedType is not null)
        {
            messages = [root];
        }
        else if (root.TryGetProperty("batch", out var batch) && batch.ValueKind == JsonValueKind.Array)
        {
            messages = [.. batch.EnumerateArray()];
        }
        else
        {
            throw new BadHttpRequestException("A batch body is {\"batch\": [messages]}.", StatusCodes.Status400BadRequest);
        }

        var outcome = await ingestion.IngestAsync(http, key, root, messages, impliedType, native: false);
        if (outcome is null)
        {
            return;
        }

        http.Response.ContentType = "application/json";
        await http.Response.Body.WriteAsync(SegmentSuccess, http.RequestAborted);
    }

    private static async Task IngestNativeAsync(HttpContext http)
    {
        var ingestion = http.RequestServices.GetRequiredService<Ingestion>();
        using var body = await ReadBodyAsync(http, ingestion, EventLimits.MaxBatchBytes);
        using var document = Parse(body);
        var root = document.RootElement;
        var key = await ingestion.AuthenticateAsync(http, root);
        if (key is null)
        {
            return;
        }

        if (!root.TryGetProperty("events", out var events) || events.ValueKind != JsonValueKind.Array)
        {
            throw new BadHttpRequestException("The body is {\"events\": [{name, userId | anonymousId, timestamp, properties, messageId?}]}.", StatusCodes.Status400BadRequest);
        }

        var outcome = await ingestion.IngestAsync(http, key, root, [.. events.EnumerateArray()], null, native: true);
        if (outcome is not null)
        {
            await TypedResults.Ok(outcome).ExecuteAsync(http);
        }
    }

    private static async Task<RequestBody> ReadBodyAsync(HttpContext http, Ingestion ingestion, int maxBytes)
    {
        try
        {
            return await RequestBody.ReadAsync(http.Request, maxBytes);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            ingestion.Metrics.Refused("too_large");
            throw;
        }
    }

    private static JsonDocument Parse(RequestBody body, bool objectOnly = true)
    {
        if (body.Length == 0)
        {
            throw new BadHttpRequestException("The request needs a JSON body.", StatusCodes.Status400BadRequest);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.Memory, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            throw new BadHttpRequestException("Failed to read the request body as JSON.", StatusCodes.Status400BadRequest, ex);
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object && (objectOnly || document.RootElement.ValueKind != JsonValueKind.Array))
        {
            document.Dispose();
            throw new BadHttpRequestException("The request body must be a JSON object.", StatusCodes.Status400BadRequest);
        }

        return document;
    }
}

/// <summary>What Segment's API answers on success.</summary>
public sealed record SegmentResult(bool Success);

/// <summary>Body of POST /v1/events.</summary>
public sealed record NativeBatch(IReadOnlyList<NativeEvent> Events);

/// <summary>One native event: a track call named by <c>name</c>.</summary>
public sealed record NativeEvent(string Name, string? UserId, string? AnonymousId, DateTimeOffset? Timestamp, JsonElement? Properties, string? MessageId, JsonElement? Context);

/// <summary>Answer of POST /v1/events: how many were accepted, and a result for each event that was not.</summary>
public sealed record NativeBatchResult(int Accepted, int Quarantined, int Rejected, IReadOnlyList<NativeItemResult> Results);

/// <summary>An event's fate: <c>accepted</c>, <c>quarantined</c> (stored aside with its reasons) or <c>rejected</c> (not stored).</summary>
public sealed record NativeItemResult(int Index, string MessageId, string Status, IReadOnlyList<string>? Errors);
