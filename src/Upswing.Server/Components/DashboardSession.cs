using Upswing.Access;
using Upswing.Common;
using Upswing.Workspaces;

namespace Upswing.Server.Components;

/// <summary>What a dashboard page knows about its viewer: the user, the workspace in the URL and their role there.</summary>
public sealed record WorkspacePage(WorkspaceDto Workspace, WorkspaceContext Caller, EnvironmentDto Environment, IReadOnlyList<WorkspaceDto> AllWorkspaces)
{
    public bool CanAdminister => Caller.Role.AtLeast(WorkspaceRole.Admin);

    /// <summary>Editors and above change flags, saved groups and (later) experiments; viewers read.</summary>
    public bool CanEdit => Caller.Role.AtLeast(WorkspaceRole.Editor);
}

/// <summary>Resolves the signed-in user and the workspace named in a page's URL; another workspace is a 404.</summary>
public sealed class DashboardSession(IHttpContextAccessor http, WorkspaceService workspaces, MemberService members)
{
    public Guid? UserId => http.HttpContext?.User.UserIdOf();

    public string Email => http.HttpContext?.User.FindFirst(UpswingClaims.Email)?.Value ?? "";

    public bool IsAdmin => http.HttpContext?.User.FindFirst(UpswingClaims.IsAdmin)?.Value == "true";

    public async Task<IReadOnlyList<WorkspaceDto>> WorkspacesAsync(CancellationToken ct) =>
        UserId is { } id ? await workspaces.ListForUserAsync(id, IsAdmin, ct) : [];

    public async Task<WorkspacePage?> OpenAsync(string slug, string? environment, CancellationToken ct)
    {
        if (UserId is not { } userId || await workspaces.GetBySlugAsync(slug, ct) is not { } workspace)
        {
            return null;
        }

        if (await members.RoleOfAsync(workspace.Id, userId, ct) is not { } role)
        {
            return null;
        }

        var env = workspace.Environments.FirstOrDefault(e => e.Key == environment) ?? workspace.Environments[0];
        var caller = new WorkspaceContext(workspace.Id, role, Actor.ForUser(userId, Email));
        return new WorkspacePage(workspace, caller, env, await WorkspacesAsync(ct));
    }
}
