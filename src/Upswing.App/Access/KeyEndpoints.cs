using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Upswing.Common;
using Upswing.Common.Http;

namespace Upswing.Access;

/// <summary>Body of POST /api/v1/keys. Kind: secret, client or read (a read-only dashboard token for /v1/metrics). <see cref="EncryptPayload"/> (client keys): SDK payloads for this key are AES-encrypted, GrowthBook style.</summary>
public sealed record CreateKeyRequest(string? Kind, string? Environment, string? Name, bool EncryptPayload = false);

internal static class KeyEndpoints
{
    public static void MapKeyEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapManagementGroup("/keys", "API keys").RequireRateLimiting(AccessModule.KeysRateLimit);
        group.MapGet("/", ListKeys).WithName("ListKeys").WithSummary("Lists the workspace's API keys (prefixes only).");
        group.MapGet("/{id:guid}", GetKey).WithName("GetKey");
        group.MapPost("/", CreateKey).WithName("CreateKey").WithSummary("Creates a key; the response holds the key, shown this once.");
        group.MapPost("/{id:guid}/revoke", RevokeKey).WithName("RevokeKey");
        group.MapDelete("/{id:guid}", RevokeKey).WithName("DeleteKey").WithSummary("Revokes a key (same as POST …/revoke).");
    }

    private static async Task<Ok<IReadOnlyList<ApiKeyDto>>> ListKeys(WorkspaceContext caller, ApiKeyService keys, CancellationToken ct) =>
        TypedResults.Ok(await keys.ListAsync(caller.WorkspaceId, ct));

    private static async Task<Results<Ok<ApiKeyDto>, ProblemHttpResult>> GetKey(Guid id, WorkspaceContext caller, ApiKeyService keys, CancellationToken ct) =>
        await keys.GetAsync(caller.WorkspaceId, id, ct) is { } key ? TypedResults.Ok(key) : Problems.NotFoundProblem("API key not found.");

    private static async Task<Results<Created<CreatedApiKey>, ProblemHttpResult>> CreateKey(CreateKeyRequest request, WorkspaceContext caller, ApiKeyService keys, CancellationToken ct)
    {
        if (!Enum.TryParse<ApiKeyKind>(request.Kind, ignoreCase: true, out var kind) || int.TryParse(request.Kind, out _))
        {
            return Problems.Invalid("kind", "The kind must be 'secret', 'client' or 'read'.");
        }

        var result = await keys.CreateAsync(caller, kind, request.Environment, request.Name, ct, request.EncryptPayload);
        return result.Succeeded ? TypedResults.Created($"/api/v1/keys/{result.Value!.ApiKey.Id}", result.Value) : result.Failure!.ToProblem();
    }

    private static async Task<Results<Ok<ApiKeyDto>, ProblemHttpResult>> RevokeKey(Guid id, WorkspaceContext caller, ApiKeyService keys, CancellationToken ct)
    {
        var result = await keys.RevokeAsync(caller, id, ct);
        return result.Succeeded ? TypedResults.Ok(result.Value!) : result.Failure!.ToProblem();
    }
}
