using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Api;

/// <summary>Experiments, holdouts and POST /v1/assignment, on SQLite and PostgreSQL.</summary>
public abstract class ExperimentsContract(ServerFixture fixture)
{
    private UpswingTestServer Server => fixture.Server;

    [Fact]
    public async Task Experiment_GoesThroughItsLifecycle_WithPhasesAndAudit()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var key = Infrastructure.Unique("checkout-test");
        var created = await (await api.PostAsJsonAsync("/api/v1/experiments", new
        {
            key,
            name = "One-page checkout",
            hypothesis = "Fewer steps, more orders.",
            variations = new object[] { new { key = "control" }, new { key = "one-page", name = "One page" } },
            metrics = new { primary = new[] { "orders" }, guardrail = new[] { "refunds" } },
        })).ReadOkAsync();
        Assert.Equal("draft", created.Str("status"));
        Assert.Equal(2, created["hashVersion"]!.GetValue<int>());
        Assert.Equal(key, created.Str("seed"));
        Assert.Equal("id", created.Str("hashAttribute"));
        Assert.Equal([0.5, 0.5], created["variations"]!.AsArray().Select(v => v!["weight"]!.GetValue<double>()));
        Assert.Equal("Control", created["variations"]![0]!.Str("name"));
        Assert.Empty(created["phases"]!.AsArray());

        var started = await (await api.PostAsync($"/api/v1/experiments/{key}/start", null)).ReadOkAsync();
        Assert.Equal("running", started.Str("status"));
        Assert.Single(started["phases"]!.AsArray());

        Assert.Equal("paused", (await (await api.PostAsync($"/api/v1/experiments/{key}/pause", null)).ReadOkAsync()).Str("status"));
        Assert.Equal(HttpStatusCode.Conflict, (await api.PostAsync($"/api/v1/experiments/{key}/pause", null)).StatusCode);
        Assert.Equal("running", (await (await api.PostAsync($"/api/v1/experiments/{key}/start", null)).ReadOkAsync()).Str("status"));

