using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Upswing.Access;
using Upswing.Common.Http;
using Upswing.Evaluation;

namespace Upswing.Flags;

/// <summary>Body of POST /api/eval/{clientKey}, as GrowthBook SDKs send it in remote-evaluation mode.</summary>
public sealed record RemoteEvalRequest(JsonObject? Attributes, string? Url, Dictionary<string, int>? ForcedVariations, JsonArray? ForcedFeatures);

/// <summary>The endpoints GrowthBook SDKs call, at the paths they use, authenticated by the client key in the URL.</summary>
internal static class SdkEndpoints
{
    public const string CorsPolicy = "sdk";

    // GrowthBook's own API answers with these: short freshness, long stale-while-revalidate for resilience.
    private const string CacheControl = "public, max-age=30, stale-while-revalidate=3600, stale-if-error=36000";

    public static void MapSdkEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/features/{clientKey}", GetFeatures).WithName("GetSdkFeatures").WithTags("SDK")
            .RequireCors(CorsPolicy).AuthenticatesByKeyInRequest()
            .WithSummary("The GrowthBook SDK payload for the client key's environment (ETag / If-None-Match supported).");
        app.MapPost("/api/eval/{clientKey}", EvaluateRemotely).WithName("RemoteEvaluate").WithTags("SDK")
            .RequireCors(CorsPolicy).AuthenticatesByKeyInRequest()
            .WithSummary("GrowthBook remote evaluation: the payload with every feature already evaluated for the posted attributes.");
        app.MapGet("/sub/{clientKey}", StreamFeatures).WithName("StreamSdkFeatures").WithTags("SDK")
            .RequireCors(CorsPolicy).AuthenticatesByKeyInRequest()
            .WithSummary("Server-sent events: a `features` event with the payload now and after every change.");
    }

    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(25);

    /// <summary>
    /// GrowthBook's remote evaluation: the SDK posts its user and gets each feature as a fixed value, with the
    /// experiment it came from in `tracks` so the SDK can still fire its tracking callback. Rules never leave the server.
    /// </summary>
    private static async Task EvaluateRemotely(string clientKey, RemoteEvalRequest request, HttpContext http, SdkPayloadCache payloads)
    {
        var (identity, environmentId, problem) = await ClientKeyAsync(http, clientKey);
        if (problem is not null)
        {
            await problem.ExecuteAsync(http);
            return;
        }

        var payload = await payloads.GetAsync(identity!.WorkspaceId, environmentId, http.RequestAborted);
        var context = payload.Model with
        {
            // Copied once so each feature reads the attributes without decoding their strings again.
            Attributes = request.Attributes is { } attributes ? GrowthBookJson.ParseAttributes(attributes) : [],
            Url = request.Url,
            ForcedVariations = request.ForcedVariations ?? [],
            // GrowthBook sends forced features as [[key, value], …].
            ForcedFeatures = request.ForcedFeatures?.OfType<JsonArray>().Where(pair => pair.Count == 2 && pair[0] is JsonValue key && key.TryGetValue<string>(out _))
                .ToDictionary(pair => pair[0]!.GetValue<string>(), pair => pair[1]?.DeepClone(), StringComparer.Ordinal) ?? [],
        };

        // Streamed with a writer rather than built as a JSON tree and serialised: the answer is most of the work.
        http.Response.ContentType = JsonUtf8ContentType;
        await using var writer = new Utf8JsonWriter(http.Response.BodyWriter);
        writer.WriteStartObject();
        writer.WriteNumber("status", 200);
        writer.WriteStartObject("features");
        foreach (var key in context.Features.Keys)
        {
            var result = Evaluator.EvalFeature(context, key);
            writer.WriteStartObject(key);
            writer.WritePropertyName("defaultValue");
            GrowthBookJson.WriteValue(writer, result.Value);
            if (result is { Experiment: { } experiment, ExperimentResult: { InExperiment: true } experimentResult })
            {
                writer.WriteStartArray("rules");
                writer.WriteStartObject();
                writer.WritePropertyName("force");
                GrowthBookJson.WriteValue(writer, result.Value);
                writer.WriteStartArray("tracks");
                writer.WriteStartObject();
                writer.WritePropertyName("experiment");
                writer.WriteRawValue(ExperimentJson(experiment), skipInputValidation: true);
                writer.WritePropertyName("result");
                GrowthBookJson.Write(writer, experimentResult);
                writer.WriteEndObject();
                writer.WriteEndArray();
                writer.WriteEndObject();
                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteStartArray("experiments");
        writer.WriteEndArray();
        writer.WriteString("dateUpdated", payload.DateUpdated.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        writer.WriteEndObject();
        await writer.FlushAsync(http.RequestAborted);
    }

    private const string JsonUtf8ContentType = "application/json; charset=utf-8";

    // An experiment rule's experiment is the same object for every user (the evaluator keeps it beside the rule),
    // so its JSON is written once. Bandit-routed experiments are built per user and are not kept.
    private static readonly ConditionalWeakTable<Experiment, byte[]> ExperimentJsonCache = new();

    private static byte[] ExperimentJson(Experiment experiment)
    {
        if (ExperimentJsonCache.TryGetValue(experiment, out var cached))
        {
            return cached;
        }

        var json = JsonSerializer.SerializeToUtf8Bytes(GrowthBookJson.ToJson(experiment));
        if (experiment.ContextualBandit is null)
        {
            ExperimentJsonCache.AddOrUpdate(experiment, json);
        }

        return json;
    }

    /// <summary>The client key's environment, or the problem to answer with.</summary>
    private static async ValueTask<(KeyIdentity? Identity, Guid EnvironmentId, IResult? Problem)> ClientKeyAsync(HttpContext http, string clientKey)
    {
        var identity = await KeyLookup.FindAsync(http, clientKey);
        if (identity is null)
        {
            return (null, default, Problems.UnauthorizedProblem("The client key is not valid or has been revoked."));
        }

        return identity is { Kind: ApiKeyKind.Client, EnvironmentId: { } environmentId }
            ? (identity, environmentId, null)
            : (null, default, Problems.ForbiddenProblem("SDK URLs take a client key (us_ck_…). A secret key must never be published in a URL; revoke it if it was."));
    }

    /// <summary>
    /// GrowthBook's streaming protocol: `event: features` with the whole payload, sent on connect and whenever
    /// the payload changes, and a comment line every 25 s so proxies keep the connection open.
    /// </summary>
    private static async Task StreamFeatures(string clientKey, HttpContext http, SdkPayloadCache payloads, FlagChanges changes, Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime)
    {
        var (identity, environmentId, problem) = await ClientKeyAsync(http, clientKey);
        if (problem is not null)
        {
            await problem.ExecuteAsync(http);
            return;
        }

        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        // A shutting-down server ends its streams instead of waiting for clients to leave.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        using var subscription = changes.Subscribe(identity!.WorkspaceId);
        string? sent = null;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var payload = await payloads.GetAsync(identity, environmentId, stop.Token);
                if (payload.ETag != sent)
                {
                    await http.Response.WriteAsync("event: features\ndata: ", stop.Token);
                    await http.Response.Body.WriteAsync(payload.Json, stop.Token);
                    await http.Response.WriteAsync("\n\n", stop.Token);
                    sent = payload.ETag;
                }
                else
                {
                    await http.Response.WriteAsync(": ping\n\n", stop.Token);
                }

                await http.Response.Body.FlushAsync(stop.Token);
                await subscription.WaitAsync(Heartbeat, stop.Token);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The client went away or the server is stopping: the stream simply ends.
        }
    }

    // Written straight to the response rather than through an IResult: this is the busiest endpoint, and the
    // answer is bytes that are already built.
    private static async Task GetFeatures(string clientKey, HttpContext http, SdkPayloadCache payloads)
    {
        var (identity, environmentId, problem) = await ClientKeyAsync(http, clientKey);
        if (problem is not null)
        {
            await problem.ExecuteAsync(http);
            return;
        }

        var payload = await payloads.GetAsync(identity!, environmentId, http.RequestAborted);
        var response = http.Response;
        response.Headers.ETag = payload.ETag;
        response.Headers.CacheControl = CacheControl;
        // GrowthBook SDKs open /sub/{clientKey} only when the payload response announces it.
        response.Headers[SseSupportHeader] = SseSupportEnabled;
        if (IsNotModified(http.Request.Headers.IfNoneMatch, payload.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.ContentType = JsonContentType;
        response.ContentLength = payload.Json.Length;
        await response.Body.WriteAsync(payload.Json, http.RequestAborted);
    }

    private const string SseSupportHeader = "x-sse-support";
    private const string SseSupportEnabled = "enabled";
    private const string JsonContentType = "application/json";

    private static bool IsNotModified(Microsoft.Extensions.Primitives.StringValues ifNoneMatch, string etag)
    {
        foreach (var tag in ifNoneMatch)
        {
            if (tag is not null && (tag == "*" || tag.Contains(etag, StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }
}
