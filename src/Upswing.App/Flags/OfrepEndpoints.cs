using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Upswing.Access;
using Upswing.Common.Http;
using Upswing.Evaluation;

namespace Upswing.Flags;

/// <summary>Body of OFREP evaluation requests: the OpenFeature evaluation context.</summary>
public sealed record OfrepRequest(JsonObject? Context);

/// <summary>
/// OpenFeature Remote Evaluation Protocol (OFREP) v1, so OpenFeature providers evaluate Upswing flags.
/// Authenticated with a client key (Authorization: Bearer, or X-API-Key). The context's targetingKey is the
/// user's id unless the context names an id itself.
/// </summary>
internal static class OfrepEndpoints
{
    public static void MapOfrepEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/ofrep/v1/evaluate").WithTags("OpenFeature (OFREP)").RequireCors(SdkEndpoints.CorsPolicy)
            .AuthenticatesByKeyInRequest();
        group.MapPost("/flags/{key}", EvaluateFlag).WithName("OfrepEvaluateFlag");
        group.MapPost("/flags", EvaluateFlags).WithName("OfrepEvaluateFlags");
    }

    private static async Task<IResult> EvaluateFlag(string key, OfrepRequest? request, HttpContext http, SdkPayloadCache payloads)
    {
        var (context, error) = await ContextAsync(http, request, payloads);
        if (error is not null)
        {
            return error;
        }

        if (!context!.Features.ContainsKey(key))
        {
            return TypedResults.Json(Error(key, "FLAG_NOT_FOUND", $"No flag '{key}' is served in this environment."), statusCode: 404);
        }

        return TypedResults.Json(Evaluate(context, key));
    }

    private static async Task<IResult> EvaluateFlags(OfrepRequest? request, HttpContext http, SdkPayloadCache payloads)
    {
        var (context, error) = await ContextAsync(http, request, payloads);
        if (error is not null)
        {
            return error;
        }

        var flags = new JsonArray(context!.Features.Keys.Order(StringComparer.Ordinal).Select(k => (JsonNode?)Evaluate(context, k)).ToArray());
        var body = new JsonObject { ["flags"] = flags };
        // Bulk evaluation supports conditional requests, so polling providers skip unchanged answers.
        var etag = Common.Http.ETags.For(Encoding.UTF8.GetBytes(body.ToJsonString()));
        http.Response.Headers.ETag = etag;
        if (http.Request.Headers.IfNoneMatch.Any(tag => tag == etag))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        return TypedResults.Json(body);
    }

    private static JsonObject Evaluate(EvaluationContext context, string key)
    {
        var result = Evaluator.EvalFeature(context, key);
        var json = new JsonObject
        {
            ["key"] = key,
            ["value"] = result.Value?.DeepClone(),
            ["reason"] = result.Source switch
            {
                FeatureSource.DefaultValue => "DEFAULT",
                FeatureSource.Force => "TARGETING_MATCH",
                FeatureSource.Experiment => "SPLIT",
                FeatureSource.Override => "STATIC",
                _ => "UNKNOWN",
            },
            ["metadata"] = new JsonObject { ["source"] = GrowthBookJson.SourceName(result.Source), ["ruleId"] = result.RuleId },
        };
        if (result.ExperimentResult is { InExperiment: true } experiment)
        {
            json["variant"] = experiment.Key;
            json["metadata"]!["experimentKey"] = result.Experiment?.Key;
        }

        return json;
    }

    private static async Task<(EvaluationContext? Context, IResult? Error)> ContextAsync(HttpContext http, OfrepRequest? request, SdkPayloadCache payloads)
    {
        var presented = http.Request.Headers["X-API-Key"].ToString();
        if (presented.Length == 0 && http.Request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            presented = auth[7..].Trim();
        }

        var identity = presented.Length == 0 ? null : await KeyLookup.FindAsync(http, presented);
        if (identity is not { Kind: ApiKeyKind.Client, EnvironmentId: { } environmentId })
        {
            return (null, TypedResults.Json(new JsonObject { ["errorCode"] = "UNAUTHORIZED", ["errorDetails"] = "Send a client key (us_ck_…) as 'Authorization: Bearer <key>' or 'X-API-Key'." }, statusCode: 401));
        }

        if (request?.Context is not { } attributes)
        {
            return (null, TypedResults.Json(Error(null, "INVALID_CONTEXT", "The body must be {\"context\": {\"targetingKey\": …, …}}."), statusCode: 400));
        }

        var user = (JsonObject)attributes.DeepClone();
        if (user["targetingKey"] is JsonValue targeting && user["id"] is null)
        {
            user["id"] = targeting.DeepClone();
        }

        var payload = await payloads.GetAsync(identity.WorkspaceId, environmentId, http.RequestAborted);
        return (payload.Model with { Attributes = user }, null);
    }

    private static JsonObject Error(string? key, string code, string details)
    {
        var json = new JsonObject { ["errorCode"] = code, ["errorDetails"] = details };
        if (key is not null)
        {
            json["key"] = key;
        }

        return json;
    }
}
