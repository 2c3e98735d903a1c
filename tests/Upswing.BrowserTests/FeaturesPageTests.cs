using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Upswing.Access;
using Upswing.Common;
using Upswing.Demo;
using Upswing.Flags;
using Upswing.TestKit;
using Upswing.Workspaces;
using static Microsoft.Playwright.Assertions;

namespace Upswing.BrowserTests;

[Collection(DashboardCollection.Name)]
public sealed class FeaturesPageTests(ChromiumFixture fixture)
{
    [Fact]
    public async Task CreateFeature_AddForceAndRolloutRules_Reorder_AndSwitchOff()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        var key = Infrastructure.Unique("checkout");
        await page.GotoAsync("/w/demo/features?env=production");

        await page.GetByLabel("Key", new() { Exact = true }).FillAsync(key);
        await page.GetByLabel("Default value").FillAsync("false");
        await page.GetByLabel("Description").FillAsync("The new checkout");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create feature" }).ClickAsync();

        await page.WaitForURLAsync(new Regex($"/w/demo/features/{key}"));
        await Expect(page.Locator("h1")).ToContainTextAsync(key);
        await page.GetByLabel("Condition").FillAsync("""{"country": "FR"}""");
        await page.Locator("#rf-value").SelectOptionAsync("true");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Expect(page.Locator("li.rule")).ToHaveCountAsync(1);
        await Expect(page.Locator("li.rule code.condition")).ToHaveTextAsync("""{"country":"FR"}""");

        await page.GetByLabel("Rule type").SelectOptionAsync("rollout");
        await page.Locator("#rf-value").SelectOptionAsync("true");
        await page.GetByLabel("Coverage %").FillAsync("25");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Expect(page.Locator("li.rule")).ToHaveCountAsync(2);
        await Expect(page.Locator("li.rule").Nth(1)).ToContainTextAsync("25%");

        await page.GetByRole(AriaRole.Button, new() { Name = "Move rule 2 up" }).ClickAsync();
        await Expect(page.Locator("li.rule").Nth(0).Locator(".badge.kind")).ToHaveTextAsync("rollout");
        await page.GetByRole(AriaRole.Button, new() { Name = "Turn off in Production" }).ClickAsync();
        await Expect(page.GetByTestId("env-state")).ToHaveTextAsync("off");

        var stored = await FeatureAsync(key);
        Assert.False(stored.Environments["production"].Enabled);
        Assert.Equal([FeatureRuleType.Rollout, FeatureRuleType.Force], stored.Environments["production"].Rules.Select(r => r.Type));
        Assert.Equal(0.25, stored.Environments["production"].Rules[0].Coverage);
        await Expect(page.Locator("table.audit")).ToContainTextAsync("feature.environment_changed");
        await session.ScreenshotAsync("feature-detail.png");

