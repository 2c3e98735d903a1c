using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Upswing.TestKit;
using static Microsoft.Playwright.Assertions;

namespace Upswing.BrowserTests;

[Collection(DashboardCollection.Name)]
public sealed class DashboardPagesTests(ChromiumFixture fixture)
{
    // Visible form controls with no <label> naming them (nor aria-label / aria-labelledby).
    private const string UnlabelledControls = """
        () => Array.from(document.querySelectorAll('input, select, textarea'))
            .filter(el => el.type !== 'hidden' && el.checkVisibility())
            .filter(el => !Array.from(el.labels ?? []).some(l => l.textContent.trim() !== '')
                && !(el.getAttribute('aria-label') ?? '').trim()
                && !(el.getAttribute('aria-labelledby') ?? '').split(/\s+/).some(id => document.getElementById(id)?.textContent.trim()))
            .map(el => el.outerHTML.slice(0, 160))
        """;

    [Theory]
    [InlineData("/w/demo")]
    [InlineData("/w/demo/keys")]
    [InlineData("/w/demo/members")]
    [InlineData("/w/demo/audit")]
    [InlineData("/w/demo/features")]
    [InlineData("/w/demo/features/shop-discount?env=production")]
    [InlineData("/w/demo/features/try")]
    [InlineData("/w/demo/saved-groups")]
    [InlineData("/w/demo/experiments")]
    [InlineData("/w/demo/experiments/discount-test")]
    [InlineData("/w/demo/events")]
    [InlineData("/w/demo/users/nobody")]
    [InlineData("/w/demo/jobs")]
    public async Task Pages_HaveLabelledInputsAndLandmarks(string path)
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;

        var response = await page.GotoAsync(path);

        Assert.Equal(200, response?.Status);
        await Expect(page.Locator("main")).ToHaveCountAsync(1);
        await Expect(page.Locator("h1")).ToHaveCountAsync(1);
        await Expect(page.Locator("h1")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Workspace" })).ToBeVisibleAsync();
        Assert.True(await page.Locator("input:visible, select:visible").CountAsync() > 0, $"{path} has no form controls to check.");
        Assert.Empty(await page.EvaluateAsync<string[]>(UnlabelledControls));
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task OtherWorkspace_IsNotFound()
    {
        var own = await fixture.Server.CreateWorkspaceAsync();
        await using var session = await BrowserSession.OpenAsync(fixture, signedIn: false);
        var page = session.Page;
        await session.SignInAsync(own.OwnerUser.Email, TestWorkspace.OwnerPassword);
        await page.WaitForURLAsync(new Regex($"/w/{own.Workspace.Slug}$"));
        var switcher = page.GetByRole(AriaRole.Combobox, new() { Name = "Workspace", Exact = true });
        await Expect(switcher).ToHaveValueAsync(own.Workspace.Slug);
        await Expect(switcher.Locator("option[value=demo]")).ToHaveCountAsync(0);

        // Chromium reports every 404 document in the console; that one is the point of this test.
        session.ExpectConsoleError("the server responded with a status of 404 (Not Found)");
        foreach (var path in (string[])["/w/demo", "/w/demo/keys"])
        {
            var response = await page.GotoAsync(path);

            Assert.Equal(404, response?.Status);
            await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Not found");
            await Expect(page.GetByText("This workspace does not exist, or you are not a member of it.")).ToBeVisibleAsync();
            await Expect(page.GetByText("Demo — Calicritters")).ToHaveCountAsync(0);
        }

        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task NewWorkspace_FromTheForm_OpensIt()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        var slug = Infrastructure.Unique("team");
        await page.GotoAsync("/w/demo");

        await page.GetByRole(AriaRole.Link, new() { Name = "New workspace" }).ClickAsync();
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync($"Team {slug}");
        await page.GetByLabel("URL name (optional)").FillAsync(slug);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create workspace" }).ClickAsync();

        await page.WaitForURLAsync(new Regex($"/w/{slug}$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync($"Team {slug}");
        await Expect(page.GetByRole(AriaRole.Combobox, new() { Name = "Workspace", Exact = true })).ToHaveValueAsync(slug);
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task TabNavigation_RunsThePageScriptsOnce_AndRendersTheChart()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        await page.GotoAsync("/w/demo/audit");
        await page.EvaluateAsync("() => { window.firstHtmx = window.htmx; }");

        // hx-boost swaps the body: the scripts must not run again, the chart must still be drawn.
        await page.GetByRole(AriaRole.Link, new() { Name = "API keys" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("API keys");
        await page.GetByRole(AriaRole.Link, new() { Name = "Get started" }).ClickAsync();
        await page.WaitForURLAsync(new Regex(@"/w/demo\?env=production$"));

        await Expect(page.Locator(".chart svg")).ToBeVisibleAsync();
        Assert.True(await page.EvaluateAsync<bool>("() => window.htmx === window.firstHtmx"), "htmx was loaded again by a boosted navigation.");
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task Pages_OnAPhone_DoNotScrollSideways()
    {
        await using var session = await BrowserSession.OpenAsync(fixture, viewport: new() { Width = 390, Height = 844 });
        var page = session.Page;

        foreach (var path in (string[])["/w/demo", "/w/demo/keys", "/w/demo/members", "/w/demo/audit", "/w/demo/features", "/w/demo/features/shop-discount", "/w/demo/saved-groups", "/w/demo/experiments", "/w/demo/experiments/discount-test"])
        {
            await page.GotoAsync(path);
            await Expect(page.Locator("h1")).ToBeVisibleAsync();

            // Wide tables scroll inside their panel; nothing (not even a visually hidden label) widens the page.
            Assert.Equal(390, await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth"));
        }

        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task AuditLog_FilteredByAction_ShowsOnlyThoseEntries_WithDistinctResourceIds()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        await page.GotoAsync("/w/demo/audit");

        await page.GetByLabel("Action", new() { Exact = true }).SelectOptionAsync("key.created");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();

        await page.WaitForURLAsync(new Regex(@"/w/demo/audit\?env=production&action=key\.created$"));
        var rows = page.Locator("table.audit tbody tr");
        await Expect(rows.First).ToBeVisibleAsync();
        Assert.All(await rows.Locator("td:nth-child(3)").AllTextContentsAsync(), action => Assert.Equal("key.created", action.Trim()));
        // The demo's keys were created moments apart: their time-ordered (v7) ids share their first
        // characters, so the short id shown must come from the end.
        var shortIds = await rows.Locator(".resource-id").AllTextContentsAsync();
        Assert.True(shortIds.Count >= 3, $"expected the demo's keys, got {shortIds.Count} rows");
        Assert.Equal(shortIds.Count, shortIds.Distinct().Count());
        await session.AssertNoProblemsAsync();
    }
}
