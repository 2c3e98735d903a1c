using System.Security.Claims;
using Upswing.Access;

namespace Upswing.Common;

/// <summary>Who performs a write: a dashboard user, an API key, or the command line. Recorded in the audit log.</summary>
public sealed record Actor(string Type, string Id, string Name)
{
    public static Actor Cli { get; } = new("cli", "cli", "command line");
    public static Actor System { get; } = new("system", "system", "Upswing");

    public static Actor ForUser(Guid userId, string email) => new("user", userId.ToString(), email);

    public static Actor ForKey(Guid keyId, string prefix) => new("key", keyId.ToString(), prefix);
}

/// <summary>An authenticated caller acting inside one workspace with a role.</summary>
public sealed record WorkspaceContext(Guid WorkspaceId, WorkspaceRole Role, Actor Actor, Guid? EnvironmentId = null)
{
    /// <summary>Lets handlers take the caller as a parameter; the endpoint's policy guarantees it is there.</summary>
    public static ValueTask<WorkspaceContext?> BindAsync(Microsoft.AspNetCore.Http.HttpContext context) =>
        ValueTask.FromResult(context.User.KeyContext());
}

/// <summary>The claim names Upswing's authentication handlers issue.</summary>
public static class UpswingClaims
{
    public const string UserId = "upswing:user";
    public const string Email = "upswing:email";
    public const string IsAdmin = "upswing:admin";
    public const string WorkspaceId = "upswing:workspace";
    public const string KeyId = "upswing:key";
    public const string KeyKind = "upswing:key_kind";
    public const string KeyPrefix = "upswing:key_prefix";
    public const string EnvironmentId = "upswing:environment";

    /// <summary>The workspace context of an API-key caller; null for other callers.</summary>
    public static WorkspaceContext? KeyContext(this ClaimsPrincipal principal)
    {
        if (!Guid.TryParse(principal.FindFirstValue(WorkspaceId), out var workspaceId)
            || !Guid.TryParse(principal.FindFirstValue(KeyId), out var keyId))
        {
            return null;
        }

        Guid? environmentId = Guid.TryParse(principal.FindFirstValue(EnvironmentId), out var env) ? env : null;
        // A secret key manages its workspace like an admin; it cannot hand out ownership.
        return new WorkspaceContext(workspaceId, WorkspaceRole.Admin, Actor.ForKey(keyId, principal.FindFirstValue(KeyPrefix) ?? "key"), environmentId);
    }

    public static Guid? UserIdOf(this ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirstValue(UserId), out var id) ? id : null;
}