        await page.GotoAsync("/w/demo/features?env=production");
        await page.GetByRole(AriaRole.Button, new() { Name = $"{key} in Production: off" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = $"{key} in Production: on" })).ToBeVisibleAsync();
        Assert.True((await FeatureAsync(key)).Environments["production"].Enabled);
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task ExperimentRule_WeightsMustAddUp_ThenEditingKeepsItsPlace()
    {
        var key = await CreateFeatureAsync();
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        await page.GotoAsync($"/w/demo/features/{key}?env=production");

        await page.GetByLabel("Rule type").SelectOptionAsync("experiment");
        await Expect(page.Locator("#rf-value")).ToBeHiddenAsync();
        await page.GetByLabel("Variation 0", new() { Exact = true }).SelectOptionAsync("false");
        await page.GetByLabel("Weight of variation 0").FillAsync("60");
        await page.GetByLabel("Variation 1", new() { Exact = true }).SelectOptionAsync("true");
        await page.GetByLabel("Weight of variation 1").FillAsync("60");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Expect(page.Locator("#rf-weights-error")).ToContainTextAsync("add up to 100");

        await page.GetByLabel("Weight of variation 1").FillAsync("40");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Expect(page.Locator("li.rule")).ToHaveCountAsync(1);
        await Expect(page.Locator("li.rule table.numbers")).ToContainTextAsync("60%");
        await Expect(page.Locator("li.rule .chart svg")).ToBeVisibleAsync();

        await page.GetByRole(AriaRole.Link, new() { Name = "Edit rule 1" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Edit rule 1 in Production" })).ToBeVisibleAsync();
        await page.GetByLabel("Coverage %").FillAsync("50");
        await page.GetByLabel("Experiment key").FillAsync("checkout-test");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save rule" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Saved rule 1");

        var rule = Assert.Single((await FeatureAsync(key)).Environments["production"].Rules);
        Assert.Equal(FeatureRuleType.Experiment, rule.Type);
        Assert.Equal([0.6, 0.4], rule.Weights!);
        Assert.Equal(0.5, rule.Coverage);
        Assert.Equal("checkout-test", rule.ExperimentKey);
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task AddRule_WithBadJsonCondition_ShowsTheErrorNextToTheField()
    {
        var key = await CreateFeatureAsync();
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        await page.GotoAsync($"/w/demo/features/{key}?env=production");

        await page.GetByLabel("Condition").FillAsync("""{"country": """);
        await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();

        await Expect(page.Locator("#rf-condition-error")).ToContainTextAsync("Not valid JSON");
        await Expect(page.GetByLabel("Condition")).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(page.GetByLabel("Condition")).ToHaveValueAsync("""{"country": """);
        await Expect(page.Locator("li.rule")).ToHaveCountAsync(0);
        Assert.Empty((await FeatureAsync(key)).Environments["production"].Rules);
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task Viewer_SeesFeaturesReadOnly_ButCanTryAUser()
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

        await page.GotoAsync("/w/demo/features?env=production");
        await Expect(page.Locator("tr[data-feature='new-onboarding'] .badge.on").First).ToBeVisibleAsync();
        await Expect(page.Locator("button.switch")).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Create feature" })).ToHaveCountAsync(0);

        await page.GotoAsync("/w/demo/features/new-onboarding?env=production");
        await Expect(page.Locator("li.rule")).ToHaveCountAsync(2);
        await Expect(page.Locator("form[data-rule-form]")).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Save settings" })).ToHaveCountAsync(0);
        await Expect(page.Locator(".rule-actions")).ToHaveCountAsync(0);
        await page.GetByRole(AriaRole.Button, new() { Name = "Evaluate" }).ClickAsync();
        await Expect(page.GetByTestId("try-source")).ToBeVisibleAsync();
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task TryAUser_ShowsTheMatchingRuleAndWhyOthersWereSkipped()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        await page.GotoAsync("/w/demo/features/new-onboarding?env=production");
        var attributes = page.GetByLabel("Attributes");
        await Expect(attributes).ToHaveValueAsync("""{"id": "user-1"}""");

        await attributes.FillAsync("""{"id": "u1", "email": "maya.okafor@example.com"}""");
        await page.GetByRole(AriaRole.Button, new() { Name = "Evaluate" }).ClickAsync();

        var result = page.Locator("#try-result");
        await Expect(result.GetByTestId("try-value")).ToHaveTextAsync("true");
        await Expect(result.GetByTestId("try-source")).ToHaveTextAsync("force");
        await Expect(result.Locator("li[data-rule-id='beta'] .badge.outcome")).ToHaveTextAsync("matched");
        await Expect(result.Locator("li[data-rule-id='ramp'] .badge.outcome")).ToHaveTextAsync("not reached");

        await attributes.FillAsync("""{"email": "tom@example.com"}""");
        await page.GetByRole(AriaRole.Button, new() { Name = "Evaluate" }).ClickAsync();

        await Expect(result.GetByTestId("try-source")).ToHaveTextAsync("defaultValue");
        await Expect(result.Locator("li[data-rule-id='beta']")).ToContainTextAsync("Not in saved group 'Beta testers'");
        await Expect(result.Locator("li[data-rule-id='ramp']")).ToContainTextAsync("no 'id' attribute");

        await attributes.FillAsync("""{"id": """);
        await page.GetByRole(AriaRole.Button, new() { Name = "Evaluate" }).ClickAsync();
        await Expect(result.GetByRole(AriaRole.Alert)).ToContainTextAsync("not valid JSON");

        await page.GotoAsync("/w/demo/features/try?env=production");
        await page.GetByLabel("Attributes").FillAsync("""{"id": "u1", "country": "FR"}""");
        await page.GetByRole(AriaRole.Button, new() { Name = "Evaluate" }).ClickAsync();
        await Expect(page.Locator("#try-result tr[data-feature='shop-discount']")).ToContainTextAsync("20");
        await Expect(page.Locator("#try-result tr[data-feature='shop-discount'] > td:nth-child(3) .badge.source")).ToHaveTextAsync("force");
        await session.ScreenshotAsync("try-a-user.png");
        await session.AssertNoProblemsAsync();
    }

    private async Task<string> CreateFeatureAsync()
    {
        var key = Infrastructure.Unique("flag");
        await fixture.Server.WithServicesAsync(async services =>
        {
            var demo = (await services.GetRequiredService<WorkspaceService>().GetBySlugAsync(DemoData.Slug, CancellationToken.None))!;
            var owner = new WorkspaceContext(demo.Id, WorkspaceRole.Owner, Actor.Cli);
            var created = await services.GetRequiredService<FeatureService>().CreateAsync(owner, new CreateFeatureRequest(key, "boolean", System.Text.Json.JsonSerializer.SerializeToElement(false), null, null, null), CancellationToken.None);
            return created.Value!;
        });
        return key;
    }

    private async Task<FeatureDto> FeatureAsync(string key) => await fixture.Server.WithServicesAsync(async services =>
    {
        var demo = (await services.GetRequiredService<WorkspaceService>().GetBySlugAsync(DemoData.Slug, CancellationToken.None))!;
        return (await services.GetRequiredService<FeatureService>().GetAsync(demo.Id, key, CancellationToken.None))!;
    });
}