        // Traffic changes open a new phase; what assigned users were hashed by cannot change.
        var reweighted = await (await api.PatchJsonAsync($"/api/v1/experiments/{key}", new
        {
            variations = new object[] { new { key = "control", weight = 0.8 }, new { key = "one-page", weight = 0.2 } },
            reason = "Limit the risk",
        })).ReadOkAsync();
        var phases = reweighted["phases"]!.AsArray();
        Assert.Equal(2, phases.Count);
        Assert.NotNull(phases[0]!["endedAt"]);
        Assert.Equal([0.8, 0.2], phases[1]!["weights"]!.AsArray().Select(w => w!.GetValue<double>()));
        Assert.Equal("Limit the risk", phases[1]!.Str("reason"));
        var renamed = await (await api.PatchJsonAsync($"/api/v1/experiments/{key}", new { name = "Checkout v2" })).ReadOkAsync();
        Assert.Equal(2, renamed["phases"]!.AsArray().Count);
        Assert.Equal(HttpStatusCode.Conflict, (await api.PatchJsonAsync($"/api/v1/experiments/{key}", new { seed = "other" })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await api.PatchJsonAsync($"/api/v1/experiments/{key}", new { variations = new object[] { new { key = "a" }, new { key = "b" } } })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await api.DeleteAsync($"/api/v1/experiments/{key}")).StatusCode);

        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsJsonAsync($"/api/v1/experiments/{key}/stop", new { winner = "nope" })).StatusCode);
        var stopped = await (await api.PostAsJsonAsync($"/api/v1/experiments/{key}/stop", new { winner = "one-page", reason = "Clear win" })).ReadOkAsync();
        Assert.Equal("stopped", stopped.Str("status"));
        Assert.Equal("one-page", stopped.Str("winner"));
        Assert.All(stopped["phases"]!.AsArray(), p => Assert.NotNull(p!["endedAt"]));
        Assert.Equal(HttpStatusCode.Conflict, (await api.PostAsync($"/api/v1/experiments/{key}/start", null)).StatusCode);

        var audit = await (await api.GetAsync("/api/v1/audit?resourceType=experiment")).ReadOkAsync();
        Assert.Equal(
            ["experiment.created", "experiment.started", "experiment.paused", "experiment.started", "experiment.updated", "experiment.updated", "experiment.stopped"],
            audit.AsArray().Select(e => e!.Str("action")).Reverse());

        Assert.Equal(HttpStatusCode.OK, (await api.DeleteAsync($"/api/v1/experiments/{key}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/v1/experiments/{key}")).StatusCode);
    }

    [Fact]
    public async Task CreateExperiment_WithWrongFields_ListsEveryFieldError()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var response = await api.PostAsJsonAsync("/api/v1/experiments", new
        {
            key = "bad key",
            variations = new object[] { new { key = "a", weight = 0.7 }, new { key = "a", weight = 0.7 } },
            coverage = 1.5,
            hashVersion = 3,
            condition = "country = FR",
            savedGroups = new[] { "nobody" },
            @namespace = new { name = "checkout", start = 0.6, end = 0.4 },
            holdout = "no-such-holdout",
            metrics = new { primary = new[] { "has space" } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadAsync())["errors"]!.AsObject().Select(e => e.Key).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(
            ["condition", "coverage", "hashVersion", "holdout", "key", "metrics.primary", "name", "namespace", "savedGroups", "variations", "variations[1].key"],
            errors);
    }

    [Fact]
    public async Task Namespace_RunningExperimentsTakeDisjointRanges()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var first = await CreateAsync(api, Infrastructure.Unique("ns-a"), new { name = "pricing", start = 0.0, end = 0.6 });
        var second = await CreateAsync(api, Infrastructure.Unique("ns-b"), new { name = "pricing", start = 0.5, end = 1.0 });
        var third = await CreateAsync(api, Infrastructure.Unique("ns-c"), new { name = "pricing", start = 0.6, end = 1.0 });
        await (await api.PostAsync($"/api/v1/experiments/{first}/start", null)).ReadOkAsync();
        var clash = await api.PostAsync($"/api/v1/experiments/{second}/start", null);
        Assert.Equal(HttpStatusCode.Conflict, clash.StatusCode);
        Assert.Contains(first, (await clash.ReadAsync()).Str("detail"));
        await (await api.PostAsync($"/api/v1/experiments/{third}/start", null)).ReadOkAsync();

        // With both halves running, every user is in exactly one of them.
        using var client = Server.NewClient(ws.ClientKey);
        for (var i = 0; i < 200; i++)
        {
            var assignments = await AssignAsync(client, $"user-{i}", null, [first, third]);
            Assert.Single(assignments, a => a!["inExperiment"]!.GetValue<bool>());
        }
    }

    [Fact]
    public async Task Sticky_AssignedUsersKeepTheirVariation_WhenWeightsAndCoverageChange()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        using var client = Server.NewClient(ws.ClientKey);
        var key = Infrastructure.Unique("sticky");
        await CreateAsync(api, key, null);
        await (await api.PostAsync($"/api/v1/experiments/{key}/start", null)).ReadOkAsync();

        var first = new Dictionary<string, string>();
        for (var i = 0; i < 300; i++)
        {
            var a = (await AssignAsync(client, $"u{i}", null, [key])).Single()!;
            Assert.True(a["inExperiment"]!.GetValue<bool>());
            Assert.False(a["sticky"]!.GetValue<bool>());
            Assert.Equal($"u{i}", a.Str("hashValue"));
            first[$"u{i}"] = a.Str("variationKey");
        }

        Assert.InRange(first.Values.Count(v => v == "treatment"), 105, 195);

        await (await api.PatchJsonAsync($"/api/v1/experiments/{key}", new
        {
            variations = new object[] { new { key = "control", weight = 0.1 }, new { key = "treatment", weight = 0.9 } },
            coverage = 0.3,
        })).ReadOkAsync();

        foreach (var (user, variation) in first)
        {
            var a = (await AssignAsync(client, user, null, [key])).Single()!;
            Assert.Equal(variation, a.Str("variationKey"));
            Assert.True(a["sticky"]!.GetValue<bool>());
            Assert.True(a["inExperiment"]!.GetValue<bool>());
        }

        // New users follow the new split: 30 % enter, nine in ten of them to the treatment.
        var entered = new List<string>();
        for (var i = 0; i < 400; i++)
        {
            var a = (await AssignAsync(client, $"new-{i}", null, [key])).Single()!;
            if (a["inExperiment"]!.GetValue<bool>())
            {
                entered.Add(a.Str("variationKey"));
            }
        }

        Assert.InRange(entered.Count, 80, 160);
        Assert.InRange(entered.Count(v => v == "treatment") / (double)entered.Count, 0.8, 0.98);

        var counts = await (await api.GetAsync($"/api/v1/experiments/{key}/assignments")).ReadOkAsync();
        Assert.Equal(300 + entered.Count, counts["total"]!.GetValue<long>());
    }

    [Fact]
    public async Task Sticky_ConcurrentFirstRequestsStoreOneAssignment()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var key = Infrastructure.Unique("race");
        await CreateAsync(api, key, null);
        await (await api.PostAsync($"/api/v1/experiments/{key}/start", null)).ReadOkAsync();
        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            using var client = Server.NewClient(ws.ClientKey);
            return (await AssignAsync(client, "racer", null, [key])).Single()!.Str("variationKey");
        }));
        Assert.Single(answers.Distinct());
        var counts = await (await api.GetAsync($"/api/v1/experiments/{key}/assignments")).ReadOkAsync();
        Assert.Equal(1, counts["total"]!.GetValue<long>());
        // Losing the race is an ordinary outcome, not a failed database command in the error log.
        Assert.DoesNotContain(Server.Logs.Problems, p => p.Message.Contains("experiment_assignments", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Lifecycle_DecidesWhatAssignmentAnswers()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        using var client = Server.NewClient(ws.ClientKey);
        var key = Infrastructure.Unique("life");
        await CreateAsync(api, key, null);
        var draft = await client.PostAsJsonAsync("/v1/assignment", new { userId = "u1", experiments = new[] { key } });
        Assert.Equal(HttpStatusCode.NotFound, draft.StatusCode);
        Assert.Equal("application/problem+json", draft.Content.Headers.ContentType?.MediaType);

        await (await api.PostAsync($"/api/v1/experiments/{key}/start", null)).ReadOkAsync();
        var assigned = (await AssignAsync(client, "u1", null, null)).Single(a => a!.Str("experimentKey") == key)!;
        await (await api.PostAsync($"/api/v1/experiments/{key}/pause", null)).ReadOkAsync();
        Assert.Equal(assigned.Str("variationKey"), (await AssignAsync(client, "u1", null, [key])).Single()!.Str("variationKey"));
        var newcomer = (await AssignAsync(client, "u2", null, [key])).Single()!;
        Assert.False(newcomer["inExperiment"]!.GetValue<bool>());
        Assert.Equal("control", newcomer.Str("variationKey"));

        await (await api.PostAsJsonAsync($"/api/v1/experiments/{key}/stop", new { winner = "treatment" })).ReadOkAsync();
        foreach (var user in new[] { "u1", "u2", "u3" })
        {
            var a = (await AssignAsync(client, user, null, [key])).Single()!;
            Assert.Equal("treatment", a.Str("variationKey"));
            Assert.False(a["inExperiment"]!.GetValue<bool>());
        }

        // Stopped experiments are not listed when no keys are given.
        Assert.DoesNotContain(await AssignAsync(client, "u1", null, null), a => a!.Str("experimentKey") == key);
    }

    [Fact]
    public async Task Assignment_RejectsBadRequestsClearly()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var client = Server.NewClient(ws.ClientKey);
        using var secret = Server.NewClient(ws.SecretKey);
        using var anonymous = Server.NewClient();
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/v1/assignment", new { attributes = new { country = "FR" } })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/v1/assignment", new { userId = new string('x', 201) })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync("/v1/assignment", new StringContent("{\"userId\": 5", System.Text.Encoding.UTF8, "application/json"))).StatusCode);
        var noKey = await anonymous.PostAsJsonAsync("/v1/assignment", new { userId = "u1" });
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal("urn:upswing:problem:unauthorized", (await noKey.ReadAsync()).Str("type"));
        using var basic = new HttpRequestMessage(HttpMethod.Post, "/v1/assignment") { Content = JsonContent.Create(new { userId = "u1" }) };
        basic.Headers.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(ws.ClientKey + ":")));
        Assert.Equal(HttpStatusCode.OK, (await anonymous.SendAsync(basic)).StatusCode);
        using var wrongScheme = new HttpRequestMessage(HttpMethod.Post, "/v1/assignment") { Content = JsonContent.Create(new { userId = "u1" }) };
        wrongScheme.Headers.TryAddWithoutValidation("Authorization", "Token abc");
        Assert.Contains("'Token'", (await (await anonymous.SendAsync(wrongScheme)).ReadAsync()).Str("detail"));
        using var unknownKey = Server.NewClient("us_ck_unknownunknownunknownunknownunknownunknow");
        Assert.Equal(HttpStatusCode.Unauthorized, (await unknownKey.PostAsJsonAsync("/v1/assignment", new { userId = "u1" })).StatusCode);
        var none = await (await secret.PostAsJsonAsync("/v1/assignment", new { userId = "u1" })).ReadOkAsync();
        Assert.Empty(none["assignments"]!.AsArray());
        var unknown = await client.PostAsJsonAsync("/v1/assignment", new { userId = "u1", experiments = new[] { "nope" } });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("'nope'", (await unknown.ReadAsync()).Str("detail"));
    }

    [Fact]
    public async Task Targeting_AndHoldout_KeepUsersOut()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        using var client = Server.NewClient(ws.ClientKey);
        var holdout = Infrastructure.Unique("global");
        await (await api.PostAsJsonAsync("/api/v1/holdouts", new { key = holdout, name = "Global holdout", percentage = 0.5 })).ReadOkAsync();
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsJsonAsync("/api/v1/holdouts", new { key = "too-big", name = "x", percentage = 0.9 })).StatusCode);
        var key = Infrastructure.Unique("targeted");
        await (await api.PostAsJsonAsync("/api/v1/experiments", new
        {
            key,
            name = "Targeted",
            variations = new object[] { new { key = "control" }, new { key = "treatment" } },
            condition = new { country = "FR" },
            holdout,
        })).ReadOkAsync();
        await (await api.PostAsync($"/api/v1/experiments/{key}/start", null)).ReadOkAsync();
        Assert.Equal(HttpStatusCode.Conflict, (await api.DeleteAsync($"/api/v1/holdouts/{holdout}")).StatusCode);

        var held = 0;
        for (var i = 0; i < 300; i++)
        {
            Assert.False((await AssignAsync(client, $"u{i}", new JsonObject { ["country"] = "DE" }, [key])).Single()!["inExperiment"]!.GetValue<bool>());
            held += (await AssignAsync(client, $"u{i}", new JsonObject { ["country"] = "FR" }, [key])).Single()!["inExperiment"]!.GetValue<bool>() ? 0 : 1;
        }

        Assert.InRange(held, 110, 190);
    }

    [Fact]
    public async Task SdkPayload_FollowsTheLinkedExperiment()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        using var client = Server.NewClient(ws.ClientKey);
        var key = Infrastructure.Unique("button-color");
        await (await api.PostAsJsonAsync("/api/v1/experiments", new
        {
            key,
            name = "Button color",
            variations = new object[] { new { key = "blue", weight = 0.3 }, new { key = "green", weight = 0.7 } },
            coverage = 0.9,
            @namespace = new { name = "buttons", start = 0.0, end = 0.5 },
        })).ReadOkAsync();
        var feature = Infrastructure.Unique("button");
        await (await api.PostAsJsonAsync("/api/v1/features", new
        {
            key = feature,
            valueType = "string",
            defaultValue = "grey",
            environments = new Dictionary<string, object>
            {
                ["production"] = new { rules = new object[] { new { type = "experiment", experimentKey = key, variations = new[] { "#00f", "#0f0" } } } },
            },
        })).ReadOkAsync();

        async Task<JsonNode?> RuleAsync() => (await (await client.GetAsync($"/api/features/{ws.ClientKey}")).ReadOkAsync())["features"]![feature]!["rules"]?[0];

        Assert.Null(await RuleAsync());
        await (await api.PostAsync($"/api/v1/experiments/{key}/start", null)).ReadOkAsync();
        var running = (await RuleAsync())!;
        Assert.Equal(key, running.Str("key"));
        Assert.Equal(key, running.Str("seed"));
        Assert.Equal(2, running["hashVersion"]!.GetValue<int>());
        Assert.Equal(0.9, running["coverage"]!.GetValue<double>());
        Assert.Equal([0.3, 0.7], running["weights"]!.AsArray().Select(w => w!.GetValue<double>()));
        Assert.Equal(["#00f", "#0f0"], running["variations"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal(["blue", "green"], running["meta"]!.AsArray().Select(m => m!.Str("key")));
        Assert.Equal("""["buttons",0,0.5]""", running["namespace"]!.ToJsonString());

        await (await api.PostAsync($"/api/v1/experiments/{key}/pause", null)).ReadOkAsync();
        Assert.Null(await RuleAsync());
        await (await api.PostAsJsonAsync($"/api/v1/experiments/{key}/stop", new { winner = "green" })).ReadOkAsync();
        var released = (await RuleAsync())!;
        Assert.Equal("#0f0", released.Str("force"));
        Assert.Null(released["variations"]);
    }

    [Fact]
    public async Task LinkedRules_AndSavedGroups_StayConsistentWithExperiments()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var key = await CreateAsync(api, Infrastructure.Unique("arms"), null);
        var wrongArity = await api.PostAsJsonAsync("/api/v1/features", new
        {
            key = Infrastructure.Unique("arms-flag"),
            valueType = "boolean",
            defaultValue = false,
            environments = new Dictionary<string, object>
            {
                ["production"] = new { rules = new object[] { new { type = "experiment", experimentKey = key, variations = new[] { false, true, true } } } },
            },
        });
        Assert.Equal(HttpStatusCode.BadRequest, wrongArity.StatusCode);
        Assert.Contains("environments.production.rules[0].variations", (await wrongArity.ReadAsync())["errors"]!.AsObject().Select(e => e.Key));

        var group = await (await api.PostAsJsonAsync("/api/v1/saved-groups", new { key = Infrastructure.Unique("vip"), name = "VIP", type = "list", attributeKey = "id", values = new[] { "u1" } })).ReadOkAsync();
        await (await api.PatchJsonAsync($"/api/v1/experiments/{key}", new { savedGroups = new[] { group.Str("key") } })).ReadOkAsync();
        var inUse = await api.DeleteAsync($"/api/v1/saved-groups/{group.Str("id")}");
        Assert.Equal(HttpStatusCode.Conflict, inUse.StatusCode);
        Assert.Contains(key, (await inUse.ReadAsync()).Str("detail"));

        // Only users in the list group enter.
        await (await api.PostAsync($"/api/v1/experiments/{key}/start", null)).ReadOkAsync();
        using var client = Server.NewClient(ws.ClientKey);
        Assert.True((await AssignAsync(client, "u1", null, [key])).Single()!["inExperiment"]!.GetValue<bool>());
        Assert.False((await AssignAsync(client, "u2", null, [key])).Single()!["inExperiment"]!.GetValue<bool>());
    }

    private static async Task<string> CreateAsync(HttpClient api, string key, object? ns)
    {
        await (await api.PostAsJsonAsync("/api/v1/experiments", new
        {
            key,
            name = key,
            variations = new object[] { new { key = "control" }, new { key = "treatment" } },
            @namespace = ns,
        })).ReadOkAsync();
        return key;
    }

    private static async Task<JsonArray> AssignAsync(HttpClient client, string userId, JsonObject? attributes, string[]? experiments)
    {
        var body = await (await client.PostAsJsonAsync("/v1/assignment", new { userId, attributes, experiments })).ReadOkAsync();
        return body["assignments"]!.AsArray();
    }
}

[Trait("Provider", "SQLite")]
public sealed class ExperimentsOnSqlite(SqliteServerFixture fixture) : ExperimentsContract(fixture), IClassFixture<SqliteServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class ExperimentsOnPostgres(PostgresServerFixture fixture) : ExperimentsContract(fixture), IClassFixture<PostgresServerFixture>;
