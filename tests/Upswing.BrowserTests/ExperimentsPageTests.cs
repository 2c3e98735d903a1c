using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Upswing.Access;
using Upswing.Common;
using Upswing.Demo;
using Upswing.Experiments;
using Upswing.TestKit;
using Upswing.Workspaces;
using static Microsoft.Playwright.Assertions;

namespace Upswing.BrowserTests;

[Collection(DashboardCollection.Name)]
public sealed class ExperimentsPageTests(ChromiumFixture fixture)
{
    [Fact]
    public async Task CreateExperiment_WeightsMustSumToOne_ThenStartEditPauseAndStopWithAWinner()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        var key = Infrastructure.Unique("exp");
        await page.GotoAsync("/w/demo/experiments?env=production");

        await page.GetByLabel("Key", new() { Exact = true }).FillAsync(key);
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Bigger discount");
        await page.GetByLabel("Primary metrics").FillAsync("purchase, checkout");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add variation" }).ClickAsync();
        await page.GetByLabel("Variation 2 key").FillAsync("big");
        await page.GetByLabel("Weight of variation 0").FillAsync("40");
        await page.GetByLabel("Weight of variation 1").FillAsync("30");
        await page.GetByLabel("Weight of variation 2").FillAsync("40");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create experiment" }).ClickAsync();
        await Expect(page.Locator("#ne-variations-error")).ToContainTextAsync("must sum to 1");
        await Expect(page.GetByLabel("Variation 2 key")).ToHaveValueAsync("big");

        await page.GetByLabel("Weight of variation 2").FillAsync("30");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create experiment" }).ClickAsync();
        await page.WaitForURLAsync(new Regex($"/w/demo/experiments/{key}"));
        await Expect(page.Locator("h1 .badge.status")).ToHaveTextAsync("draft");
        await Expect(page.Locator("table.variations tbody tr")).ToHaveCountAsync(3);

        await page.GetByRole(AriaRole.Button, new() { Name = "Start", Exact = true }).ClickAsync();
        await Expect(page.Locator("h1 .badge.status")).ToHaveTextAsync("running");
        await Expect(page.Locator("table.phases tbody tr")).ToHaveCountAsync(1);

        // Variation keys are what assigned users were hashed to: the service refuses, the page says why.
        await page.GetByLabel("Variation 0 key").FillAsync("ctrl");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save changes" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert).First).ToContainTextAsync("cannot change");
        await page.GetByLabel("Variation 0 key").FillAsync("control");
        await page.GetByLabel("Coverage %").FillAsync("50");
        await page.Locator("#ee-reason").FillAsync("Half the traffic for now.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save changes" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("a new phase started");
        await Expect(page.Locator("table.phases tbody tr")).ToHaveCountAsync(2);
        await Expect(page.GetByTestId("coverage")).ToHaveTextAsync("50%");

        await page.GetByRole(AriaRole.Button, new() { Name = "Pause", Exact = true }).ClickAsync();
        await Expect(page.Locator("h1 .badge.status")).ToHaveTextAsync("paused");
        await page.GetByLabel("Winner").SelectOptionAsync("big");
        await page.GetByLabel("Reason for stopping").FillAsync("Big wins.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Stop", Exact = true }).ClickAsync();
        await Expect(page.Locator("h1 .badge.status")).ToHaveTextAsync("stopped");
        await Expect(page.GetByTestId("winner")).ToHaveTextAsync("Variation 2");
        await Expect(page.Locator("table.phases tbody tr").Nth(1)).ToContainTextAsync("Big wins.");
        await Expect(page.Locator("table.audit")).ToContainTextAsync("experiment.stopped");
        await Expect(page.Locator("table.audit")).ToContainTextAsync("experiment.paused");
        await Expect(page.Locator("table.audit")).ToContainTextAsync("experiment.started");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Delete" })).ToBeVisibleAsync();

        var stored = await ExperimentAsync(key);
        Assert.Equal(ExperimentStatus.Stopped, stored.Status);
        Assert.Equal("big", stored.Winner);
        Assert.Equal(["purchase", "checkout"], stored.Metrics.Primary!);
        Assert.Equal([0.4, 0.3, 0.3], stored.Variations.Select(v => v.Weight));
        Assert.Equal(0.5, stored.Coverage);
        await session.ScreenshotAsync("experiment-detail.png");

