using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Upswing.Analytics;
using Upswing.TestKit;
using static Microsoft.Playwright.Assertions;

namespace Upswing.BrowserTests;

/// <summary>The analytics section, fed through the real ingestion API and rolled up by the real rollups.</summary>
[Collection(DashboardCollection.Name)]
public sealed class AnalyticsPagesTests(ChromiumFixture fixture)
{
    [Fact]
    public async Task Overview_ChartsRolledUpEvents_FiltersWithoutAReload_ListsMetrics_AndDownloadsCsv()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        var now = TimeProvider.System.GetUtcNow();
        List<object> batch = [];
        for (var i = 0; i < 6; i++)
        {
            batch.Add(new { type = "track", userId = $"u{i}", @event = "Signed Up", timestamp = now.AddDays(-2) });
            batch.Add(new { type = "track", userId = $"u{i}", @event = "Order Completed", timestamp = now.AddDays(-1), properties = new { revenue = 10 } });
        }

        batch.Add(new { type = "track", userId = "u0", @event = "Order Completed", timestamp = now.AddDays(-1) });
        await SendAsync(ws, "/v1/batch", new { batch });
        using (var api = fixture.Server.NewClient(ws.SecretKey))
        {
            (await api.PostAsJsonAsync("/api/v1/metrics", new { key = "purchase", name = "Purchased", type = "binomial", @event = "Order Completed" })).EnsureSuccessStatusCode();
            (await api.PostAsJsonAsync("/api/v1/metrics", new { key = "refunds", name = "Refunds", type = "count", @event = "Refund Requested", direction = "decrease", guardrail = true })).EnsureSuccessStatusCode();
        }

        await RollUpAsync(ws, DailyMetricRollups.Name);
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;

        await page.GotoAsync($"/w/{ws.Workspace.Slug}/analytics?env=production");

        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Analytics", Exact = true })).ToHaveAttributeAsync("aria-current", "page");
        await Expect(page.GetByTestId("total-events")).ToHaveTextAsync("13");
        await Expect(page.Locator("[data-testid=daily-chart] svg")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("event-table").Locator("tbody tr")).ToHaveCountAsync(2);
        await Expect(page.GetByTestId("rollup-freshness")).ToContainTextAsync("Rollups last ran");
        var catalogue = page.GetByTestId("metric-catalogue");
        await Expect(catalogue.Locator("tbody tr")).ToHaveCountAsync(2);
        await Expect(catalogue).ToContainTextAsync("did Order Completed within 72 h of first exposure");
        await Expect(catalogue.Locator(".badge.guardrail")).ToHaveCountAsync(1);
        await session.ScreenshotAsync("analytics-overview.png");

        // A filter swaps only the view, in place: a marker on the window survives, and the URL follows.
        await page.EvaluateAsync("() => { window.__sameDocument = true; }");
        await page.GetByLabel("Event", new() { Exact = true }).SelectOptionAsync("Order Completed");
        await page.WaitForURLAsync(new Regex("event=Order(%20|\\+)Completed"));
        await Expect(page.GetByTestId("total-events")).ToHaveTextAsync("7");
        await Expect(page.GetByTestId("event-table").Locator("tbody tr")).ToHaveCountAsync(1);
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"));

        // The workspace bar's environment filters in place: the events came with the production client key, development has none.
        await page.GetByLabel("Environment", new() { Exact = true }).SelectOptionAsync("development");
        await page.WaitForURLAsync(new Regex("env=development"));
        await Expect(page.GetByTestId("daily-empty")).ToBeVisibleAsync();
        await page.GetByLabel("Environment", new() { Exact = true }).SelectOptionAsync("production");
        await page.WaitForURLAsync(new Regex("env=production"));
        await Expect(page.GetByTestId("total-events")).ToHaveTextAsync("7");
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"));

        var today = DateOnly.FromDateTime(now.UtcDateTime);
        await page.GetByLabel("From", new() { Exact = true }).FillAsync(DayRange.Format(today));
        await page.GetByLabel("From", new() { Exact = true }).DispatchEventAsync("change");
        await Expect(page.GetByTestId("daily-empty")).ToBeVisibleAsync();
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"));

