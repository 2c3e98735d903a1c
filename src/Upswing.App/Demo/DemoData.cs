using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Access;
using Upswing.Analytics;
using Upswing.Common;
using Upswing.Experiments;
using Upswing.Flags;
using Upswing.Workspaces;

namespace Upswing.Demo;

/// <summary>
/// Fills a fresh installation with a believable demo workspace (slug <c>demo</c>): a team with every
/// role, keys for both environments, the audit trail those actions leave, flags, experiments and metrics, and 30 days
/// of generated events and web vitals (<see cref="DemoHistory"/>) with their rollups. Running it twice changes nothing:
/// an existing demo workspace is returned as it is.
/// </summary>
public sealed class DemoData(
    WorkspaceService workspaces, MemberService members, ApiKeyService keys, FeatureService features, SavedGroupService savedGroups, ExperimentService experiments, HoldoutService holdouts,
    MetricService metrics, IServiceProvider services)
{
    public const string Slug = "demo";

    /// <summary>The largest scale of the generated traffic: about 180,000 events each, so 100 is about 18 million events.</summary>
    public const int MaxScale = 100;

    private static readonly (string Email, WorkspaceRole Role)[] Team =
    [
        ("maya.okafor@example.com", WorkspaceRole.Admin),
        ("lucas.bergstrom@example.com", WorkspaceRole.Editor),
        ("priya.raman@example.com", WorkspaceRole.Editor),
        ("tom.nguyen@example.com", WorkspaceRole.Viewer),
    ];

    /// <summary>What the last <c>EnsureAsync</c> of this instance generated; null when the workspace existed already.</summary>
    public DemoEventsSummary? LastSeeded { get; private set; }

    /// <summary>Creates the demo workspace unless it exists; <paramref name="owner"/> becomes its owner.</summary>
    public Task<WorkspaceDto> EnsureAsync(Guid? owner, Actor actor, CancellationToken ct) => EnsureAsync(owner, actor, 1, null, ct);

    /// <summary>
    /// Creates the demo workspace unless it exists, with <paramref name="scale"/> times the generated traffic (see
    /// <see cref="DemoEvents.SeedAsync"/>); <paramref name="progress"/> hears of each part stored.
    /// </summary>
    public async Task<WorkspaceDto> EnsureAsync(Guid? owner, Actor actor, int scale, IProgress<int>? progress, CancellationToken ct)
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
        await SeedMetricsAsync(caller, ct);
        await SeedFunnelsAsync(caller, ct);
        await SeedExperimentsAsync(caller, ct);
        await SeedFlagsAsync(caller, ct);
        var production = workspace.Environments.FirstOrDefault(e => e.Key == "production")?.Id;
        LastSeeded = await services.GetRequiredService<DemoEvents>().SeedAsync(workspace.Id, production, scale, progress, ct);
        return workspace;
    }

    /// <summary>Flags a growing game would have: a staged rollout, a price test, copy variants, a JSON config.</summary>
    private async Task SeedFlagsAsync(WorkspaceContext caller, CancellationToken ct)
    {
        Must(await savedGroups.CreateAsync(caller, new SavedGroupRequest("beta-testers", "Beta testers", "list", "email",
            [Json("\"maya.okafor@example.com\""), Json("\"lucas.bergstrom@example.com\"")], null), ct));
        Must(await features.CreateAsync(caller, new CreateFeatureRequest("new-onboarding", "boolean", Json("false"), "The guided first-run tour.", ["onboarding"],
            Production(
                new FeatureRule { Id = "beta", Type = FeatureRuleType.Force, SavedGroups = ["beta-testers"], Value = Json("true"), Description = "Beta testers see it first" },
                new FeatureRule { Id = "ramp", Type = FeatureRuleType.Rollout, Value = Json("true"), Coverage = 0.5, Description = "Half of everyone else" })), ct));
        Must(await features.CreateAsync(caller, new CreateFeatureRequest("shop-discount", "number", Json("0"), "Percent off in the critter shop.", ["shop", "pricing"],
            Production(
                new FeatureRule { Id = "eu-launch", Type = FeatureRuleType.Force, Condition = Json("{\"country\":{\"$in\":[\"FR\",\"DE\",\"NL\"]}}"), Value = Json("20") },
                new FeatureRule { Id = "discount-test", Type = FeatureRuleType.Experiment, ExperimentKey = "discount-test", Variations = [Json("0"), Json("10"), Json("20")] })), ct));
        Must(await features.CreateAsync(caller, new CreateFeatureRequest("welcome-copy", "string", Json("\"Welcome to Calicritters!\""), "Headline on the home screen.", ["copy"],
            Production(new FeatureRule
            {
                Id = "headline-test",
                Type = FeatureRuleType.Experiment,
                ExperimentKey = "headline-test",
                Variations = [Json("\"Welcome to Calicritters!\""), Json("\"Your critters missed you!\"")],
            })), ct));
        Must(await features.CreateAsync(caller, new CreateFeatureRequest("hatch-animation", "string", Json("\"short\""), "How new critters hatch.", ["game"],
            Production(new FeatureRule { Id = "hatch-animation", Type = FeatureRuleType.Experiment, ExperimentKey = "hatch-animation", Variations = [Json("\"short\""), Json("\"long\"")] })), ct));
        Must(await features.CreateAsync(caller, new CreateFeatureRequest("critter-colors", "json", Json("{\"palette\":[\"amber\",\"teal\",\"coral\"],\"rare\":\"gold\"}"), "Colours new critters hatch in.", ["game"], null), ct));
    }

    /// <summary>Experiments in every state: two running (one behind a holdout), one stopped with a winner, one draft.</summary>
    private async Task SeedExperimentsAsync(WorkspaceContext caller, CancellationToken ct)
    {
        Must(await holdouts.CreateAsync(caller, new HoldoutRequest("q4-holdout", "Q4 global holdout", 0.05, "id"), ct));
        Must(await experiments.CreateAsync(caller, new CreateExperimentRequest(
            "discount-test", "Shop discount depth", "A 10 % discount lifts purchases as much as 20 % does, at half the cost.", "id", null, null, null,
            [new("none", "No discount", 0.34), new("ten", "10 % off", 0.33), new("twenty", "20 % off", 0.33)], 0.8, null, null,
            new ExperimentNamespaceRange("shop", 0, 0.6), "q4-holdout", new ExperimentMetrics(["purchase"], ["shop_visit"], ["refund"])), ct));
        Must(await experiments.StartAsync(caller, "discount-test", ct));
        Must(await experiments.CreateAsync(caller, new CreateExperimentRequest(
            "headline-test", "Home headline", "Reminding players of their critters brings them back.", "id", null, null, null,
            [new("welcome", "Welcome", null), new("missed-you", "Missed you", null)], null, null, null, null, null, new ExperimentMetrics(["session_start"], null, null)), ct));
        Must(await experiments.StartAsync(caller, "headline-test", ct));
        Must(await experiments.CreateAsync(caller, new CreateExperimentRequest(
            "hatch-animation", "Hatch animation", "A longer hatch animation makes new critters feel special.", "id", null, null, null,
            [new("short", "Short", null), new("long", "Long", null)], null, null, null, null, null, new ExperimentMetrics(["critter_named"], null, null)), ct));
        Must(await experiments.StartAsync(caller, "hatch-animation", ct));
        Must(await experiments.StopAsync(caller, "hatch-animation", new StopExperimentRequest("long", "Clear win on naming rate."), ct));
        Must(await experiments.CreateAsync(caller, new CreateExperimentRequest(
            "trading-post", "Critter trading post", "Trading between friends drives invites.", "id", null, null, null,
            [new("off", "Off", null), new("on", "On", null)], 0.5, Json("{\"country\":\"US\"}"), null, null, null, new ExperimentMetrics(["invite_sent"], null, ["support_ticket"])), ct));
    }

    /// <summary>The metrics the demo experiments are judged on.</summary>
    /// <summary>The funnels the dashboard shows: AB Calicritters' core journey (by acquisition source) and the invite loop.</summary>
    private async Task SeedFunnelsAsync(WorkspaceContext caller, CancellationToken ct)
    {
        var funnels = services.GetRequiredService<FunnelService>();
        Must(await funnels.CreateAsync(caller, new FunnelRequest(
            "core_journey", "Core journey", "From the landing page to a first order.",
            [new("Landing Viewed", null), new("Signed Up", null), new("Critter Named", null), new("Order Completed", null)], 72, "source"), ct));
        Must(await funnels.CreateAsync(caller, new FunnelRequest(
            "invite_loop", "Invite loop", "From an opened invite to the invitee's first value.",
            [new("invite.opened", null), new("invite.joined", null), new("invite.fvm", null)], 168, "loop"), ct));
    }

    private async Task SeedMetricsAsync(WorkspaceContext caller, CancellationToken ct)
    {
        (string Key, string Name, string Type, string Event, string Direction, bool Guardrail)[] definitions =
        [
            ("purchase", "Purchased", "binomial", "Order Completed", "increase", false),
            ("shop_visit", "Shop visits per player", "count", "Shop Visited", "increase", false),
            ("refund", "Asked for a refund", "binomial", "Refund Requested", "decrease", true),
            ("session_start", "Came back", "binomial", "Session Started", "increase", false),
            ("critter_named", "Named a critter", "binomial", "Critter Named", "increase", false),
            ("invite_sent", "Invites sent per player", "count", "invite.sent", "increase", false),
            ("support_ticket", "Opened a support ticket", "binomial", "Ticket Opened", "decrease", true),
        ];
        foreach (var (key, name, type, eventName, direction, guardrail) in definitions)
        {
            Must(await metrics.CreateAsync(caller, new MetricRequest(key, name, null, type, eventName, null, null, null, null, null, null, direction, guardrail, null, null), ct));
        }
    }

    private static Dictionary<string, FeatureEnvironmentRequest> Production(params FeatureRule[] rules) =>
        new() { ["production"] = new FeatureEnvironmentRequest(true, rules) };

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    // Demo content is fixed: a failure here is a bug in this file, not a user's mistake.
    private static void Must<T>(Result<T> result)
    {
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"Demo data is invalid: {result.Failure!.Message}");
        }
    }
}
