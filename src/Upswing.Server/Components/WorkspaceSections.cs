namespace Upswing.Server.Components;

/// <summary>
/// The sections of a workspace, in the order the navigation shows them. A key is the page's path under
/// /w/{slug}/ ("home" is /w/{slug} itself), and the environment switcher may land on any of them.
/// Module sections come first, then the workspace settings.
/// </summary>
internal static class WorkspaceSections
{
    public static readonly IReadOnlyList<(string Key, string Label)> All =
    [
        ("home", "Get started"),
        ("features", "Features"),
        ("saved-groups", "Saved groups"),
        ("experiments", "Experiments"),
        ("events", "Events"),
        ("analytics", "Analytics"),
        ("jobs", "Jobs"),
        ("keys", "API keys"),
        ("members", "Members"),
        ("audit", "Audit log"),
    ];

    public static bool IsPage(string? key) => key is not null and not "home" && All.Any(s => s.Key == key);
}