        // The CSV link carries the filters; it answers for this member only.
        await page.GetByLabel("From", new() { Exact = true }).FillAsync(DayRange.Format(today.AddDays(-5)));
        await page.GetByLabel("From", new() { Exact = true }).DispatchEventAsync("change");
        await Expect(page.GetByTestId("total-events")).ToHaveTextAsync("7");
        var href = await page.GetByTestId("csv-daily").GetAttributeAsync("href");
        var csv = await page.Context.APIRequest.GetAsync(href!);
        Assert.Equal(200, csv.Status);
        Assert.StartsWith("text/csv", csv.Headers["content-type"], StringComparison.Ordinal);
        var lines = (await csv.TextAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["day,event,events,users", $"{DayRange.Format(today.AddDays(-1))},Order Completed,7,6"], lines);
        var other = await page.Context.APIRequest.GetAsync(href!.Replace(ws.Workspace.Slug, "no-such-workspace", StringComparison.Ordinal));
        Assert.Equal(404, other.Status);
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task Vitals_ShowsP75AgainstTheBands_RatesEachPage_AndSwitchesMetric()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        var metrics = new List<object>();
        for (var i = 0; i < 8; i++)
        {
            metrics.Add(new { name = "LCP", value = 1200 + (i * 50), id = $"fast-{i}", url = "https://shop.example.com/", deviceClass = "desktop" });
            metrics.Add(new { name = "LCP", value = 4200 + (i * 100), id = $"slow-{i}", url = "https://shop.example.com/shop", deviceClass = "mobile" });
            metrics.Add(new { name = "CLS", value = 0.02, id = $"cls-{i}", url = "https://shop.example.com/", deviceClass = "desktop" });
        }

        await SendAsync(ws, "/v1/vitals", new { metrics });
        await RollUpAsync(ws, VitalsRollups.Name);
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;

        await page.GotoAsync($"/w/{ws.Workspace.Slug}/analytics/vitals?env=production");

        await Expect(page.Locator("[data-testid=vitals-chart] svg")).ToBeVisibleAsync();
        var table = page.GetByTestId("vitals-table");
        await Expect(table.Locator("tbody tr")).ToHaveCountAsync(2);
        await Expect(table.Locator("tr", new() { HasText = "/shop" }).Locator(".badge.rating")).ToHaveTextAsync("poor");
        await Expect(table.Locator("tr", new() { HasText = "desktop" }).Locator(".badge.rating")).ToHaveTextAsync("good");
        await Expect(page.GetByTestId("vitals-summary")).ToContainTextAsync("good ≤ 2,500 ms, poor > 4,000 ms");
        await session.ScreenshotAsync("analytics-vitals.png");

        await page.GetByLabel("Metric", new() { Exact = true }).SelectOptionAsync("CLS");
        await page.WaitForURLAsync(new Regex("metric=CLS"));
        await Expect(table.Locator("tbody tr")).ToHaveCountAsync(1);
        await Expect(table).ToContainTextAsync("0.02");

