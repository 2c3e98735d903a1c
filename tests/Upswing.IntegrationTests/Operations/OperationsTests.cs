using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Upswing.Common.Http;
using Upswing.Data;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Operations;

/// <summary>Health, metrics, OpenAPI, request ids, rate limits and server errors.</summary>
public sealed class OperationsTests
{
    [Fact]
    public async Task Health_LiveAndReady_On_AFreshDatabase()
    {
        await using var server = await UpswingTestServer.StartAsync(TestDatabase.Sqlite());
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/health/live")).StatusCode);
        var ready = await server.Client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", (await ready.ReadAsync()).Str("status"));
    }

    [Fact]
    public async Task Ready_IsUnhealthyUntilMigrationsAreApplied_OnPostgres()
    {
        var cluster = await PostgresCluster.SharedAsync();
        Infrastructure.Require(cluster is not null, PostgresCluster.UnavailableReason ?? "PostgreSQL unavailable");
        var db = new TestDatabase(DatabaseProvider.Postgres, await cluster!.CreateDatabaseAsync("unmigrated", migrated: false), TestDatabase.Sqlite().DataDir);
        await using var server = await UpswingTestServer.StartAsync(db, autoMigrate: false);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/health/live")).StatusCode);
        var notReady = await server.Client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Contains("upswing migrate", await notReady.Content.ReadAsStringAsync());

        var migrated = await UpswingCliRunner.RunAsync(["migrate", .. db.CliArguments]);
        Assert.True(migrated.ExitCode == 0, migrated.ToString());
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task Metrics_ExposeRequestDurationsRuntimeAndProcess()
    {
        await using var server = await UpswingTestServer.StartAsync(TestDatabase.Sqlite());
        await server.Client.GetAsync("/health/live");
        await server.Client.GetAsync("/nope");
        var response = await server.Client.GetAsync("/metrics");
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE http_server_request_duration_seconds histogram", text);
        Assert.Matches("http_server_request_duration_seconds_count\\{[^}]*http_response_status_code=\"404\"", text);
        Assert.Contains("dotnet_gc_collections_total", text);
        Assert.Contains("process_start_time_seconds", text);
    }

    [Fact]
    public async Task OpenApi_DescribesTheManagementApi_AndTheUiIsServed()
    {
        await using var server = await UpswingTestServer.StartAsync(TestDatabase.Sqlite());
        var document = await (await server.Client.GetAsync("/openapi/v1.json")).ReadOkAsync();
        var paths = document["paths"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Contains("/api/v1/keys", paths);
        Assert.Contains("/api/v1/members/{id}", paths);
        Assert.Contains("/api/v1/audit", paths);
        Assert.Contains("/api/v1/workspaces/{idOrSlug}", paths);
        Assert.Equal("bearer", document["components"]!["securitySchemes"]!["apiKey"]!.Str("scheme"));
        Assert.Equal("Upswing API", document["info"]!.Str("title"));
        var ui = await server.Client.GetAsync("/docs/index.html");
        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
        Assert.Contains("swagger", await ui.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task RequestId_IsOnEveryResponse_AndUniquePerRequest()
    {
        await using var server = await UpswingTestServer.StartAsync(TestDatabase.Sqlite());
        var first = (await server.Client.GetAsync("/health/live")).Headers.GetValues("X-Request-Id").Single();
        var second = (await server.Client.GetAsync("/nope")).Headers.GetValues("X-Request-Id").Single();
        Assert.NotEqual(first, second);
        Assert.False(string.IsNullOrWhiteSpace(first));
    }

    [Fact]
    public async Task SignIn_IsRateLimitedPerClient_WithRetryAfter()
    {
        await using var server = await UpswingTestServer.StartAsync(TestDatabase.Sqlite());
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 15 && limited is null; i++)
        {
            var response = await server.Client.PostAsync("/account/signin", new FormUrlEncodedContent([new("email", "a@b.c"), new("password", "guess" + i)]));
            limited = response.StatusCode == HttpStatusCode.TooManyRequests ? response : null;
        }

        Assert.NotNull(limited);
        Assert.True(limited.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal("urn:upswing:problem:rate-limited", (await limited.ReadAsync()).Str("type"));
    }

    [Fact]
    public async Task KeyInRequestEndpoints_SkipAuthentication_OtherEndpointsRunItOnce()
    {
        // AuthenticationMiddleware sets IAuthenticationFeature whenever it runs; WebApplication used to add a second,
        // unconditional copy at the start of the pipeline because the real one sits in a branch.
        static IResult Report(HttpContext http) => TypedResults.Ok(new { authenticated = http.Features.Get<Microsoft.AspNetCore.Authentication.IAuthenticationFeature>() is not null });
        await using var server = await UpswingTestServer.StartAsync(TestDatabase.Sqlite(), mapExtra: app =>
        {
            app.MapGet("/test/key-in-request", Report).AuthenticatesByKeyInRequest();
            app.MapGet("/test/ordinary", Report).AllowAnonymous();
        });
        Assert.False((await (await server.Client.GetAsync("/test/key-in-request")).ReadAsync())["authenticated"]!.GetValue<bool>());
        Assert.True((await (await server.Client.GetAsync("/test/ordinary")).ReadAsync())["authenticated"]!.GetValue<bool>());
    }

    [Fact]
    public async Task UnexpectedException_Is500_WithoutInternals_AndLoggedWithTheRequestId()
    {
        await using var server = await UpswingTestServer.StartAsync(TestDatabase.Sqlite(), mapExtra: app =>
            app.MapGet("/test/throw", IResult () => throw new InvalidOperationException("connection string Password=hunter2")));
        var response = await server.Client.GetAsync("/test/throw");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("hunter2", body);
        Assert.DoesNotContain("InvalidOperationException", body);
        var problem = System.Text.Json.Nodes.JsonNode.Parse(body)!;
        Assert.Equal("urn:upswing:problem:internal", problem.Str("type"));
        var logged = Assert.Single(server.Logs.Problems, p => p.Exception is InvalidOperationException);
        Assert.Equal(LogLevel.Error, logged.Level);
        Assert.Equal(response.Headers.GetValues("X-Request-Id").Single(), logged.Scope["RequestId"]);
        Assert.Equal("/test/throw", logged.Scope["RequestPath"]);
    }

    [Fact]
    public async Task LogLines_CarryTheClientsRequestId_WhenItIsWellFormed()
    {
        await using var server = await UpswingTestServer.StartAsync(TestDatabase.Sqlite(), mapExtra: app =>
            app.MapGet("/test/log", (ILogger<OperationsTests> logger) =>
            {
                logger.LogWarning("Logged inside a request");
                return TypedResults.NoContent();
            }));
        foreach (var (sent, kept) in new[] { ("trace-42.a_b", "trace-42.a_b"), ("bad id with spaces", null) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/test/log");
            request.Headers.Add("X-Request-Id", sent);
            var response = await server.Client.SendAsync(request);
            var line = server.Logs.Entries.Last(e => e.Message == "Logged inside a request");
            Assert.Equal(response.Headers.GetValues("X-Request-Id").Single(), line.Scope["RequestId"]);
            Assert.Equal(kept, line.Scope.GetValueOrDefault("ClientRequestId"));
        }
    }

    [Fact]
    public async Task BrowserNavigation_ToAMissingPage_GetsAnHtmlPage_ApiClientsGetJson()
    {
        await using var server = await UpswingTestServer.StartAsync(TestDatabase.Sqlite());
        using var browser = new HttpRequestMessage(HttpMethod.Get, "/no-such-page");
        browser.Headers.Accept.ParseAdd("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        var page = await server.Client.SendAsync(browser);
        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains(page.Headers.GetValues("X-Request-Id").Single(), html);
        Assert.Contains("<main", html);

        using var api = new HttpRequestMessage(HttpMethod.Get, "/api/v1/nope");
        api.Headers.Accept.ParseAdd("text/html");
        Assert.Equal("application/problem+json", (await server.Client.SendAsync(api)).Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Dashboard_RedirectsAnonymousVisitorsToSignIn()
    {
        await using var server = await UpswingTestServer.StartAsync(TestDatabase.Sqlite());
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };
        var response = await client.GetAsync("/w/demo/keys");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/signin?ReturnUrl=", response.Headers.Location!.PathAndQuery);
    }

    [Fact]
    public async Task FirstStart_WithAdminSettings_CreatesThatAdminOnce()
    {
        var db = TestDatabase.Sqlite();
        var settings = new Dictionary<string, string?> { ["Admin:Email"] = "Boss@Example.com", ["Admin:Password"] = "first-password" };
        var first = await UpswingTestServer.StartAsync(db, settings, demo: true);
        var user = await first.WithServicesAsync(sp => sp.GetRequiredService<Upswing.Access.UserService>().SignInAsync("boss@example.com", "first-password", CancellationToken.None));
        Assert.True(user is { IsAdmin: true, MustChangePassword: false });
        await first.StopAsync();

        settings["Admin:Password"] = "changed-in-env";
        await using var second = await UpswingTestServer.StartAsync(db, settings, demo: true);
        var stillFirst = await second.WithServicesAsync(sp => sp.GetRequiredService<Upswing.Access.UserService>().SignInAsync("boss@example.com", "first-password", CancellationToken.None));
        Assert.NotNull(stillFirst);
    }
}

public sealed class RequestIdLoggingTests
{
    [Fact]
    public async Task LogLinesOfARequest_CarryTheRequestIdOfItsResponse()
    {
        await using var server = await UpswingTestServer.StartAsync(TestDatabase.Sqlite());
        var ws = await server.CreateWorkspaceAsync();
        using var api = server.NewClient(ws.SecretKey);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/keys") { Content = new StringContent("{", System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Request-Id", "client-chosen-id");
        var response = await api.SendAsync(request);
        var id = response.Headers.GetValues("X-Request-Id").Single();
        var line = Assert.Single(server.Logs.Entries, e => e.Category.EndsWith("BadRequestMiddleware", StringComparison.Ordinal));
        Assert.Equal(id, line.Scope["RequestId"]?.ToString());
        Assert.Equal("client-chosen-id", line.Scope["ClientRequestId"]?.ToString());
        Assert.Equal(id, (await response.ReadAsync()).Str("requestId"));
    }
}