        await page.GotoAsync("/w/demo/experiments?env=production&status=stopped");
        await Expect(page.Locator($"tr[data-experiment='{key}'] .badge.status")).ToHaveTextAsync("stopped");
        await Expect(page.Locator("tr[data-experiment='discount-test']")).ToHaveCountAsync(0);
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task StartFromAStalePage_ShowsTheServicesRefusal_AndTheCurrentStatus()
    {
        var key = Infrastructure.Unique("stale");
        await fixture.Server.WithServicesAsync(async services =>
        {
            var (owner, experiments) = await OwnerAsync(services);
            return (await experiments.CreateAsync(owner, new CreateExperimentRequest(key, "Stale", null, null, null, null, null,
                [new("a", null, null), new("b", null, null)], null, null, null, null, null, null), CancellationToken.None)).Value!;
        });
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        await page.GotoAsync($"/w/demo/experiments/{key}?env=production");
        await Expect(page.Locator("h1 .badge.status")).ToHaveTextAsync("draft");

        // Someone else starts it meanwhile: this page still offers Start, which is now refused.
        await fixture.Server.WithServicesAsync(async services =>
        {
            var (owner, experiments) = await OwnerAsync(services);
            return (await experiments.StartAsync(owner, key, CancellationToken.None)).Value!;
        });
        await page.GetByRole(AriaRole.Button, new() { Name = "Start", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Only a draft or paused experiment can start");
        await Expect(page.Locator("h1 .badge.status")).ToHaveTextAsync("running");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Pause", Exact = true })).ToBeVisibleAsync();
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task Holdout_CreatedAndDeletedOnTheExperimentsPage()
    {
        var key = Infrastructure.Unique("hold");
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        await page.GotoAsync("/w/demo/experiments?env=production");

        await page.GetByLabel("Holdout key").FillAsync(key);
        await page.GetByLabel("Holdout name").FillAsync("Winter holdout");
        await page.GetByLabel("Held out %").FillAsync("60");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create holdout" }).ClickAsync();
        await Expect(page.Locator("#nh-percentage-error")).Not.ToBeEmptyAsync();

        await page.GetByLabel("Held out %").FillAsync("5");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create holdout" }).ClickAsync();
        await Expect(page.Locator($"tr[data-holdout='{key}']")).ToContainTextAsync("5%");
        await session.ScreenshotAsync("experiments.png");
        await page.GetByRole(AriaRole.Button, new() { Name = $"Delete holdout {key}" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync($"Deleted holdout {key}");
        await Expect(page.Locator($"tr[data-holdout='{key}']")).ToHaveCountAsync(0);
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task Viewer_SeesExperimentsReadOnly_WithoutLifecycleButtons()
    {
        var email = $"{Infrastructure.Unique("viewer")}@example.com";
        await fixture.Server.WithServicesAsync(async services =>
        {
            await services.GetRequiredService<UserService>().CreateAsync(email, "viewer-password", isAdmin: false, CancellationToken.None);
            var demo = (await services.GetRequiredService<WorkspaceService>().GetBySlugAsync(DemoData.Slug, CancellationToken.None))!;
            var owner = new WorkspaceContext(demo.Id, WorkspaceRole.Owner, Actor.Cli);
            return (await services.GetRequiredService<MemberService>().InviteAsync(owner, email, WorkspaceRole.Viewer, CancellationToken.None)).Value!;
        });
        await using var session = await BrowserSession.OpenAsync(fixture, signedIn: false);
        var page = session.Page;
        await session.SignInAsync(email, "viewer-password");
        await page.WaitForURLAsync(new Regex("/w/demo$"));

        await page.GotoAsync("/w/demo/experiments?env=production");
        await Expect(page.Locator("tr[data-experiment='discount-test'] .badge.status")).ToHaveTextAsync("running");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Create experiment" })).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Create holdout" })).ToHaveCountAsync(0);

        await page.GotoAsync("/w/demo/experiments/discount-test?env=production");
        await Expect(page.Locator("table.variations tbody tr")).ToHaveCountAsync(3);
        await Expect(page.Locator("table.linked")).ToContainTextAsync("shop-discount");
        await Expect(page.Locator(".small-chart svg")).ToBeVisibleAsync();
        await Expect(page.Locator("main form[method='post']")).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Pause" })).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Stop" })).ToHaveCountAsync(0);
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task Results_ShowTheRecommendationForestPlotAndSeries_AndFollowTheSettings()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        await page.GotoAsync("/w/demo/experiments/discount-test?env=production");

        // The demo's generated history, rolled up at seeding: 10 % off wins on purchases cleanly; 20 % off also raises refunds.
        var results = page.GetByTestId("results");
        await Expect(results.GetByTestId("recommendation")).ToHaveAttributeAsync("data-kind", "ship");
        await Expect(results.GetByTestId("recommendation")).ToContainTextAsync("Ship 10 % off");
        await Expect(results.GetByTestId("srm")).ToContainTextAsync("as expected");
        var purchase = results.Locator("[data-metric='purchase']");
        await Expect(purchase.Locator("tbody tr")).ToHaveCountAsync(3);
        await Expect(purchase.Locator("tr[data-variation='ten'] [data-testid='verdict']")).ToHaveTextAsync("winning");
        await Expect(purchase.Locator("tr[data-variation='ten'] svg.ci-bar.winning title")).ToContainTextAsync("95% confidence interval");
        await Expect(purchase.Locator("tr[data-variation='ten'] [data-testid='adjusted-p']")).Not.ToBeEmptyAsync();
        await Expect(purchase.Locator("th abbr[title*='Holm-Bonferroni']")).ToHaveCountAsync(1);
        await Expect(purchase.Locator(".results-chart svg")).ToBeVisibleAsync();
        await Expect(results.GetByTestId("recommendation")).ToContainTextAsync("10 % off wins on purchase");
        await Expect(results.Locator("[data-metric='refund'] [data-testid='guardrail']")).ToHaveTextAsync("guardrail failing");
        await Expect(results.Locator("[data-metric='refund'] tr[data-variation='twenty'] [data-testid='verdict']")).ToHaveTextAsync("failing");
        await session.ScreenshotAsync("experiment-results.png");

        // The settings form is a plain GET: the Bayesian engine shows chance to win instead of p-values.
        await results.GetByLabel("Engine").SelectOptionAsync("bayesian");
        await results.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("engine=bayesian"));
        await Expect(purchase.Locator("tr[data-variation='ten'] [data-testid='chance']")).ToContainTextAsync("%");
        await Expect(purchase.Locator("[data-testid='p']")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("results").GetByLabel("Engine")).ToHaveValueAsync("bayesian");

