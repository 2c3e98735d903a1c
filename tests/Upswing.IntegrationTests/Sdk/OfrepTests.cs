using System.Net;
using System.Net.Http.Json;

namespace Upswing.IntegrationTests.Sdk;

/// <summary>OpenFeature Remote Evaluation Protocol endpoints.</summary>
public sealed class OfrepTests(SqliteServerFixture fixture) : IClassFixture<SqliteServerFixture>
{
    [Fact]
    public async Task SingleFlag_FollowsTheRules_WithReasonAndVariant()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        using var api = fixture.Server.NewClient(ws.SecretKey);
        await (await api.PostAsJsonAsync("/api/v1/features", new
        {
            key = "plan-limit",
            valueType = "number",
            defaultValue = 5,
            environments = new Dictionary<string, object> { ["production"] = new { rules = new object[] { new { id = "pro", type = "force", condition = new { plan = "pro" }, value = 50 }, new { type = "experiment", experimentKey = "limit-test", variations = new[] { 5, 10 } } } } },
        })).ReadOkAsync();
        using var ofrep = fixture.Server.NewClient(ws.ClientKey);

        var pro = await (await ofrep.PostAsJsonAsync("/ofrep/v1/evaluate/flags/plan-limit", new { context = new { targetingKey = "user-1", plan = "pro" } })).ReadOkAsync();
        Assert.Equal((50, "TARGETING_MATCH", "pro"), (pro["value"]!.GetValue<int>(), pro.Str("reason"), pro["metadata"]!.Str("ruleId")));

        var split = await (await ofrep.PostAsJsonAsync("/ofrep/v1/evaluate/flags/plan-limit", new { context = new { targetingKey = "user-2" } })).ReadOkAsync();
        Assert.Equal("SPLIT", split.Str("reason"));
        Assert.Contains(split["value"]!.GetValue<int>(), new[] { 5, 10 });
        Assert.Equal("limit-test", split["metadata"]!.Str("experimentKey"));

        // The same targeting key always lands in the same arm, and matches remote evaluation.
        var again = await (await ofrep.PostAsJsonAsync("/ofrep/v1/evaluate/flags/plan-limit", new { context = new { targetingKey = "user-2" } })).ReadOkAsync();
        Assert.Equal(split["value"]!.GetValue<int>(), again["value"]!.GetValue<int>());
        var remote = await (await fixture.Server.Client.PostAsJsonAsync($"/api/eval/{ws.ClientKey}", new { attributes = new { id = "user-2" } })).ReadOkAsync();
        Assert.Equal(split["value"]!.GetValue<int>(), remote["features"]!["plan-limit"]!["defaultValue"]!.GetValue<int>());
    }

    [Fact]
    public async Task Bulk_EvaluatesEveryFlag_WithAnETag()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        using var api = fixture.Server.NewClient(ws.SecretKey);
        await (await api.PostAsJsonAsync("/api/v1/features", new { key = "a-flag", valueType = "boolean", defaultValue = true })).ReadOkAsync();
        await (await api.PostAsJsonAsync("/api/v1/features", new { key = "b-flag", valueType = "string", defaultValue = "x" })).ReadOkAsync();
        using var ofrep = fixture.Server.NewClient();
        ofrep.DefaultRequestHeaders.Add("X-API-Key", ws.ClientKey);
        var response = await ofrep.PostAsJsonAsync("/ofrep/v1/evaluate/flags", new { context = new { targetingKey = "u" } });
        var flags = (await response.ReadOkAsync())["flags"]!.AsArray();
        Assert.Equal(["a-flag", "b-flag"], flags.Select(f => f!.Str("key")));
        Assert.Equal("DEFAULT", flags[0]!.Str("reason"));

        using var conditional = new HttpRequestMessage(HttpMethod.Post, "/ofrep/v1/evaluate/flags") { Content = JsonContent.Create(new { context = new { targetingKey = "u" } }) };
        conditional.Headers.IfNoneMatch.Add(response.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await ofrep.SendAsync(conditional)).StatusCode);
    }

    [Fact]
    public async Task Errors_UseOfrepCodes()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        using var ofrep = fixture.Server.NewClient(ws.ClientKey);
        var missing = await ofrep.PostAsJsonAsync("/ofrep/v1/evaluate/flags/nope", new { context = new { targetingKey = "u" } });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(("nope", "FLAG_NOT_FOUND"), ((await missing.ReadAsync()).Str("key"), (await missing.ReadAsync()).Str("errorCode")));

        var noContext = await ofrep.PostAsJsonAsync("/ofrep/v1/evaluate/flags/nope", new { });
        Assert.Equal(HttpStatusCode.BadRequest, noContext.StatusCode);
        Assert.Equal("INVALID_CONTEXT", (await noContext.ReadAsync()).Str("errorCode"));

        using var anonymous = fixture.Server.NewClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/ofrep/v1/evaluate/flags", new { context = new { } })).StatusCode);
        using var secret = fixture.Server.NewClient(ws.SecretKey);
        Assert.Equal(HttpStatusCode.Unauthorized, (await secret.PostAsJsonAsync("/ofrep/v1/evaluate/flags", new { context = new { } })).StatusCode);
    }
}
