using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Analytics;
using Upswing.Statistics;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Analytics;

/// <summary>GET /api/v1/experiments/{key}/results over rollups supplied directly, on SQLite and PostgreSQL.</summary>
public abstract class ExperimentResultsContract(ServerFixture fixture)
{
    private static readonly DateOnly Day1 = new(2026, 11, 1);

    private UpswingTestServer Server => fixture.Server;

    [Fact]
    public async Task Results_OfAClearWinnerWithAHealthyGuardrail_RecommendShippingIt()
    {
        var (ws, api, key) = await ArrangeAsync();
        await UpsertAsync(ws.Workspace.Id, [
            Row(key, "signup", 0, 0, 4000, 400), Row(key, "signup", 1, 0, 4000, 460),
            Row(key, "signup", 0, 1, 6000, 600), Row(key, "signup", 1, 1, 6000, 690),
            Row(key, "errors", 0, 0, 4000, 200), Row(key, "errors", 1, 0, 4000, 195),
            Row(key, "errors", 0, 1, 6000, 300), Row(key, "errors", 1, 1, 6000, 300),
        ]);

        var results = await (await api.GetAsync($"/api/v1/experiments/{key}/results")).ReadOkAsync();

        Assert.Equal("ship", results["recommendation"]!.Str("kind"));
        Assert.Equal("one-page", results["recommendation"]!.Str("variationKey"));
        Assert.False(results["srm"]!["mismatch"]!.GetValue<bool>());
        Assert.Equal("2026-11-01", results.Str("from"));
        Assert.Equal("2026-11-02", results.Str("to"));
        Assert.Equal([10_000.0, 10_000.0], results["variations"]!.AsArray().Select(v => v!["units"]!.GetValue<double>()));

        var signup = Metric(results, "signup");
        Assert.Equal("primary", signup.Str("role"));
        Assert.Equal("proportion", signup.Str("kind"));
        Assert.Equal("Signed up", signup.Str("name"));
        var treatment = signup["variations"]![1]!;
        var direct = StatisticsEngine.Analyze(new AnalysisInput
        {
            Metric = "proportion",
            Engine = "frequentist",
            Variations = [new VariationInput { N = 10_000, Sum = 1000 }, new VariationInput { N = 10_000, Sum = 1150 }],
        }).Output!.Variations[1];
        Assert.Equal(direct.Expected!.Value, treatment["expected"]!.GetValue<double>(), 12);
        Assert.Equal(direct.PValue!.Value, treatment["pValue"]!.GetValue<double>(), 12);

        // Holm over one primary metric and one treatment: the adjusted p-value is the raw one.
        Assert.Equal(direct.PValue!.Value, treatment["adjustedPValue"]!.GetValue<double>(), 12);
        Assert.Equal("winning", treatment.Str("verdict"));
        Assert.Equal(2, signup["series"]!.AsArray().Count);

        var errors = Metric(results, "errors");
        Assert.Equal("guardrail", errors.Str("role"));
        Assert.Equal("decrease", errors.Str("goal"));
        Assert.Equal("ok", errors.Str("guardrail"));
    }

    [Fact]
    public async Task Results_OfAWinnerThatFailsItsGuardrail_RecommendRollingBack()
    {
        var (ws, api, key) = await ArrangeAsync();
        await UpsertAsync(ws.Workspace.Id, [
            Row(key, "signup", 0, 0, 10_000, 1000), Row(key, "signup", 1, 0, 10_000, 1150),
            Row(key, "errors", 0, 0, 10_000, 500), Row(key, "errors", 1, 0, 10_000, 620),
        ]);

        var results = await (await api.GetAsync($"/api/v1/experiments/{key}/results")).ReadOkAsync();

        Assert.Equal("rollBack", results["recommendation"]!.Str("kind"));
        Assert.Contains("errors", results["recommendation"]!.Str("reason"), StringComparison.Ordinal);
        Assert.Equal("failing", Metric(results, "errors").Str("guardrail"));
    }

    [Fact]
    public async Task Results_WithTheBayesianEngine_GiveChanceToWinAndNoPValues()
    {
        var (ws, api, key) = await ArrangeAsync();
        await UpsertAsync(ws.Workspace.Id, [Row(key, "signup", 0, 0, 10_000, 1000), Row(key, "signup", 1, 0, 10_000, 1150)]);

        var results = await (await api.GetAsync($"/api/v1/experiments/{key}/results?engine=bayesian&differenceType=absolute")).ReadOkAsync();

        var treatment = Metric(results, "signup")["variations"]![1]!;
        Assert.True(treatment["chanceToWin"]!.GetValue<double>() > 0.95);
        Assert.Null(treatment["pValue"]);
        Assert.Equal(0.015, treatment["expected"]!.GetValue<double>(), 9);
        Assert.Equal("bayesian", results["settings"]!.Str("engine"));
    }

