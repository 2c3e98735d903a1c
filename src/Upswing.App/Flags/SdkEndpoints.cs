using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Upswing.Access;
using Upswing.Common.Http;

namespace Upswing.Flags;

/// <summary>The endpoints GrowthBook SDKs call, at the paths they use, authenticated by the client key in the URL.</summary>
internal static class SdkEndpoints
{
    public const string CorsPolicy = "sdk";

    // GrowthBook's own API answers with these: short freshness, long stale-while-revalidate for resilience.
    private const string CacheControl = "public, max-age=30, stale-while-revalidate=3600, stale-if-error=36000";

    public static void MapSdkEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/features/{clientKey}", GetFeatures).WithName("GetSdkFeatures").WithTags("SDK")
            .RequireCors(CorsPolicy)
            .WithSummary("The GrowthBook SDK payload for the client key's environment (ETag / If-None-Match supported).");
        app.MapGet("/sub/{clientKey}", StreamFeatures).WithName("StreamSdkFeatures").WithTags("SDK")
            .RequireCors(CorsPolicy)
            .WithSummary("Server-sent events: a `features` event with the payload now and after every change.");
    }

    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(25);

    /// <summary>The client key's environment, or the problem to answer with.</summary>
    private static async Task<(KeyIdentity? Identity, Guid EnvironmentId, IResult? Problem)> ClientKeyAsync(HttpContext http, string clientKey)
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
                var payload = await payloads.GetAsync(identity.WorkspaceId, environmentId, stop.Token);
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

    private static async Task<IResult> GetFeatures(string clientKey, HttpContext http, SdkPayloadCache payloads)
    {
        var (identity, environmentId, problem) = await ClientKeyAsync(http, clientKey);
        if (problem is not null)
        {
            return problem;
        }

        var payload = await payloads.GetAsync(identity!.WorkspaceId, environmentId, http.RequestAborted);
        http.Response.Headers.ETag = payload.ETag;
        http.Response.Headers.CacheControl = CacheControl;
        // GrowthBook SDKs open /sub/{clientKey} only when the payload response announces it.
        http.Response.Headers["x-sse-support"] = "enabled";
        if (http.Request.Headers.IfNoneMatch.Any(tag => tag is not null && (tag == payload.ETag || tag.Contains(payload.ETag, StringComparison.Ordinal) || tag == "*")))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        return TypedResults.Bytes(payload.Json, "application/json");
    }
}
