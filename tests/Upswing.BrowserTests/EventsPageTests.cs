using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Upswing.Access;
using Upswing.TestKit;
using static Microsoft.Playwright.Assertions;

namespace Upswing.BrowserTests;

/// <summary>The events section, fed through the real ingestion API (/v1/batch with the workspace's client key).</summary>
[Collection(DashboardCollection.Name)]
public sealed class EventsPageTests(ChromiumFixture fixture)
{
    [Fact]
    public async Task Stream_ShowsIngestedEvents_FiltersByNameAndUser_AndOpensTheFullJson()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        var (user, anonymousId) = (Infrastructure.Unique("user"), Infrastructure.Unique("anon"));
        await SendAsync(ws,
            new { type = "track", userId = user, @event = "Signed Up", messageId = "m-signup", properties = new { plan = "team", seats = 5 }, context = new { locale = "de-CH" } },
            new { type = "track", userId = user, @event = "Order Completed", messageId = "m-order", properties = new { total = 42.5 } },
            new { type = "page", anonymousId, name = "Pricing", messageId = "m-page" });
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;

        await page.GotoAsync($"/w/{ws.Workspace.Slug}/events?env=production");

        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Events", Exact = true })).ToHaveAttributeAsync("aria-current", "page");
        var rows = page.Locator("#event-stream tbody tr");
        await Expect(rows).ToHaveCountAsync(3);
        await Expect(page.Locator("tr[data-event='m-signup']")).ToContainTextAsync("plan: \"team\", seats: 5");
        await Expect(page.Locator("tr[data-event='m-page'] .person")).ToContainTextAsync(anonymousId);
        await Expect(page.Locator(".chart svg")).ToBeVisibleAsync();
        await page.GetByText("Numbers", new() { Exact = true }).ClickAsync();
        await Expect(page.Locator("table.per-day")).ToContainTextAsync("Order Completed");
        await Expect(page.Locator("table.per-day tbody tr")).ToHaveCountAsync(1);

        await page.Locator("tr[data-event='m-signup'] summary").ClickAsync();
        var json = page.Locator("tr[data-event='m-signup'] pre.json");
        await Expect(json).ToBeVisibleAsync();
        await Expect(json).ToContainTextAsync("\"locale\": \"de-CH\"");
        await Expect(json).ToContainTextAsync("\"messageId\": \"m-signup\"");
        await session.ScreenshotAsync("events-stream.png");

