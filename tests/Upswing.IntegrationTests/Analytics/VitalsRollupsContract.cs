using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Analytics;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Analytics;

/// <summary>
/// The vitals rollup against a straightforward p75 over the measurements the test sent through POST /v1/vitals (so dedup by
/// metric id is ingestion's own), on SQLite and PostgreSQL; idempotency; the query endpoint as JSON and CSV; validation.
/// </summary>
public abstract class VitalsRollupsContract(ServerFixture fixture)
{
    private static readonly string[] Metrics = ["LCP", "INP", "CLS", "FCP", "TTFB"];
    private static readonly string[] Pages = ["/", "/pricing", "/docs/a,b"];
    private static readonly string[] Devices = ["mobile", "desktop"];

    private UpswingTestServer Server => fixture.Server;

    [Fact]
    public async Task VitalsRollup_EqualsAStraightforwardP75_CountsOnlyTheLastReportPerMetricId_AndIsIdempotent()
    {
        var (ws, sent) = await ArrangeAsync();

        var first = await RunAsync(ws.Workspace.Id);
        Assert.Equal(RollupRunner.Succeeded, first.Outcome);
        var stored = await ReadAsync(ws.Workspace.Id);

        var expected = sent.GroupBy(v => v.Id).Select(g => g.Last())
            .GroupBy(v => (v.Metric, v.Path, v.Device))
            .ToDictionary(g => g.Key, g => (Samples: g.Count(), P75: P75(g.Select(v => v.Value))));
        Assert.Equal(expected.Count, stored.Count);
        Assert.Single(stored.Select(r => r.Day).Distinct());
        foreach (var row in stored)
        {
            var e = expected[(row.Metric, row.Path, row.DeviceClass)];
            Assert.Equal(e.Samples, row.Samples);
            Assert.Equal(e.P75, row.P75, 1e-9);
        }

        // The CLS reported twice counts once, with its later value.
        var cls = stored.Single(r => r.Metric == "CLS" && r.Path == "/" && r.DeviceClass == "mobile");
        Assert.Equal(expected[("CLS", "/", "mobile")].Samples, cls.Samples);

        var second = await RunAsync(ws.Workspace.Id);
        Assert.Equal(first.RowsWritten, second.RowsWritten);
        Assert.Equal(stored, await ReadAsync(ws.Workspace.Id));
        Assert.Empty(await Server.WithServicesAsync(s => s.GetRequiredService<RollupRunner>().VerifyAsync(ws.Workspace.Id, VitalsRollups.Name, null, default)));
    }

    [Fact]
    public async Task VitalsEndpoint_AnswersTheRollupsRowsWithRatings_AsJsonAndCsv_AndValidatesTheQuery()
    {
        var (ws, _) = await ArrangeAsync();
        await RunAsync(ws.Workspace.Id);
        var stored = await ReadAsync(ws.Workspace.Id);
        var day = stored[0].Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var api = Server.NewClient(ws.SecretKey);

        var json = (await (await api.GetAsync($"/api/v1/analytics/vitals?from={day}&to={day}")).ReadOkAsync()).AsArray();
        Assert.Equal(stored.Count, json.Count);
        foreach (var (item, row) in json.Zip(stored))
        {
            var node = item!;
            Assert.Equal((day, row.Metric, row.Path, row.DeviceClass), (node.Str("day"), node.Str("metric"), node.Str("path"), node.Str("deviceClass")));
            Assert.Equal(row.Samples, node["samples"]!.GetValue<long>());
            Assert.Equal(row.P75, node["p75"]!.GetValue<double>(), 1e-9);
            Assert.Equal(Vitals.Rating(row.Metric, row.P75), node.Str("rating"));
        }

        var lcp = (await (await api.GetAsync($"/api/v1/analytics/vitals?from={day}&to={day}&metric=LCP&device=desktop&path=%2Fpricing")).ReadOkAsync()).AsArray();
        Assert.Equal(stored.Count(r => r.Metric == "LCP" && r.DeviceClass == "desktop" && r.Path == "/pricing"), lcp.Count);
        Assert.NotEmpty(lcp);

        using var csvRequest = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/analytics/vitals?from={day}&to={day}");
        csvRequest.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        var csvResponse = await api.SendAsync(csvRequest);
        Assert.Equal(HttpStatusCode.OK, csvResponse.StatusCode);
        Assert.Equal("text/csv", csvResponse.Content.Headers.ContentType!.MediaType);
        var lines = (await csvResponse.Content.ReadAsStringAsync()).Split("\r\n");
        Assert.Equal("day,metric,path,deviceClass,samples,p50,p75,p90,rating", lines[0]);
        Assert.Equal(stored.Count + 2, lines.Length); // header, rows, and the empty string after the last CRLF
        Assert.Contains(lines, l => l.Contains(",\"/docs/a,b\",", StringComparison.Ordinal));

        var invalid = await api.GetAsync("/api/v1/analytics/vitals?from=2026-02-30&metric=FID");
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var problem = await invalid.ReadAsync();
        Assert.Equal("urn:upswing:problem:validation", problem.Str("type"));
        Assert.NotNull(problem["errors"]!["from"]);
        Assert.NotNull(problem["errors"]!["metric"]);
    }

