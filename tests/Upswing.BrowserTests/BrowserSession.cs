using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace Upswing.BrowserTests;

/// <summary>
/// A fresh browser context and page for one test. Console errors, uncaught page errors, failed requests
/// and errors the server logged meanwhile are collected, so every test can end with <see cref="AssertNoProblemsAsync"/>.
/// Dialogs (confirm) are recorded and accepted, or dismissed when <see cref="AcceptDialogs"/> is false.
/// </summary>
public sealed class BrowserSession : IAsyncDisposable
{
    private readonly ChromiumFixture fixture;
    private readonly IBrowserContext context;
    private readonly ConcurrentQueue<string> problems = new();
    private readonly ConcurrentQueue<string> dialogs = new();
    private readonly List<string> expectedConsoleErrors = [];
    private readonly TaskCompletionSource<string> firstDialog = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int serverProblemsBefore;

    private BrowserSession(ChromiumFixture fixture, IBrowserContext context, IPage page)
    {
        this.fixture = fixture;
        this.context = context;
        Page = page;
        serverProblemsBefore = fixture.Server.Logs.Problems.Count;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                problems.Enqueue($"console error: {message.Text} ({message.Location})");
            }
        };
        page.PageError += (_, error) => problems.Enqueue($"page error: {error}");
        page.RequestFailed += (_, request) =>
        {
            // A live list's poll still in flight when the test navigates away is abandoned, not failed.
            if (request.Failure?.Contains("ERR_ABORTED", StringComparison.Ordinal) == true && request.Headers.ContainsKey("hx-trigger"))
            {
                return;
            }

            problems.Enqueue($"request failed: {request.Method} {request.Url}: {request.Failure}");
        };
        page.Dialog += async (_, dialog) =>
        {
            dialogs.Enqueue(dialog.Message);
            firstDialog.TrySetResult(dialog.Message);
            if (AcceptDialogs)
            {
                await dialog.AcceptAsync();
            }
            else
            {
                await dialog.DismissAsync();
            }
        };
    }

    public IPage Page { get; }

    public bool AcceptDialogs { get; set; } = true;

    /// <summary>Messages of every dialog the page opened, in order.</summary>
    public IReadOnlyList<string> Dialogs => dialogs.ToArray();

    /// <summary>A new context and page; signed in as the administrator unless <paramref name="signedIn"/> is false.</summary>
    public static async Task<BrowserSession> OpenAsync(ChromiumFixture fixture, bool signedIn = true, ViewportSize? viewport = null)
    {
        var context = await fixture.Browser.NewContextAsync(new()
        {
            BaseURL = fixture.Server.BaseAddress.ToString(),
            StorageState = signedIn ? fixture.AdminStorageState : null,
            ViewportSize = viewport ?? new() { Width = 1280, Height = 900 },
            Locale = "en-US",
        });
        context.SetDefaultTimeout(15_000);
        return new BrowserSession(fixture, context, await context.NewPageAsync());
    }

    /// <summary>Fills and submits the sign-in form; the caller waits for where it should land.</summary>
    public static async Task SignInAsync(IPage page, string email, string password)
    {
        if (!page.Url.Contains("/signin", StringComparison.Ordinal))
        {
            await page.GotoAsync("/signin");
        }

        await page.GetByLabel("E-mail", new() { Exact = true }).FillAsync(email);
        await page.GetByLabel("Password", new() { Exact = true }).FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
    }

    public Task SignInAsync(string email, string password) => SignInAsync(Page, email, password);

    /// <summary>The first dialog the page opens, within <paramref name="timeout"/>.</summary>
    public Task<string> WaitForDialogAsync(TimeSpan timeout) => firstDialog.Task.WaitAsync(timeout);

    /// <summary>A console error the test provokes on purpose (say, Chromium reporting a 404 document).</summary>
    public void ExpectConsoleError(string containing) => expectedConsoleErrors.Add(containing);

    /// <summary>Fails with everything that went wrong on the page or the server since the session opened.</summary>
    public async Task AssertNoProblemsAsync()
    {
        // A round trip to the page: events the browser sent before its answer have been delivered by now.
        await Page.EvaluateAsync("() => document.readyState");
        var found = problems
            .Where(p => !expectedConsoleErrors.Exists(e => p.StartsWith("console error:", StringComparison.Ordinal) && p.Contains(e, StringComparison.Ordinal)))
            .Concat(fixture.Server.Logs.Problems.Skip(serverProblemsBefore).Select(p => $"server {p.Level}: {p.Category}: {p.Message} {p.Exception}"))
            .ToList();
        Assert.True(found.Count == 0, "Problems while the test ran:\n" + string.Join('\n', found));
    }

    /// <summary>A full-page screenshot in $TMPDIR/upswing-screens, for people to look at.</summary>
    public async Task<string> ScreenshotAsync(string name)
    {
        var directory = Path.Combine(Path.GetTempPath(), "upswing-screens");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name);
        await Page.ScreenshotAsync(new() { Path = path, FullPage = true });
        return path;
    }

    public async ValueTask DisposeAsync() => await context.DisposeAsync();
}
