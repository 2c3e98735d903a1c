using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Analytics;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Analytics;

/// <summary>
/// The environment buckets of the funnels, retention and kfactor rollups (ADR 9), on SQLite and PostgreSQL: events sent
/// with a production key, a development key and a key bound to no environment; each environment's view reads its bucket
/// and the environment-less one, the workspace's view every bucket, each bucket being its own population; verify is clean.
/// </summary>
public abstract class RollupEnvironmentsContract(ServerFixture fixture)
{
    private static readonly DateTimeOffset Today = RollupWindow.StartOf(RollupWindow.DayOf(TimeProvider.System.GetUtcNow()));
    private static readonly DateTimeOffset Yesterday = Today.AddDays(-1).AddHours(10);
    private static readonly string Day = DayText(Yesterday);

    private UpswingTestServer Server => fixture.Server;

    [Fact]
    public async Task FunnelsRetentionAndKFactor_ByEnvironment_SumTheBucketsOfTheView_AndVerifyClean()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var api = Server.NewClient(ws.SecretKey);
        var development = (await (await api.PostAsJsonAsync("/api/v1/keys", new { kind = "client", environment = "development", name = "dev" })).ReadOkAsync()).Str("key");
        var funnel = Infrastructure.Unique("signup");
        await (await api.PostAsJsonAsync("/api/v1/funnels", new { key = funnel, name = "Signup", steps = new[] { new { @event = "View" }, new { @event = "Signup" } } })).ReadOkAsync();
        var t = Infrastructure.Unique("e");

        // Production: p1 views, signs up, comes back today and invites j1, who joins; p2 only views.
        await SendAsync(ws.ClientKey,
            ($"{t}-p1", "View", Yesterday, null), ($"{t}-p1", "Signup", Yesterday.AddMinutes(5), null), ($"{t}-p2", "View", Yesterday, null),
            ($"{t}-p1", "invite.sent", Yesterday.AddMinutes(10), "i1"), ($"{t}-j1", "invite.joined", Yesterday.AddHours(1), "i1"), ($"{t}-p1", "View", Today, null));
        // Development: d1 views, signs up and invites; nobody joins.
        await SendAsync(development,
            ($"{t}-d1", "View", Yesterday, null), ($"{t}-d1", "Signup", Yesterday.AddMinutes(5), null), ($"{t}-d1", "invite.sent", Yesterday.AddMinutes(10), "i2"));
        // No environment: n1 views.
        await SendAsync(ws.SecretKey, ($"{t}-n1", "View", Yesterday, null));

        await Server.WithServicesAsync(async services =>
        {
            var runner = services.GetRequiredService<RollupRunner>();
            foreach (var job in new[] { FunnelRollups.Name, RetentionRollups.Name, KFactorRollups.Name })
            {
                Assert.Equal(RollupRunner.Succeeded, (await runner.RunAsync(ws.Workspace.Id, job, 3, default)).Outcome);
                Assert.Empty(await runner.VerifyAsync(ws.Workspace.Id, job, 3, default));
            }

            return 0;
        });

        // Funnel: entries (p1 enters again today) and sign-ups of each view.
        foreach (var (environment, entered, signedUp) in new[] { ("production", 4L, 1L), ("development", 2L, 1L), ("", 5L, 2L) })
        {
            var steps = (await GetAsync(api, $"/api/v1/analytics/funnels?funnel={funnel}&from={Day}&environment={environment}"))["steps"]!.AsArray();
            Assert.Equal((entered, signedUp), (steps[0]!["persons"]!.GetValue<long>(), steps[1]!["persons"]!.GetValue<long>()));
        }

        // Retention: yesterday's first-time cohort (p1, p2, j1 in production; d1; n1) and who came back today (p1).
        foreach (var (environment, size, back) in new[] { ("production", 4L, 1L), ("development", 2L, 0L), ("", 5L, 1L) })
        {
            var cohort = (await GetAsync(api, $"/api/v1/analytics/retention?type=first_time&period=day&from={Day}&to={Day}&environment={environment}"))["cohorts"]!.AsArray().Single()!;
            Assert.Equal(size, cohort["size"]!.GetValue<long>());
            Assert.Equal(back, cohort["values"]!.AsArray().SingleOrDefault(v => v!["offset"]!.GetValue<int>() == 1)?["persons"]!.GetValue<long>() ?? 0);
        }

        // K-factor: production's invite was joined, development's was not.
        foreach (var (environment, inviters, joined) in new[] { ("production", 1L, 1L), ("development", 1L, 0L), ("", 2L, 1L) })
        {
            var loop = (await GetAsync(api, $"/api/v1/analytics/kfactor?from={Day}&to={Day}&environment={environment}"))["loops"]!.AsArray().Single()!;
            Assert.Equal((inviters, inviters, joined), (loop["inviters"]!.GetValue<long>(), loop["invitesSent"]!.GetValue<long>(), loop["joined"]!.GetValue<long>()));
        }

        foreach (var path in new[] { $"/api/v1/analytics/funnels?funnel={funnel}", "/api/v1/analytics/retention", "/api/v1/analytics/kfactor", "/v1/metrics/funnels" })
        {
            var invalid = await api.GetAsync(path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "environment=staging");
            Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
            Assert.NotNull((await invalid.ReadAsync())["errors"]!["environment"]);
        }

        // This funnel has no breakdown property: no value to filter by.
        var noBreakdown = await api.GetAsync($"/api/v1/analytics/funnels?funnel={funnel}&breakdown=web");
        Assert.Equal(HttpStatusCode.BadRequest, noBreakdown.StatusCode);
        Assert.NotNull((await noBreakdown.ReadAsync())["errors"]!["breakdown"]);
    }

    private async Task SendAsync(string key, params (string User, string Name, DateTimeOffset At, string? InviteId)[] events) =>
        await (await Server.NewClient(key).PostAsJsonAsync("/v1/batch", new
        {
            batch = events.Select(e => new
            {
                type = "track",
                @event = e.Name,
                userId = e.User,
                timestamp = e.At.ToString("O", CultureInfo.InvariantCulture),
                properties = e.InviteId is null ? null : new { loop = "buddy", inviteId = e.InviteId },
            }),
        })).ReadOkAsync();

    private static async Task<JsonNode> GetAsync(HttpClient api, string path) => await (await api.GetAsync(path)).ReadOkAsync();

    private static string DayText(DateTimeOffset at) => RollupWindow.DayOf(at).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}

[Trait("Provider", "SQLite")]
public sealed class RollupEnvironmentsOnSqlite(SqliteRollupServerFixture fixture) : RollupEnvironmentsContract(fixture), IClassFixture<SqliteRollupServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class RollupEnvironmentsOnPostgres(PostgresRollupServerFixture fixture) : RollupEnvironmentsContract(fixture), IClassFixture<PostgresRollupServerFixture>;
