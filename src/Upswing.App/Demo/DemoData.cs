using Upswing.Access;
using Upswing.Common;
using Upswing.Workspaces;

namespace Upswing.Demo;

/// <summary>
/// Fills a fresh installation with a believable demo workspace (slug <c>demo</c>): a team with every
/// role, keys for both environments, and the audit trail those actions leave. Later modules add their
/// own demo content here through their public services. Running it twice changes nothing.
/// </summary>
public sealed class DemoData(WorkspaceService workspaces, MemberService members, ApiKeyService keys)
{
    public const string Slug = "demo";

    private static readonly (string Email, WorkspaceRole Role)[] Team =
    [
        ("maya.okafor@example.com", WorkspaceRole.Admin),
        ("lucas.bergstrom@example.com", WorkspaceRole.Editor),
        ("priya.raman@example.com", WorkspaceRole.Editor),
        ("tom.nguyen@example.com", WorkspaceRole.Viewer),
    ];

    /// <summary>Creates the demo workspace unless it exists; <paramref name="owner"/> becomes its owner.</summary>
    public async Task<WorkspaceDto> EnsureAsync(Guid? owner, Actor actor, CancellationToken ct)
    {
        if (await workspaces.GetBySlugAsync(Slug, ct) is { } existing)
        {
            return existing;
        }

        var created = await workspaces.CreateAsync("Demo — Calicritters", Slug, actor, owner, ct);
        var workspace = created.Value ?? throw new InvalidOperationException($"Cannot create the demo workspace: {created.Failure!.Message}");
        var caller = new WorkspaceContext(workspace.Id, WorkspaceRole.Owner, actor);
        foreach (var (email, role) in Team)
        {
            await members.InviteAsync(caller, email, role, ct);
        }

        await keys.CreateAsync(caller, ApiKeyKind.Client, "production", "Web app (production)", ct);
        await keys.CreateAsync(caller, ApiKeyKind.Client, "development", "Web app (staging)", ct);
        await keys.CreateAsync(caller, ApiKeyKind.Secret, null, "Backend services", ct);
        return workspace;
    }
}
