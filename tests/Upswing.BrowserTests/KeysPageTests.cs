using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Upswing.TestKit;
using static Microsoft.Playwright.Assertions;

namespace Upswing.BrowserTests;

[Collection(DashboardCollection.Name)]
public sealed class KeysPageTests(ChromiumFixture fixture)
{
    private const int VisiblePrefixLength = 12;

    [Fact]
    public async Task CreateClientKey_ShowsItOnce_AndListsIt()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        var name = Infrastructure.Unique("web");

        var key = await CreateKeyAsync(page, name, "client");

        Assert.StartsWith("us_ck_", key, StringComparison.Ordinal);
        await Expect(page.Locator(".created-key")).ToContainTextAsync("It is shown this once");
        await Expect(page.GetByText(key, new() { Exact = true })).ToHaveCountAsync(1);
        Assert.Equal(1, Regex.Count(await page.ContentAsync(), Regex.Escape(key)));
        var row = KeyRow(page, key);
        await Expect(row).ToContainTextAsync(name);
        await Expect(row.Locator("td").Nth(2)).ToHaveTextAsync("client");
        await Expect(row.Locator("td").Nth(3)).ToHaveTextAsync("production");
        await Expect(page.GetByLabel("Name", new() { Exact = true })).ToHaveValueAsync("");
        await Expect(row.Locator("td").Nth(6)).ToHaveTextAsync("active");
        await session.ScreenshotAsync("keys.png");

        await page.ReloadAsync();

        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("API keys");
        await Expect(page.Locator("#new-key")).ToHaveCountAsync(0);
        Assert.DoesNotContain(key, await page.ContentAsync(), StringComparison.Ordinal);
        await Expect(row).ToBeVisibleAsync();
        await Expect(row.Locator("code")).ToHaveTextAsync(key[..VisiblePrefixLength] + "…");
        await Expect(row).ToContainTextAsync(name);
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task RevokeKey_MarksItRevoked_AndTheApiRejectsIt()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        var name = Infrastructure.Unique("backend");
        var key = await CreateKeyAsync(page, name, "secret");
        Assert.StartsWith("us_sk_", key, StringComparison.Ordinal);
        using var api = fixture.Server.NewClient(key);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/workspaces")).StatusCode);

        var row = KeyRow(page, key);
        await row.GetByRole(AriaRole.Button, new() { Name = $"Revoke {name}" }).ClickAsync();

        Assert.Equal($"Revoke {name}? Apps using it will stop working.", await session.WaitForDialogAsync(TimeSpan.FromSeconds(10)));
        await Expect(row.Locator("td").Nth(6)).ToHaveTextAsync("revoked");
        await Expect(row).ToHaveClassAsync("revoked");
        await Expect(row.GetByRole(AriaRole.Button)).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Revoked" })).ToContainTextAsync(name);
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.GetAsync("/api/v1/workspaces")).StatusCode);
        Assert.Single(session.Dialogs);
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task RevokeKey_WhenTheConfirmationIsDismissed_KeepsTheKeyWorking()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        var name = Infrastructure.Unique("kept");
        var key = await CreateKeyAsync(page, name, "secret");
        session.AcceptDialogs = false;

        await KeyRow(page, key).GetByRole(AriaRole.Button, new() { Name = $"Revoke {name}" }).ClickAsync();

        Assert.StartsWith($"Revoke {name}?", await session.WaitForDialogAsync(TimeSpan.FromSeconds(10)), StringComparison.Ordinal);
        await page.ReloadAsync();
        await Expect(KeyRow(page, key).Locator("td").Nth(6)).ToHaveTextAsync("active");
        using var api = fixture.Server.NewClient(key);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/workspaces")).StatusCode);
        await session.AssertNoProblemsAsync();
    }

    /// <summary>Creates a key through the form and returns it as the success alert shows it.</summary>
    private static async Task<string> CreateKeyAsync(IPage page, string name, string kind)
    {
        await page.GotoAsync("/w/demo/keys");
        await page.GetByLabel("Kind", new() { Exact = true }).SelectOptionAsync(kind);
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync(name);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var shown = page.Locator(".created-key #new-key");
        await Expect(shown).ToBeVisibleAsync();
        return (await shown.TextContentAsync())!.Trim();
    }

    private static ILocator KeyRow(IPage page, string key) => page.Locator($"tr[data-key-prefix='{key[..VisiblePrefixLength]}']");
}
