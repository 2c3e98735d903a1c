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
    }

    private static async Task<IResult> GetFeatures(string clientKey, HttpContext http, SdkPayloadCache payloads)
    {
        var identity = await KeyLookup.FindAsync(http, clientKey);
        if (identity is null)
        {
            return Problems.UnauthorizedProblem("The client key is not valid or has been revoked.");
        }

        if (identity is not { Kind: ApiKeyKind.Client, EnvironmentId: { } environmentId })
        {
            return Problems.ForbiddenProblem("SDK URLs take a client key (us_ck_…). A secret key must never be published in a URL; revoke it if it was.");
        }

        var payload = await payloads.GetAsync(identity.WorkspaceId, environmentId, http.RequestAborted);
        http.Response.Headers.ETag = payload.ETag;
        http.Response.Headers.CacheControl = CacheControl;
        if (http.Request.Headers.IfNoneMatch.Any(tag => tag is not null && (tag == payload.ETag || tag.Contains(payload.ETag, StringComparison.Ordinal) || tag == "*")))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        return TypedResults.Bytes(payload.Json, "application/json");
    }
}