    [Fact]
    public async Task Results_WithoutRollups_SayThereIsNoDataYet()
    {
        var (_, api, key) = await ArrangeAsync();

        var results = await (await api.GetAsync($"/api/v1/experiments/{key}/results")).ReadOkAsync();

        Assert.Equal("keepRunning", results["recommendation"]!.Str("kind"));
        Assert.Null(results["from"]);
        Assert.Empty(Metric(results, "signup")["series"]!.AsArray());
    }

    [Fact]
    public async Task Results_OfAMetricWithoutDefinition_CarryAnErrorForIt()
    {
        var (ws, api, key) = await ArrangeAsync(secondary: ["deleted-metric"]);
        await UpsertAsync(ws.Workspace.Id, [Row(key, "signup", 0, 0, 1000, 100), Row(key, "signup", 1, 0, 1000, 110)]);

        var results = await (await api.GetAsync($"/api/v1/experiments/{key}/results")).ReadOkAsync();

        Assert.Contains("deleted-metric", Metric(results, "deleted-metric").Str("error"), StringComparison.Ordinal);
        Assert.Null(Metric(results, "signup")["error"]);
    }

    [Theory]
    [InlineData("engine=magic", "engine")]
    [InlineData("differenceType=ratio", "differenceType")]
    [InlineData("correction=bonferroni", "correction")]
    [InlineData("alpha=2", "alpha")]
    [InlineData("sequential=maybe", "sequential")]
    public async Task Results_WithInvalidSettings_AreAValidationProblemNamingTheField(string query, string field)
    {
        var (_, api, key) = await ArrangeAsync();

        var response = await api.GetAsync($"/api/v1/experiments/{key}/results?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.NotNull((await response.ReadAsync())["errors"]![field]);
    }

    [Fact]
    public async Task Results_OfAnUnknownExperiment_AreNotFound()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);

        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/api/v1/experiments/no-such-experiment/results")).StatusCode);
    }

    private static JsonNode Metric(JsonNode results, string key) => results["metrics"]!.AsArray().Single(m => m!.Str("key") == key)!;

    private static ExperimentMetricRollupRow Row(string experiment, string metric, int variation, int day, long units, double conversions) =>
        new(experiment, metric, variation, Day1.AddDays(day), units, conversions, conversions);

    private async Task<(TestWorkspace Ws, HttpClient Api, string Key)> ArrangeAsync(string[]? secondary = null)
    {
        var ws = await Server.CreateWorkspaceAsync();
        var api = Server.NewClient(ws.SecretKey);
        await (await api.PostAsJsonAsync("/api/v1/metrics", new { key = "signup", name = "Signed up", type = "binomial", @event = "Signed Up" })).ReadOkAsync();
        await (await api.PostAsJsonAsync("/api/v1/metrics", new { key = "errors", name = "Saw an error", type = "binomial", @event = "Error Shown", direction = "decrease", guardrail = true })).ReadOkAsync();
        var key = Infrastructure.Unique("checkout");
        await (await api.PostAsJsonAsync("/api/v1/experiments", new
        {
            key,
            name = "One-page checkout",
            variations = new object[] { new { key = "control" }, new { key = "one-page", name = "One page" } },
            metrics = new { primary = new[] { "signup" }, secondary = secondary ?? [], guardrail = new[] { "errors" } },
        })).ReadOkAsync();
        await (await api.PostAsync($"/api/v1/experiments/{key}/start", null)).ReadOkAsync();
        return (ws, api, key);
    }

    private Task UpsertAsync(Guid workspace, IReadOnlyList<ExperimentMetricRollupRow> rows) =>
        Server.WithServicesAsync(async services =>
        {
            await services.GetRequiredService<ExperimentMetricRollups>().UpsertAsync(workspace, rows, default);
            return 0;
        });
}

[Trait("Provider", "SQLite")]
public sealed class ExperimentResultsOnSqlite(SqliteServerFixture fixture) : ExperimentResultsContract(fixture), IClassFixture<SqliteServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class ExperimentResultsOnPostgres(PostgresServerFixture fixture) : ExperimentResultsContract(fixture), IClassFixture<PostgresServerFixture>;
