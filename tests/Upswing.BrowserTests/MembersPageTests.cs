using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Upswing.TestKit;
using static Microsoft.Playwright.Assertions;

namespace Upswing.BrowserTests;

[Collection(DashboardCollection.Name)]
public sealed class MembersPageTests(ChromiumFixture fixture)
{
    [Fact]
    public async Task InviteMember_ShowsAnInvitationLink()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        var email = Infrastructure.Unique("invitee") + "@example.com";
        await page.GotoAsync("/w/demo/members");

        await page.GetByLabel("E-mail", new() { Exact = true }).FillAsync(email);
        await page.GetByLabel("Role", new() { Exact = true }).SelectOptionAsync(new SelectOptionValue { Label = "Viewer" });
        await page.GetByRole(AriaRole.Button, new() { Name = "Invite", Exact = true }).ClickAsync();

        var success = page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Added" });
        await Expect(success).ToContainTextAsync($"Added {email} as viewer.");
        var link = success.Locator("#invite-link");
        await Expect(link).ToHaveTextAsync(new Regex($"^{Regex.Escape(fixture.Server.BaseAddress.ToString())}invite/[A-Za-z0-9_-]{{20,}}$"));
        var row = page.Locator("table.data tbody tr").Filter(new() { HasText = email });
        await Expect(row).ToHaveCountAsync(1);
        await Expect(row.Locator("td").Nth(2)).ToHaveTextAsync("invited");
        await Expect(row.GetByRole(AriaRole.Combobox)).ToHaveValueAsync("Viewer");
        await session.AssertNoProblemsAsync();

        // The link works: the invitee sets a password there.
        await using var invitee = await BrowserSession.OpenAsync(fixture, signedIn: false);
        await invitee.Page.GotoAsync((await link.TextContentAsync())!.Trim());
        await invitee.Page.GetByLabel("Password", new() { Exact = true }).FillAsync("invitee-password");
        await invitee.Page.GetByRole(AriaRole.Button, new() { Name = "Join" }).ClickAsync();
        await Expect(invitee.Page.GetByRole(AriaRole.Status)).ToContainTextAsync($"Welcome, {email}.");
        await invitee.AssertNoProblemsAsync();
    }
}