        // headline-test has no generated effect. Its recommendation is usually keep-running, but the history ends now, and
        // on about 5 % of days noise crosses 0.05 somewhere (as DemoEventsContract says): assert that nothing is anywhere
        // near significant at 0.1 % instead, and that the split is sound.
        await page.GotoAsync("/w/demo/experiments/headline-test?env=production");
        await Expect(page.GetByTestId("recommendation")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("recommendation")).Not.ToHaveAttributeAsync("data-kind", "stop-for-srm");
        var pValues = await page.GetByTestId("results").Locator("[data-testid='p']").AllTextContentsAsync();
        Assert.NotEmpty(pValues);
        Assert.All(pValues.Where(p => p != "–"), p => Assert.True(double.Parse(p.Replace("<", "", StringComparison.Ordinal), CultureInfo.InvariantCulture) > 0.001, $"headline-test p = {p}"));
        await session.AssertNoProblemsAsync();
    }

    private async Task<ExperimentDto> ExperimentAsync(string key) => await fixture.Server.WithServicesAsync(async services =>
    {
        var demo = (await services.GetRequiredService<WorkspaceService>().GetBySlugAsync(DemoData.Slug, CancellationToken.None))!;
        return (await services.GetRequiredService<ExperimentService>().GetAsync(demo.Id, key, CancellationToken.None))!;
    });

    private static async Task<(WorkspaceContext Owner, ExperimentService Experiments)> OwnerAsync(IServiceProvider services)
    {
        var demo = (await services.GetRequiredService<WorkspaceService>().GetBySlugAsync(DemoData.Slug, CancellationToken.None))!;
        return (new WorkspaceContext(demo.Id, WorkspaceRole.Owner, Actor.Cli), services.GetRequiredService<ExperimentService>());
    }
}
