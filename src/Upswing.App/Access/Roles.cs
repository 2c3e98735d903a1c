namespace Upswing.Access;

/// <summary>A member's role in a workspace, from most to least powerful.</summary>
public enum WorkspaceRole
{
    Owner = 0,
    Admin = 1,
    Editor = 2,
    Viewer = 3,
}

/// <summary>
/// Secret keys serve the management API and server-side data plane; client keys are publishable; read keys (dashboard
/// tokens) only read the aggregated metrics under <c>/v1/metrics</c> and are refused everywhere else.
/// </summary>
public enum ApiKeyKind
{
    Secret,
    Client,
    Read,
}

public static class WorkspaceRoles
{
    /// <summary>True when <paramref name="role"/> is at least as powerful as <paramref name="required"/>.</summary>
    public static bool AtLeast(this WorkspaceRole role, WorkspaceRole required) => role <= required;

    public static bool TryParse(string? text, out WorkspaceRole role) =>
        Enum.TryParse(text, ignoreCase: true, out role) && Enum.IsDefined(role) && !int.TryParse(text, out _);
}