    [Fact]
    public async Task VitalsByEnvironment_KeepsABucketPerEnvironment_AndMergesTheEnvironmentLessOneByWeight()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var development = Server.NewClient((await (await Server.NewClient(ws.SecretKey).PostAsJsonAsync("/api/v1/keys",
            new { kind = "client", environment = "development", name = "dev" })).ReadOkAsync()).Str("key"));
        var tag = Infrastructure.Unique("v4env");
        SentVital[] production = [new($"{tag}-1", "LCP", 1000, "/", "desktop"), new($"{tag}-2", "LCP", 2000, "/", "desktop"), new($"{tag}-3", "LCP", 3000, "/", "desktop")];
        SentVital[] dev = [new($"{tag}-4", "LCP", 9000, "/", "desktop")];
        SentVital[] none = [new($"{tag}-5", "LCP", 500, "/", "desktop")];
        await SendAsync(Server.NewClient(ws.ClientKey), production);
        await SendAsync(development, dev);
        await SendAsync(Server.NewClient(ws.SecretKey), none);
        Assert.Equal(RollupRunner.Succeeded, (await RunAsync(ws.Workspace.Id)).Outcome);
        Assert.Empty(await Server.WithServicesAsync(s => s.GetRequiredService<RollupRunner>().VerifyAsync(ws.Workspace.Id, VitalsRollups.Name, 2, default)));

        var api = Server.NewClient(ws.SecretKey);
        async Task AssertLcpAsync(string query, long samples, double p75)
        {
            var row = (await (await api.GetAsync("/api/v1/analytics/vitals?metric=LCP" + query)).ReadOkAsync()).AsArray().Single()!;
            Assert.Equal(samples, row["samples"]!.GetValue<long>());
            Assert.Equal(p75, row["p75"]!.GetValue<double>(), 1e-9);
        }

        // Several buckets with samples: the samples add up, the p75 is the sample-weighted mean of theirs.
        var (p, d, n) = (P75(production.Select(v => v.Value)), 9000.0, 500.0);
        await AssertLcpAsync("&environment=production", 4, ((3 * p) + n) / 4);
        await AssertLcpAsync("&environment=development", 2, (d + n) / 2);
        await AssertLcpAsync("", 5, ((3 * p) + d + n) / 5);
        var invalid = await api.GetAsync("/api/v1/analytics/vitals?environment=staging");
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.NotNull((await invalid.ReadAsync())["errors"]!["environment"]);
    }

    /// <summary>numpy's default percentile, written out: rank h = 0.75·(n − 1), interpolate between its neighbours.</summary>
    private static double P75(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        var h = 0.75 * (sorted.Length - 1);
        var below = (int)h;
        var above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + ((h - below) * (sorted[above] - sorted[below]));
    }

    private async Task<(TestWorkspace Workspace, List<SentVital> Sent)> ArrangeAsync()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var writer = Server.NewClient(ws.ClientKey);
        var random = new Random(7);
        var tag = Infrastructure.Unique("v4");
        var sent = new List<SentVital>();
        var n = 0;
        foreach (var metric in Metrics)
        {
            foreach (var page in Pages)
            {
                foreach (var device in Devices)
                {
                    var samples = 3 + random.Next(6);
                    for (var i = 0; i < samples; i++)
                    {
                        var value = metric == "CLS" ? Math.Round(random.NextDouble() * 0.4, 4) : Math.Round(random.NextDouble() * 5000, 1);
                        sent.Add(new SentVital($"{tag}-{n++}", metric, value, page, device));
                    }
                }
            }
        }

        await SendAsync(writer, sent);
        // A CLS that grew: the same id reported again, later and higher; only this report may count.
        var original = sent.First(v => v.Metric == "CLS" && v.Path == "/" && v.Device == "mobile");
        var grown = original with { Value = original.Value + 0.5 };
        await SendAsync(writer, [grown]);
        sent.Add(grown);
        return (ws, sent);
    }

    private static async Task SendAsync(HttpClient writer, IReadOnlyList<SentVital> vitals)
    {
        var metrics = vitals.Select(v => new { name = v.Metric, value = v.Value, id = v.Id, url = "https://shop.example.com" + v.Path + "?ref=ad", deviceClass = v.Device }).ToArray();
        var response = await (await writer.PostAsJsonAsync("/v1/vitals", new { metrics })).ReadOkAsync();
        Assert.Equal(vitals.Count, response["accepted"]!.GetValue<int>());
    }

    private Task<RollupRunDto> RunAsync(Guid workspace) =>
        Server.WithServicesAsync(s => s.GetRequiredService<RollupRunner>().RunAsync(workspace, VitalsRollups.Name, 2, default));

    private Task<List<VitalsRow>> ReadAsync(Guid workspace) =>
        Server.WithServicesAsync(async s => (await s.GetRequiredService<VitalsRollups>().ReadAsync(workspace, DateOnly.MinValue, DateOnly.MaxValue, null, null, null, null, default)).ToList());

    private sealed record SentVital(string Id, string Metric, double Value, string Path, string Device);
}

[Trait("Provider", "SQLite")]
public sealed class VitalsRollupsOnSqlite(SqliteRollupServerFixture fixture) : VitalsRollupsContract(fixture), IClassFixture<SqliteRollupServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class VitalsRollupsOnPostgres(PostgresRollupServerFixture fixture) : VitalsRollupsContract(fixture), IClassFixture<PostgresRollupServerFixture>;
