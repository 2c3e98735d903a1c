using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Upswing.Access;
using Upswing.TestKit;
using static Microsoft.Playwright.Assertions;

namespace Upswing.BrowserTests;

[Collection(DashboardCollection.Name)]
public sealed class SignInTests(ChromiumFixture fixture)
{
    [Fact]
    public async Task SignIn_WithWrongPassword_ShowsAnErrorAndStaysSignedOut()
    {
        await using var session = await BrowserSession.OpenAsync(fixture, signedIn: false);
        var page = session.Page;

        await session.SignInAsync(ChromiumFixture.AdminEmail, "not-the-admin-password");

        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("That e-mail and password do not match an account.");
        await Expect(page).ToHaveURLAsync(new Regex(@"/signin\?error=invalid"));
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign out" })).ToHaveCountAsync(0);
        Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == "upswing_session");

        // Still signed out: a workspace page sends the browser back to the sign-in form.
        await page.GotoAsync("/w/demo");
        await Expect(page).ToHaveURLAsync(new Regex(@"/signin\?ReturnUrl=%2Fw%2Fdemo$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in to Upswing" })).ToBeVisibleAsync();
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task SignIn_AsAdmin_LandsOnTheDemoWorkspace()
    {
        await using var session = await BrowserSession.OpenAsync(fixture, signedIn: false);
        var page = session.Page;

        await session.SignInAsync(ChromiumFixture.AdminEmail, ChromiumFixture.AdminPassword);

        await page.WaitForURLAsync(new Regex("/w/demo$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Demo — Calicritters");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Get started" })).ToBeVisibleAsync();
        var steps = page.Locator("ol.steps > li");
        await Expect(steps).ToHaveCountAsync(3);
        await Expect(steps.First).ToContainTextAsync("Create a client key for Production");
        await Expect(steps.Nth(1)).ToContainTextAsync("Paste the SDK snippet");
        await Expect(page.GetByText(ChromiumFixture.AdminEmail)).ToBeVisibleAsync();

        // The activity chart: the element is server-rendered, ECharts (bundled at /lib) draws an SVG into it.
        var chart = page.Locator(".chart[data-chart]");
        await Expect(chart).ToHaveCountAsync(1);
        await Expect(chart.Locator("svg")).ToBeVisibleAsync();
        await Expect(chart).ToHaveAttributeAsync("data-rendered", "1");
        Assert.True(await page.EvaluateAsync<bool>("() => typeof window.echarts?.init === 'function'"), "ECharts did not load.");

        await session.ScreenshotAsync("home.png");
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task AnonymousVisit_ToAWorkspacePage_RedirectsToSignIn_AndBackAfterSignIn()
    {
        await using var session = await BrowserSession.OpenAsync(fixture, signedIn: false);
        var page = session.Page;

        await page.GotoAsync("/w/demo/members");
        await Expect(page).ToHaveURLAsync(new Regex(@"/signin\?ReturnUrl=%2Fw%2Fdemo%2Fmembers$"));
        await Expect(page.Locator("input[name=returnUrl]")).ToHaveValueAsync("/w/demo/members");

        await session.SignInAsync(ChromiumFixture.AdminEmail, ChromiumFixture.AdminPassword);

        await page.WaitForURLAsync(new Regex("/w/demo/members$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Members");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Members" })).ToHaveAttributeAsync("aria-current", "page");
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task SignIn_WithAOneTimePassword_AsksForANewOneThatThenWorks()
    {
        var email = Infrastructure.Unique("onetime") + "@example.com";
        await fixture.Server.WithServicesAsync(async services =>
            (await services.GetRequiredService<UserService>().CreateAsync(email, "one-time-password", isAdmin: false, CancellationToken.None, mustChangePassword: true)).Value!);
        await using var session = await BrowserSession.OpenAsync(fixture, signedIn: false);
        var page = session.Page;

        await session.SignInAsync(email, "one-time-password");
        await page.WaitForURLAsync(new Regex("/account/password$"));
        await page.GetByLabel("New password", new() { Exact = true }).FillAsync("my-own-password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save password" }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Your password has been changed.");
        var signedIn = await fixture.Server.WithServicesAsync(services => services.GetRequiredService<UserService>().SignInAsync(email, "my-own-password", CancellationToken.None));
        Assert.NotNull(signedIn);
        Assert.False(signedIn.MustChangePassword);
        await session.AssertNoProblemsAsync();
    }
}
