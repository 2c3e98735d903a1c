using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Upswing.TestKit;

namespace Upswing.BrowserTests;

/// <summary>
/// Debian's Chromium driven by Playwright, and one real Upswing server (SQLite, demo workspace, a known
/// administrator) shared by every browser test. Playwright's own browser download is never used: the
/// driver (its own Node binary and playwright-core, under bin/.../.playwright) ships inside the NuGet
/// package and needs nothing else; it launches Debian's /usr/bin/chromium (apt-get install chromium
/// fonts-dejavu-core), whose major version matches the one this Playwright release targets.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string AdminEmail = "admin@example.com";
    public const string AdminPassword = "browser-tests-admin-password";

    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-quic",
    ];

    private IPlaywright? playwright;
    private IBrowser? browser;
    private UpswingTestServer? server;
    private string? adminStorageState;
    private string? unavailable;

    public IBrowser Browser => Available(browser);

    public UpswingTestServer Server => Available(server);

    /// <summary>The administrator's signed-in cookies, so most tests skip the sign-in form (and its rate limit).</summary>
    public string AdminStorageState => Available(adminStorageState);

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            unavailable = $"Chromium was not found at {ChromiumPath} (apt-get install chromium fonts-dejavu-core).";
            return;
        }

        Assertions.SetDefaultExpectTimeout(10_000);
        server = await UpswingTestServer.StartAsync(
            TestDatabase.Sqlite(),
            [new("Admin:Email", AdminEmail), new("Admin:Password", AdminPassword)],
            demo: true);
        playwright = await Playwright.CreateAsync();
        browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
        });
        adminStorageState = await SignInOnceAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (browser is not null)
        {
            await browser.CloseAsync();
        }

        playwright?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    private async Task<string> SignInOnceAsync()
    {
        await using var context = await browser!.NewContextAsync(new() { BaseURL = server!.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        await BrowserSession.SignInAsync(page, AdminEmail, AdminPassword);
        await page.WaitForURLAsync(new Regex("/w/demo$"));
        return await context.StorageStateAsync();
    }

    private T Available<T>(T? value)
        where T : class
    {
        Infrastructure.Require(unavailable is null, unavailable ?? "");
        return value ?? throw new InvalidOperationException("The browser fixture did not start.");
    }
}

/// <summary>All browser tests share one Chromium and one server, and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<ChromiumFixture>
{
    public const string Name = "Dashboard in Chromium";
}
