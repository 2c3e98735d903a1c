using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Upswing.Access;
using Upswing.Common;
using Upswing.Jobs;
using Upswing.TestKit;
using static Microsoft.Playwright.Assertions;

namespace Upswing.BrowserTests;

/// <summary>
/// The jobs section over the real job queue. Jobs meant to stay queued go to a queue of their own, which no node
/// has workers for; a job meant to fail goes to the default queue, whose workers run it.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class JobsPageTests(ChromiumFixture fixture)
{
    private const string NotFoundConsoleError = "the server responded with a status of 404 (Not Found)";

    [Fact]
    public async Task JobsPage_RefreshesTheHealthAndTheList_WithoutAReload()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        var queue = Infrastructure.Unique("q");
        await EnqueueAsync(ws, queue, new SleepJob(600_000));
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        await page.GotoAsync($"/w/{ws.Workspace.Slug}/jobs?env=production");
        await Expect(page.GetByTestId("jobs-available")).ToHaveTextAsync("1");
        await page.EvaluateAsync("() => { window.notReloaded = true; }");

        var added = await EnqueueAsync(ws, queue, new SleepJob(600_000));

        await Expect(page.GetByTestId("jobs-available")).ToHaveTextAsync("2", new() { Timeout = 15_000 });
        await Expect(Row(page, added)).ToBeVisibleAsync(new() { Timeout = 15_000 });
        Assert.True(await page.EvaluateAsync<bool>("() => window.notReloaded === true"), "the page was reloaded");
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task JobsPage_ListsTheWorkspacesJobs_WithStatesHealthTilesAndFilters()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        var queue = Infrastructure.Unique("q");
        var sleeping = await EnqueueAsync(ws, queue, new SleepJob(600_000));
        var cancelled = await EnqueueAsync(ws, queue, new SleepJob(600_000));
        var noop = await EnqueueAsync(ws, queue, new NoopJob());
        await CancelAsync(ws, cancelled);
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;

        await page.GotoAsync($"/w/{ws.Workspace.Slug}/jobs?env=production");

        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Jobs", Exact = true })).ToHaveAttributeAsync("aria-current", "page");
        var rows = page.Locator("#job-list tbody tr");
        await Expect(rows).ToHaveCountAsync(3);
        // Newest first.
        Assert.Equal([$"{noop}", $"{cancelled}", $"{sleeping}"], await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.job)"));
        await Expect(Row(page, sleeping).Locator(".badge.job-state")).ToHaveTextAsync("available");
        await Expect(Row(page, cancelled).Locator(".badge.job-state")).ToHaveTextAsync("cancelled");
        await Expect(Row(page, noop)).ToContainTextAsync("upswing.noop");
        await Expect(Row(page, noop)).ToContainTextAsync(queue);
        await Expect(Row(page, sleeping)).ToContainTextAsync("0 / 25");

        await Expect(page.GetByTestId("jobs-available")).ToHaveTextAsync("2");
        await Expect(page.GetByTestId("jobs-running")).ToHaveTextAsync("0");
        await Expect(page.GetByTestId("jobs-discarded-hour")).ToHaveTextAsync("0");
        await Expect(page.GetByTestId("jobs-succeeded-minute")).ToHaveTextAsync("0");
        await Expect(page.GetByTestId("jobs-p50")).ToHaveTextAsync("–");
        await Expect(page.Locator($"table.depth tr[data-queue='{queue}'] td").Nth(1)).ToHaveTextAsync("2");
        await Expect(page.Locator("#jobs-health .chart svg")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("failing-empty")).ToBeVisibleAsync();
        await Expect(page.Locator("tr[data-periodic='prune-jobs']")).ToContainTextAsync("upswing.prune-jobs");
        await session.ScreenshotAsync("jobs-list.png");

        await page.GetByLabel("State", new() { Exact = true }).SelectOptionAsync("cancelled");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("state=cancelled"));
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(Row(page, cancelled)).ToBeVisibleAsync();

        await page.GetByLabel("State", new() { Exact = true }).SelectOptionAsync("");
        await page.GetByLabel("Kind", new() { Exact = true }).FillAsync("upswing.noop");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("kind=upswing.noop"));
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(Row(page, noop)).ToBeVisibleAsync();

        await page.GetByLabel("Kind", new() { Exact = true }).FillAsync("");
        await page.GetByLabel("Queue", new() { Exact = true }).FillAsync("no-such-queue");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Expect(page.GetByTestId("jobs-none")).ToContainTextAsync("No jobs match these filters");

        await page.GetByRole(AriaRole.Link, new() { Name = "Clear filters" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(3);
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task JobsPage_WithoutJobs_ShowsTheEmptyState_AndAnUnknownStateShowsTheError()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;

        await page.GotoAsync($"/w/{ws.Workspace.Slug}/jobs?env=production");
        await Expect(page.GetByTestId("jobs-empty")).ToContainTextAsync("No jobs yet");
        await Expect(page.GetByTestId("jobs-depth-empty")).ToBeVisibleAsync();

        await page.GotoAsync($"/w/{ws.Workspace.Slug}/jobs?env=production&state=<b>lost</b>");
        await Expect(page.GetByTestId("jobs-error").GetByRole(AriaRole.Alert)).ToContainTextAsync("The state is one of available");
        await Expect(page.Locator("#job-state")).ToHaveValueAsync("");
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task JobsPage_Detail_ShowsArgumentsAttemptsAndTheErrorOfADiscardedJob()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        // The default queue's workers run it; the handler discards a negative wait at once.
        var failing = await EnqueueAsync(ws, null, new SleepJob(-1), maxAttempts: 1);
        await WaitForStateAsync(ws, failing, JobStates.Discarded);
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;

        await page.GotoAsync($"/w/{ws.Workspace.Slug}/jobs?env=production");
        await Expect(page.Locator("tr[data-kind='upswing.sleep'] td").Nth(2)).ToHaveTextAsync("1");
        await Expect(page.GetByTestId("jobs-discarded-hour")).ToHaveTextAsync("1");
        await Expect(page.GetByTestId("jobs-p50")).Not.ToHaveTextAsync("–");
        await page.GetByRole(AriaRole.Link, new() { Name = "1 discarded upswing.sleep jobs" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("state=discarded"));
        await Expect(page.Locator("#job-list tbody tr")).ToHaveCountAsync(1);
        await Row(page, failing).GetByRole(AriaRole.Link, new() { Name = $"{failing}", Exact = true }).ClickAsync();

        await page.WaitForURLAsync(new Regex($"/jobs/{failing}"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync($"Job {failing}");
        await Expect(page.GetByTestId("job-state")).ToHaveTextAsync("discarded");
        await Expect(page.GetByTestId("job-attempts")).ToHaveTextAsync("1 / 1");
        await Expect(page.GetByTestId("job-args")).ToContainTextAsync("\"milliseconds\": -1");
        var attempt = page.Locator("tr[data-attempt='1']");
        await Expect(attempt).ToContainTextAsync("failed");
        await Expect(attempt).ToContainTextAsync("milliseconds must be between");
        await Expect(page.GetByTestId("job-errors").Locator("pre")).ToContainTextAsync("Discarded by its handler: milliseconds must be between 0 and 86400000.");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Retry" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel" })).ToHaveCountAsync(0);
        await session.ScreenshotAsync("jobs-detail-discarded.png");
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task JobsPage_CancelButton_CancelsAQueuedJob_AndRetryMakesItAvailableAgain()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        var queue = Infrastructure.Unique("q");
        var id = await fixture.Server.WithServicesAsync(async services => (await services.GetRequiredService<JobQueue>().EnqueueRawAsync(
            SleepJob.Kind, """{"milliseconds":600000,"note":"<b>not bold</b>"}""",
            new EnqueueOptions { Queue = queue, WorkspaceId = ws.Workspace.Id }, CancellationToken.None)).Id);
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;

        await page.GotoAsync($"/w/{ws.Workspace.Slug}/jobs/{id}?env=production");
        await Expect(page.GetByTestId("job-state")).ToHaveTextAsync("available");
        var args = page.GetByTestId("job-args");
        await Expect(args).ToContainTextAsync("\"note\": \"<b>not bold</b>\"");
        await Expect(args.Locator("b")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("job-no-attempts")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Retry" })).ToHaveCountAsync(0);

        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();

        await Expect(page.GetByTestId("job-message")).ToHaveTextAsync($"Cancelled job {id}.");
        await Expect(page.GetByTestId("job-state")).ToHaveTextAsync("cancelled");
        Assert.Equal(JobStates.Cancelled, (await GetAsync(ws, id))!.State);
        Assert.Contains($"Cancel job {id}?", session.Dialogs);

        await page.GetByRole(AriaRole.Button, new() { Name = "Retry" }).ClickAsync();

        await Expect(page.GetByTestId("job-message")).ToContainTextAsync($"Job {id} is available again");
        await Expect(page.GetByTestId("job-state")).ToHaveTextAsync("available");
        Assert.Equal(JobStates.Available, (await GetAsync(ws, id))!.State);
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task JobsPage_CancelButtonOnAStalePage_ShowsTheConflict()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        var id = await EnqueueAsync(ws, Infrastructure.Unique("q"), new SleepJob(600_000));
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        await page.GotoAsync($"/w/{ws.Workspace.Slug}/jobs/{id}?env=production");
        await Expect(page.GetByTestId("job-state")).ToHaveTextAsync("available");

        await CancelAsync(ws, id);
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync($"Job {id} has already finished.");
        await Expect(page.GetByTestId("job-state")).ToHaveTextAsync("cancelled");
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task JobsPage_BulkActions_CancelTheFilteredQueuedJobs_AndRetryTheDiscardedOnes()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        var (queue, elsewhere) = (Infrastructure.Unique("q"), Infrastructure.Unique("q"));
        var ids = new[] { await EnqueueAsync(ws, queue, new SleepJob(600_000)), await EnqueueAsync(ws, queue, new NoopJob()) };
        var untouched = await EnqueueAsync(ws, elsewhere, new SleepJob(600_000));
        var failing = await EnqueueAsync(ws, null, new SleepJob(-1), maxAttempts: 1);
        await WaitForStateAsync(ws, failing, JobStates.Discarded);
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;

        await page.GotoAsync($"/w/{ws.Workspace.Slug}/jobs?env=production&queue={queue}");
        await Expect(page.Locator("#job-list tbody tr")).ToHaveCountAsync(2);
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel queued" }).ClickAsync();

        await Expect(page.GetByTestId("jobs-message")).ToHaveTextAsync($"Cancelled 2 jobs that were queued (queue {queue}).");
        await Expect(page.Locator("#job-list .badge.job-state")).ToHaveTextAsync(["cancelled", "cancelled"]);
        foreach (var id in ids)
        {
            Assert.Equal(JobStates.Cancelled, (await GetAsync(ws, id))!.State);
        }

        Assert.Equal(JobStates.Available, (await GetAsync(ws, untouched))!.State);

        await page.GotoAsync($"/w/{ws.Workspace.Slug}/jobs?env=production");
        await page.GetByRole(AriaRole.Button, new() { Name = "Retry all discarded" }).ClickAsync();

        await Expect(page.GetByTestId("jobs-message")).ToHaveTextAsync("Retried 1 job that had been discarded (every kind and queue); they are available again.");
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task JobsPage_Viewer_SeesNoActions_AndNoOtherWorkspacesJobs()
    {
        var own = await fixture.Server.CreateWorkspaceAsync();
        var other = await fixture.Server.CreateWorkspaceAsync();
        var queue = Infrastructure.Unique("q");
        var ownJob = await EnqueueAsync(own, queue, new SleepJob(600_000));
        var otherJob = await EnqueueAsync(other, queue, new SleepJob(600_000));
        var installationJob = await EnqueueAsync(null, queue, new SleepJob(600_000));
        await fixture.Server.WithServicesAsync(async services =>
            (await services.GetRequiredService<MemberService>().InviteAsync(other.Owner, own.OwnerUser.Email, WorkspaceRole.Viewer, CancellationToken.None)).Value!);
        await using var session = await BrowserSession.OpenAsync(fixture, signedIn: false);
        var page = session.Page;
        await session.SignInAsync(own.OwnerUser.Email, TestWorkspace.OwnerPassword);
        await page.WaitForURLAsync(new Regex("/w/ws-[0-9a-f]+$"));

        // Only installation admins may widen the scope; for anyone else scope=all is their own workspace.
        await page.GotoAsync($"/w/{own.Workspace.Slug}/jobs?env=production&scope=all");
        await Expect(Row(page, ownJob)).ToBeVisibleAsync();
        await Expect(page.Locator("#job-list tbody tr")).ToHaveCountAsync(1);
        await Expect(Row(page, otherJob)).ToHaveCountAsync(0);
        await Expect(Row(page, installationJob)).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Every workspace and the installation" })).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("jobs-available")).ToHaveTextAsync("1");

        session.ExpectConsoleError(NotFoundConsoleError);
        foreach (var path in (string[])[$"/w/{own.Workspace.Slug}/jobs/{otherJob}", $"/w/{own.Workspace.Slug}/jobs/{otherJob}?scope=all", $"/w/{own.Workspace.Slug}/jobs/{installationJob}?scope=all"])
        {
            var response = await page.GotoAsync(path);

            Assert.Equal(404, response?.Status);
            await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync(new Regex("^No job \\d+$"));
            await Expect(page.GetByTestId("job-args")).ToHaveCountAsync(0);
        }

        // A viewer of the other workspace reads its jobs but has no buttons.
        await page.GotoAsync($"/w/{other.Workspace.Slug}/jobs?env=production");
        await Expect(Row(page, otherJob)).ToBeVisibleAsync();
        await Expect(page.Locator("main form[method='post']")).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel queued" })).ToHaveCountAsync(0);
        await page.GotoAsync($"/w/{other.Workspace.Slug}/jobs/{otherJob}?env=production");
        await Expect(page.GetByTestId("job-state")).ToHaveTextAsync("available");
        await Expect(page.Locator("main form[method='post']")).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel" })).ToHaveCountAsync(0);
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task JobsPage_InstallationAdmin_SeesEveryWorkspacesAndTheInstallationsJobs_OnlyWhenAsked()
    {
        var own = await fixture.Server.CreateWorkspaceAsync();
        var other = await fixture.Server.CreateWorkspaceAsync();
        var queue = Infrastructure.Unique("q");
        var otherJob = await EnqueueAsync(other, queue, new SleepJob(600_000));
        var installationJob = await EnqueueAsync(null, queue, new SleepJob(600_000));
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;

        await page.GotoAsync($"/w/{own.Workspace.Slug}/jobs?env=production&queue={queue}");
        await Expect(page.GetByTestId("jobs-none")).ToBeVisibleAsync();

        await page.GetByRole(AriaRole.Link, new() { Name = "Every workspace and the installation" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("scope=all"));
        await Expect(page.Locator("#job-list tbody tr")).ToHaveCountAsync(2);
        await Expect(Row(page, otherJob)).ToContainTextAsync(other.Workspace.Slug);
        await Expect(Row(page, installationJob)).ToContainTextAsync("installation");

        await Row(page, installationJob).GetByRole(AriaRole.Link, new() { Name = $"{installationJob}", Exact = true }).ClickAsync();
        await page.WaitForURLAsync(new Regex($"/jobs/{installationJob}\\?.*scope=all"));
        await Expect(page.GetByTestId("job-state")).ToHaveTextAsync("available");
        await Expect(page.GetByTestId("job-facts")).ToContainTextAsync("installation");
        await session.AssertNoProblemsAsync();
    }

    private static ILocator Row(IPage page, long id) => page.Locator($"#job-list tr[data-job='{id}']");

    private async Task<long> EnqueueAsync<TArgs>(TestWorkspace? ws, string? queue, TArgs args, int? maxAttempts = null)
        where TArgs : IJobArgs =>
        await fixture.Server.WithServicesAsync(async services => (await services.GetRequiredService<JobQueue>().EnqueueAsync(
            args, new EnqueueOptions { Queue = queue, WorkspaceId = ws?.Workspace.Id, MaxAttempts = maxAttempts }, CancellationToken.None)).Id);

    private async Task CancelAsync(TestWorkspace ws, long id) => Assert.True((await fixture.Server.WithServicesAsync(services =>
        services.GetRequiredService<JobAdmin>().CancelAsync(ws.Workspace.Id, Actor.Cli, id, CancellationToken.None))).Succeeded);

    private Task<JobDto?> GetAsync(TestWorkspace ws, long id) => fixture.Server.WithServicesAsync(services =>
        services.GetRequiredService<JobAdmin>().GetAsync(ws.Workspace.Id, id, CancellationToken.None));

    /// <summary>Waits, with a deadline, for the default queue's workers to bring a job to <paramref name="state"/>.</summary>
    private Task WaitForStateAsync(TestWorkspace ws, long id, string state) =>
        Infrastructure.WaitUntilAsync(async () => (await GetAsync(ws, id))?.State == state, TimeSpan.FromSeconds(30), $"job {id} {state}");
}