        await page.GetByLabel("Device", new() { Exact = true }).SelectOptionAsync("mobile");
        await Expect(page.GetByTestId("vitals-empty")).ToBeVisibleAsync();
        var csv = await page.Context.APIRequest.GetAsync((await page.GetByTestId("csv-vitals").GetAttributeAsync("href"))!);
        Assert.Equal(["day,metric,path,deviceClass,samples,p50,p75,p90,rating"], (await csv.TextAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries));
        await session.AssertNoProblemsAsync();
    }

    [Fact]
    public async Task DemoFunnelsRetentionAndKFactor_ShowTheSeededData_SwitchInPlace_AndDownloadCsv()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = session.Page;
        await page.EvaluateAsync("() => { window.__sameDocument = true; }");

        await page.GotoAsync("/w/demo/analytics/funnels?env=production");
        await page.EvaluateAsync("() => { window.__sameDocument = true; }");
        await Expect(page.Locator("[data-testid=funnel-chart] svg")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("funnel-steps").Locator("tbody tr")).ToHaveCountAsync(4);
        await Expect(page.GetByTestId("funnel-breakdowns")).ToContainTextAsync("invite");
        await session.ScreenshotAsync("analytics-funnels.png");

        // A value of the breakdown property keeps only those entries, in place; the breakdown table then has its one row.
        await page.GetByLabel("Only entries whose source is").SelectOptionAsync("ads");
        await page.WaitForURLAsync(new Regex("breakdown=ads"));
        await Expect(page.GetByTestId("funnel-breakdowns").Locator("tbody tr")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("funnel-breakdowns")).ToContainTextAsync("ads");
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"));

        // Another funnel: its own breakdown values (the ads filter does not apply to invite_loop's loops).
        await page.GetByLabel("Funnel", new() { Exact = true }).SelectOptionAsync("invite_loop");
        await page.WaitForURLAsync(new Regex("funnel=invite_loop"));
        await Expect(page.GetByTestId("funnel-steps").Locator("tbody tr")).ToHaveCountAsync(3);
        await Expect(page.GetByTestId("funnel-breakdowns").Locator("tbody tr")).ToHaveCountAsync(4);
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"));
        await AssertCsvAsync(page, "csv-funnels", "breakdown,step,event,persons,conversionFromStart,conversionFromPrevious,dropOff,averageSecondsToConvert");

        await page.GetByRole(AriaRole.Link, new() { Name = "Retention", Exact = true }).ClickAsync();
        await page.EvaluateAsync("() => { window.__sameDocument = true; }");
        var heatmap = page.GetByTestId("retention-heatmap");
        await Expect(heatmap.Locator("tbody tr.average")).ToHaveCountAsync(1);
        Assert.True(await heatmap.Locator("tbody tr").CountAsync() > 20);
        await Expect(heatmap.Locator("thead")).ToContainTextAsync("D7");
        await session.ScreenshotAsync("analytics-retention.png");
        await page.GetByLabel("Period", new() { Exact = true }).SelectOptionAsync("week");
        await page.WaitForURLAsync(new Regex("period=week"));
        await Expect(heatmap.Locator("thead")).ToContainTextAsync("W1");
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"));
        await AssertCsvAsync(page, "csv-retention", "cohortStart,size,offset,persons,rate");

        await page.GetByRole(AriaRole.Link, new() { Name = "K-factor", Exact = true }).ClickAsync();
        var loops = page.GetByTestId("kfactor-loops");
        await Expect(loops.Locator("tbody tr")).ToHaveCountAsync(4);
        await Expect(loops.Locator("tr.viral")).ToHaveCountAsync(1);
        await Expect(loops.Locator("tr.viral")).ToContainTextAsync("buddy_challenge");
        await Expect(page.Locator("[data-testid=kfactor-chart] svg")).ToBeVisibleAsync();
        await session.ScreenshotAsync("analytics-kfactor.png");
        await page.GetByLabel("Loop", new() { Exact = true }).SelectOptionAsync("tutor_spotlight");
        await page.WaitForURLAsync(new Regex("loop=tutor_spotlight"));
        await Expect(loops.Locator("tbody tr")).ToHaveCountAsync(1);
        await Expect(loops.Locator("tr.viral")).ToHaveCountAsync(0);
        await AssertCsvAsync(page, "csv-kfactor", "loop,cohortDay,inviters,invitesSent,opened,joined,reachedFirstValue,invitesPerInviter,joinRate,k");
        await session.AssertNoProblemsAsync();
    }

    private static async Task AssertCsvAsync(IPage page, string testId, string header)
    {
        var csv = await page.Context.APIRequest.GetAsync((await page.GetByTestId(testId).GetAttributeAsync("href"))!);
        Assert.Equal(200, csv.Status);
        var lines = (await csv.TextAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(header, lines[0]);
        Assert.True(lines.Length > 1, testId + " has rows");
    }

    private Task<RollupRunDto> RollUpAsync(TestWorkspace ws, string job) =>
        fixture.Server.WithServicesAsync(s => s.GetRequiredService<RollupRunner>().RunAsync(ws.Workspace.Id, job, 7, CancellationToken.None));

    private async Task SendAsync(TestWorkspace ws, string path, object body)
    {
        using var writer = fixture.Server.NewClient();
        writer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(ws.ClientKey + ":")));
        (await writer.PostAsJsonAsync(path, body)).EnsureSuccessStatusCode();
    }
}
