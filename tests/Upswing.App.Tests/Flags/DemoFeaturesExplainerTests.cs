using Microsoft.Extensions.DependencyInjection;
using Upswing.Demo;
using Upswing.Flags;
using Upswing.TestKit;
using Upswing.Workspaces;

namespace Upswing.App.Tests.Flags;

/// <summary>The demo workspace on a real server: the payload SDKs get, the stored rules the dashboard shows.</summary>
public sealed class DemoWorkspaceFixture : IAsyncLifetime
{
    public UpswingTestServer Server { get; private set; } = default!;

    public async ValueTask InitializeAsync() => Server = await UpswingTestServer.StartAsync(TestDatabase.Sqlite(), demo: true);

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

public sealed class DemoFeaturesExplainerTests(DemoWorkspaceFixture fixture) : IClassFixture<DemoWorkspaceFixture>
{
    [Fact]
    public async Task Explain_DemoFeatures_AgreesWithTheEvaluatorForRandomUsers()
    {
        var services = fixture.Server.Services;
        await using var scope = services.CreateAsyncScope();
        var workspace = (await scope.ServiceProvider.GetRequiredService<WorkspaceService>().GetBySlugAsync(DemoData.Slug, CancellationToken.None))!;
        var features = await scope.ServiceProvider.GetRequiredService<FeatureService>().ListAsync(workspace.Id, includeArchived: true, CancellationToken.None);
        var groups = await scope.ServiceProvider.GetRequiredService<SavedGroupService>().ListAsync(workspace.Id, CancellationToken.None);
        var cache = services.GetRequiredService<SdkPayloadCache>();
        Assert.NotEmpty(features);

        var random = new Random(3);
        foreach (var environment in workspace.Environments)
        {
            var model = (await cache.GetAsync(workspace.Id, environment.Id, CancellationToken.None)).Model;
            for (var i = 0; i < 2000; i++)
            {
                var context = model with { Attributes = FeatureExplainerTests.RandomUser(random) };
                foreach (var feature in features)
                {
                    FeatureExplainerTests.AssertAgrees(context, feature.Key, feature, groups, environment.Key);
                }
            }
        }
    }

    [Fact]
    public async Task ExplainAsync_BetaTesterOnTheDemoOnboarding_MatchesTheSavedGroupRule()
    {
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        var workspace = (await scope.ServiceProvider.GetRequiredService<WorkspaceService>().GetBySlugAsync(DemoData.Slug, CancellationToken.None))!;
        var explainer = scope.ServiceProvider.GetRequiredService<FeatureExplainer>();
        var production = workspace.Environments.Single(e => e.Key == "production");

        var beta = Assert.Single(await explainer.ExplainAsync(workspace.Id, production, FeatureExplainer.ParseAttributes("""{"id":"u1","email":"maya.okafor@example.com"}""").Value!, "new-onboarding", CancellationToken.None));
        var other = Assert.Single(await explainer.ExplainAsync(workspace.Id, production, FeatureExplainer.ParseAttributes("""{"email":"x@example.com"}""").Value!, "new-onboarding", CancellationToken.None));

        Assert.Equal("beta", beta.RuleId);
        Assert.Equal("Beta testers see it first", beta.Rules[0].Description);
        Assert.Equal(RuleSkipReason.SavedGroupNotMatched, other.Rules[0].Reason);
        Assert.Equal(RuleSkipReason.HashAttributeMissing, other.Rules[1].Reason);
        Assert.Equal("defaultValue", other.SourceName);
    }

    [Fact]
    public async Task ExplainAsync_RuleLinkedToAStoppedExperiment_ServesTheWinnerAndSaysSo()
    {
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        var (workspace, production) = await DemoAsync(scope.ServiceProvider);

        var hatch = Assert.Single(await scope.ServiceProvider.GetRequiredService<FeatureExplainer>().ExplainAsync(
            workspace.Id, production, new System.Text.Json.Nodes.JsonObject { ["id"] = "u1" }, "hatch-animation", CancellationToken.None));

        Assert.Equal("\"long\"", hatch.Value!.ToJsonString());
        Assert.Equal(RuleOutcome.Matched, hatch.Rules[0].Outcome);
        Assert.Contains("Its experiment has stopped", hatch.Rules[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExplainAsync_RuleLinkedToADraftExperiment_IsNotSentToSdks()
    {
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        var (workspace, production) = await DemoAsync(scope.ServiceProvider);
        var key = Infrastructure.Unique("trading");
        var owner = new Upswing.Common.WorkspaceContext(workspace.Id, Upswing.Access.WorkspaceRole.Owner, Upswing.Common.Actor.Cli);
        var created = await scope.ServiceProvider.GetRequiredService<FeatureService>().CreateAsync(owner, new CreateFeatureRequest(
            key, "boolean", System.Text.Json.JsonSerializer.SerializeToElement(false), null, null,
            new() { ["production"] = new FeatureEnvironmentRequest(true, [new Upswing.Flags.FeatureRule { Id = "trade", Type = FeatureRuleType.Experiment, ExperimentKey = "trading-post", Variations = [System.Text.Json.JsonSerializer.SerializeToElement(false), System.Text.Json.JsonSerializer.SerializeToElement(true)] }]) }), CancellationToken.None);
        Assert.True(created.Succeeded, created.Failure?.Message);

        var explanation = Assert.Single(await scope.ServiceProvider.GetRequiredService<FeatureExplainer>().ExplainAsync(
            workspace.Id, production, new System.Text.Json.Nodes.JsonObject { ["id"] = "u1", ["country"] = "US" }, key, CancellationToken.None));

        Assert.Equal(Upswing.Evaluation.FeatureSource.DefaultValue, explanation.Source);
        Assert.Equal(RuleOutcome.NotReached, explanation.Rules[0].Outcome);
        Assert.Contains("not running", explanation.Rules[0].Message, StringComparison.Ordinal);
    }

    private static async Task<(WorkspaceDto Workspace, EnvironmentDto Production)> DemoAsync(IServiceProvider services)
    {
        var workspace = (await services.GetRequiredService<WorkspaceService>().GetBySlugAsync(DemoData.Slug, CancellationToken.None))!;
        return (workspace, workspace.Environments.Single(e => e.Key == "production"));
    }
}