        await page.GetByLabel("Event name").FillAsync("Order Completed");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("name=Order(%20|\\+)Completed"));
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(page.Locator("tr[data-event='m-order']")).ToBeVisibleAsync();

        await page.GetByRole(AriaRole.Link, new() { Name = "Clear filters" }).ClickAsync();
        await page.WaitForURLAsync(url => !url.Contains("name=", StringComparison.Ordinal));
        await page.GetByLabel("Anonymous id", new() { Exact = true }).FillAsync(anonymousId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(page.Locator("tr[data-event='m-page']")).ToContainTextAsync("Pricing");

        await page.GetByLabel("Anonymous id", new() { Exact = true }).FillAsync("");
        await page.GetByLabel("User id", new() { Exact = true }).FillAsync(user);
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(2);
        await Expect(page.Locator("tr[data-event='m-page']")).ToHaveCountAsync(0);
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task Stream_WithJavaScriptOff_FiltersAndPagesAsPlainGets()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        var user = Infrastructure.Unique("user");
        // 55 events at one timestamp: the second page is told apart from the first by id alone.
        var at = TimeProvider.System.GetUtcNow().AddMinutes(-1);
        await SendAsync(ws, [.. Enumerable.Range(0, 55).Select(i => (object)new { type = "track", userId = user, @event = "Viewed", messageId = $"m-{i:00}", timestamp = at })]);
        await SendAsync(ws, new { type = "track", userId = Infrastructure.Unique("other"), @event = "Viewed", messageId = "m-other" });
        await using var context = await fixture.Browser.NewContextAsync(new()
        {
            BaseURL = fixture.Server.BaseAddress.ToString(),
            StorageState = fixture.AdminStorageState,
            JavaScriptEnabled = false,
        });
        var page = await context.NewPageAsync();

        await page.GotoAsync($"/w/{ws.Workspace.Slug}/events?env=production");
        await page.GetByLabel("User id", new() { Exact = true }).FillAsync(user);
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await page.WaitForURLAsync(new Regex($"userId={user}"));
        var rows = page.Locator("#event-stream tbody tr");
        await Expect(rows).ToHaveCountAsync(50);
        var first = await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.event)");

        await page.GetByRole(AriaRole.Link, new() { Name = "Older events" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("beforeId="));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Older events" })).ToBeVisibleAsync();
        await Expect(rows).ToHaveCountAsync(5);
        var second = await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.event)");
        Assert.Equal(Enumerable.Range(0, 55).Select(i => $"m-{i:00}").Order(), first.Concat(second).Order());
    }

    [Fact]
    public async Task EmptyWorkspace_ShowsHowToSendAFirstEvent_ThenTheEventArrivesWithoutAReload()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        await page.GotoAsync($"/w/{ws.Workspace.Slug}/events?env=production");

        var empty = page.GetByTestId("events-empty");
        await Expect(empty).ToContainTextAsync("No events yet");
        await Expect(empty.Locator("pre")).ToContainTextAsync($"curl {fixture.Server.BaseAddress.ToString().TrimEnd('/')}/v1/track");
        await Expect(empty.Locator("pre")).ToContainTextAsync($"-u '{ws.ClientKey[..12]}");
        await Expect(page.GetByTestId("live-state")).ToHaveTextAsync("live");
        await Expect(page.GetByTestId("health-stored")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("health-lag")).ToContainTextAsync(" ms");
        await session.ScreenshotAsync("events-empty.png");
        await page.EvaluateAsync("() => { window.stillTheSamePage = true; document.getElementById('ev-user').value = 'typed, not sent'; }");

        using var writer = Writer(ws.ClientKey);
        (await writer.PostAsJsonAsync("/v1/track", new { userId = "first-user", @event = "Hello", messageId = "m-hello" })).EnsureSuccessStatusCode();

        await Expect(page.Locator("tr[data-event='m-hello']")).ToBeVisibleAsync();
        await Expect(empty).ToHaveCountAsync(0);
        Assert.True(await page.EvaluateAsync<bool>("() => window.stillTheSamePage === true"));
        await Expect(page.GetByLabel("User id", new() { Exact = true })).ToHaveValueAsync("typed, not sent");

        await page.GetByRole(AriaRole.Link, new() { Name = "Pause" }).ClickAsync();
        await Expect(page.GetByTestId("live-state")).ToHaveTextAsync("paused");
        await Expect(page.Locator("#event-stream[hx-trigger]")).ToHaveCountAsync(0);
        await page.GetByRole(AriaRole.Link, new() { Name = "Resume live updates" }).ClickAsync();
        await Expect(page.GetByTestId("live-state")).ToHaveTextAsync("live");
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task Quarantine_ShowsEachReason_AndThePayloadAsSent()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        var user = Infrastructure.Unique("user");
        await SendAsync(ws,
            new { type = "track", userId = user, @event = "Fine" },
            new { type = "track", userId = user, messageId = "m-nameless", properties = new { plan = "team" } },
            new { type = "track", userId = user, @event = "Old", messageId = "m-old", timestamp = "1970-01-02T00:00:00Z" });
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;

        await page.GotoAsync($"/w/{ws.Workspace.Slug}/events?env=production");
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Events pages" }).GetByRole(AriaRole.Link, new() { Name = "Quarantine" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/events/quarantine"));

        await Expect(page.Locator("table.quarantine tbody tr")).ToHaveCountAsync(2);
        await Expect(page.Locator("tr[data-quarantined='m-nameless'] .reasons")).ToContainTextAsync("event is required for a track call.");
        await Expect(page.Locator("tr[data-quarantined='m-old'] .reasons")).ToContainTextAsync("timestamp is before 2000-01-01.");
        await page.Locator("tr[data-quarantined='m-nameless'] summary").ClickAsync();
        await Expect(page.Locator("tr[data-quarantined='m-nameless'] pre.json")).ToContainTextAsync("\"plan\": \"team\"");
        await session.ScreenshotAsync("events-quarantine.png");

        var fresh = await fixture.Server.CreateWorkspaceAsync();
        await page.GotoAsync($"/w/{fresh.Workspace.Slug}/events/quarantine?env=production");
        await Expect(page.GetByTestId("quarantine-empty")).ToContainTextAsync("Nothing in quarantine");
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task UserTimeline_ShowsIdsTraitsAssignmentsAndEventsInTimeOrder()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        var experiment = Infrastructure.Unique("checkout");
        using (var api = fixture.Server.NewClient(ws.SecretKey))
        {
            (await api.PostAsJsonAsync("/api/v1/experiments", new { key = experiment, name = "Checkout", variations = new object[] { new { key = "control" }, new { key = "one-page" } } })).EnsureSuccessStatusCode();
            (await api.PostAsync($"/api/v1/experiments/{experiment}/start", null)).EnsureSuccessStatusCode();
        }

        var (user, anonymousId) = (Infrastructure.Unique("user"), Infrastructure.Unique("anon"));
        string variation;
        using (var assigner = fixture.Server.NewClient(ws.ClientKey))
        {
            var response = await assigner.PostAsJsonAsync("/v1/assignment", new { userId = user });
            response.EnsureSuccessStatusCode();
            variation = (await response.Content.ReadFromJsonAsync<JsonObject>())!["assignments"]![0]!["variationKey"]!.GetValue<string>();
        }

        var now = TimeProvider.System.GetUtcNow();
        await SendAsync(ws,
            new { type = "page", anonymousId, name = "Home", messageId = "m-1", timestamp = now.AddSeconds(-30) },
            new { type = "identify", userId = user, anonymousId, messageId = "m-2", traits = new { email = "ada@example.com", plan = "team" }, timestamp = now.AddSeconds(-20) },
            new { type = "track", userId = user, @event = "Checkout Started", messageId = "m-3" });
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;

        await page.GotoAsync($"/w/{ws.Workspace.Slug}/events?env=production&live=off");
        await page.Locator("tr[data-event='m-3'] .person a").ClickAsync();
        await page.WaitForURLAsync(new Regex($"/users/{user}"));

        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync(user);
        await Expect(page.GetByTestId("user-id")).ToHaveTextAsync(user);
        await Expect(page.GetByTestId("anonymous-ids")).ToHaveTextAsync(anonymousId);
        await Expect(page.GetByTestId("traits")).ToContainTextAsync("ada@example.com");
        await Expect(page.GetByTestId("traits")).ToContainTextAsync("plan");
        var assignment = page.Locator($"tr[data-assignment='{experiment}']");
        await Expect(assignment).ToContainTextAsync(variation);
        await Expect(assignment.GetByRole(AriaRole.Link)).ToHaveAttributeAsync("href", new Regex($"/experiments/{experiment}"));
        var timeline = page.Locator("table.timeline tbody tr");
        Assert.Equal(["m-1", "m-2", "m-3"], await timeline.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.event)"));
        await Expect(page.Locator("tr[data-event='m-3'] .experiments")).ToContainTextAsync($"{experiment} → {variation}");
        await session.ScreenshotAsync("events-user.png");

        // The lookup form finds the same person by their anonymous id.
        await page.GetByLabel("User or anonymous id").FillAsync(anonymousId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Open timeline" }).ClickAsync();
        await page.WaitForURLAsync(new Regex($"id={anonymousId}"));
        await Expect(page.GetByTestId("user-id")).ToHaveTextAsync(user);

        await page.GotoAsync($"/w/{ws.Workspace.Slug}/users/nobody-{anonymousId}?env=production");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("No one with this id");
        await Expect(page.GetByTestId("user-not-found")).ToContainTextAsync($"nobody-{anonymousId}");
        await session.ScreenshotAsync("events-user-not-found.png");
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task Viewer_ReadsEvents_AndANonMemberGetsNotFound()
    {
        var own = await fixture.Server.CreateWorkspaceAsync();
        var other = await fixture.Server.CreateWorkspaceAsync();
        var user = Infrastructure.Unique("user");
        await SendAsync(other, new { type = "track", userId = user, @event = "Seen by a viewer", messageId = "m-viewer" });
        await fixture.Server.WithServicesAsync(async services =>
            (await services.GetRequiredService<MemberService>().InviteAsync(other.Owner, own.OwnerUser.Email, WorkspaceRole.Viewer, CancellationToken.None)).Value!);
        await using var session = await BrowserSession.OpenAsync(fixture, signedIn: false);
        var page = session.Page;
        await session.SignInAsync(own.OwnerUser.Email, TestWorkspace.OwnerPassword);
        await page.WaitForURLAsync(new Regex("/w/ws-[0-9a-f]+$"));

        await page.GotoAsync($"/w/{other.Workspace.Slug}/events?env=production&live=off");
        await Expect(page.Locator("tr[data-event='m-viewer']")).ToBeVisibleAsync();
        await Expect(page.Locator("main form[method='post']")).ToHaveCountAsync(0);
        // Server-wide totals (every workspace's) are for the instance's administrators only.
        await Expect(page.GetByTestId("health-stored")).ToHaveCountAsync(0);
        await page.GotoAsync($"/w/{other.Workspace.Slug}/users/{user}?env=production");
        await Expect(page.GetByTestId("user-id")).ToHaveTextAsync(user);

        // Chromium reports every 404 document in the console; those are the point here.
        session.ExpectConsoleError("the server responded with a status of 404 (Not Found)");
        foreach (var path in (string[])["/w/demo/events", "/w/demo/events/quarantine", $"/w/demo/users/{user}", "/w/demo/users?id=x"])
        {
            var response = await page.GotoAsync(path);

            Assert.Equal(404, response?.Status);
            await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Not found");
        }

        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task TrackingPlan_PlansAnArrivingEvent_TurnsValidationOn_AndABadEventLandsInQuarantine()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        await SendAsync(ws, new { type = "track", userId = "u1", @event = "Order Completed", messageId = "m-1", properties = new { total = 10 } });
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        await page.GotoAsync($"/w/{ws.Workspace.Slug}/events/plan?env=production");
        await Expect(page.GetByTestId("plan-empty")).ToBeVisibleAsync();

        // The event already arriving is offered; adding it prefills the editor.
        await page.GetByRole(AriaRole.Link, new() { Name = "Plan Order Completed" }).ClickAsync();
        await Expect(page.Locator("#def-name")).ToHaveValueAsync("Order Completed");
        await page.Locator("#def-properties").FillAsync("""[{"name": "total", "type": "number", "required": true, "minimum": 0}, {"name": "currency", "enum": ["EUR", "USD"]}]""");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add to plan" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Added Order Completed to the plan.");
        await Expect(page.Locator("tr[data-definition='Order Completed']")).ToContainTextAsync("number, required, 0 to ∞");
        await Expect(page.Locator("tr[data-unplanned]")).ToHaveCountAsync(0);

        // A broken rule is shown next to the rules, and nothing is saved.
        await page.Locator("#def-name").FillAsync("Refunded");
        await page.Locator("#def-properties").FillAsync("""[{"name": "amount", "type": "money"}]""");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add to plan" }).ClickAsync();
        await Expect(page.Locator("#def-properties-error")).ToContainTextAsync("The type is one of string, number");
        await Expect(page.Locator("tr[data-definition='Refunded']")).ToHaveCountAsync(0);

        await page.Locator("#plan-validation").SelectOptionAsync("quarantine");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save validation" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Saved how events are validated.");
        await session.ScreenshotAsync("events-plan.png");

        await SendAsync(ws, new { type = "track", userId = "u1", @event = "Order Completed", messageId = "m-bad", properties = new { total = -5, currency = "GBP" } });
        await page.GotoAsync($"/w/{ws.Workspace.Slug}/events/quarantine?env=production");
        var held = page.Locator("tr[data-quarantined='m-bad']");
        await Expect(held).ToContainTextAsync("property 'total' must be between 0 and ∞.");
        await Expect(held).ToContainTextAsync("property 'currency' must be one of \"EUR\", \"USD\".");
    }

    private async Task SendAsync(TestWorkspace ws, params object[] batch)
    {
        using var writer = Writer(ws.ClientKey);
        var response = await writer.PostAsJsonAsync("/v1/batch", new { batch });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>HTTP Basic with the key as the user name and no password, as Segment libraries send their write key.</summary>
    private HttpClient Writer(string key)
    {
        var client = fixture.Server.NewClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":")));
        return client;
    }
}
