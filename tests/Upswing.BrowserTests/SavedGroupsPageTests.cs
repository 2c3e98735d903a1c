using Microsoft.Playwright;
using Upswing.TestKit;
using static Microsoft.Playwright.Assertions;

namespace Upswing.BrowserTests;

[Collection(DashboardCollection.Name)]
public sealed class SavedGroupsPageTests(ChromiumFixture fixture)
{
    [Fact]
    public async Task CreateEditAndDeleteAListGroup_InUseGroupCannotBeDeleted()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        var key = Infrastructure.Unique("vip");
        await page.GotoAsync("/w/demo/saved-groups");

        await page.GetByLabel("Key", new() { Exact = true }).FillAsync(key);
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("VIPs");
        await page.GetByLabel("Attribute").FillAsync("id");
        await page.GetByLabel("Values").FillAsync("user-1\nuser-2\n");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create group" }).ClickAsync();
        var row = page.Locator($"tr[data-group='{key}']");
        await Expect(row).ToContainTextAsync("2 values");

        await row.GetByRole(AriaRole.Link, new() { Name = $"Edit {key}" }).ClickAsync();
        await Expect(page.GetByLabel("Key", new() { Exact = true })).ToHaveAttributeAsync("readonly", "");
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Very important");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save group" }).ClickAsync();
        await Expect(row).ToContainTextAsync("Very important");

        await page.Locator($"tr[data-group='beta-testers']").GetByRole(AriaRole.Button, new() { Name = "Delete beta-testers" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("used by: new-onboarding");
        await row.GetByRole(AriaRole.Button, new() { Name = $"Delete {key}" }).ClickAsync();
        await Expect(row).ToHaveCountAsync(0);
        Assert.Equal(2, session.Dialogs.Count);
        await session.AssertNoProblemsAsync();
    }
}
