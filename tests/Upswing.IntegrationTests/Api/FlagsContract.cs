using System.Net;
using System.Net.Http.Json;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Api;

/// <summary>Feature flags and saved groups through the management API, on SQLite and PostgreSQL.</summary>
public abstract class FlagsContract(ServerFixture fixture)
{
    private UpswingTestServer Server => fixture.Server;

    [Fact]
    public async Task CreateFeature_WithRulesPerEnvironment_RoundTrips()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var key = Infrastructure.Unique("new-checkout");
        var created = await (await api.PostAsJsonAsync("/api/v1/features", new
        {
            key,
            valueType = "boolean",
            defaultValue = false,
            description = "The one-page checkout",
            tags = new[] { "checkout", "q4" },
            environments = new Dictionary<string, object>
            {
                ["production"] = new
                {
                    enabled = true,
                    rules = new object[]
                    {
                        new { type = "force", condition = new { email = new Dictionary<string, string> { ["$regex"] = "@acme\\.com$" } }, value = true, description = "Staff" },
                        new { type = "rollout", value = true, coverage = 0.2, hashAttribute = "id" },
                        new { type = "experiment", experimentKey = "checkout-test", variations = new[] { false, true }, weights = new[] { 0.5, 0.5 }, coverage = 0.5 },
                    },
                },
            },
        })).ReadOkAsync();

        Assert.Equal(1, created["version"]!.GetValue<int>());
        var production = created["environments"]!["production"]!;
        var rules = production["rules"]!.AsArray();
        Assert.Equal(["force", "rollout", "experiment"], rules.Select(r => r!.Str("type")));
        Assert.All(rules, r => Assert.StartsWith("fr_", r!.Str("id")));
        Assert.Equal("@acme\\.com$", rules[0]!["condition"]!["email"]!["$regex"]!.GetValue<string>());
        var development = created["environments"]!["development"]!;
        Assert.True(development["enabled"]!.GetValue<bool>());
        Assert.Empty(development["rules"]!.AsArray());

        // Timestamps come back at the database's precision (µs on PostgreSQL, ms on SQLite); the rest is identical.
        var fetched = await (await api.GetAsync($"/api/v1/features/{key}")).ReadOkAsync();
        foreach (var node in (System.Text.Json.Nodes.JsonNode[])[created, fetched])
        {
            node.AsObject().Remove("createdAt");
            node.AsObject().Remove("updatedAt");
        }

        Assert.Equal(created.ToJsonString(), fetched.ToJsonString());
    }

    [Fact]
    public async Task CreateFeature_WithWrongValues_ListsEveryFieldError()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var response = await api.PostAsJsonAsync("/api/v1/features", new
        {
            key = "bad key!",
            valueType = "boolean",
            defaultValue = "yes",
            environments = new Dictionary<string, object>
            {
                ["production"] = new
                {
                    rules = new object[]
                    {
                        new { type = "force", value = 1 },
                        new { type = "rollout", value = true, coverage = 2.0 },
                        new { type = "experiment", variations = new[] { true, false }, weights = new[] { 0.7, 0.7 } },
                        new { type = "force", value = true, savedGroups = new[] { "nobody" } },
                    },
                },
                ["moon"] = new { enabled = true },
            },
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadAsync())["errors"]!.AsObject().Select(e => e.Key).Order().ToList();
        Assert.Equal(
            ["defaultValue", "environments.moon", "environments.production.rules[0].value", "environments.production.rules[1].coverage",
             "environments.production.rules[2].weights", "environments.production.rules[3].savedGroups", "key"],
            errors);
    }

    [Fact]
    public async Task SetEnvironment_ReplacesRules_BumpsTheVersion_AndIsAudited()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var key = Infrastructure.Unique("banner");
        await (await api.PostAsJsonAsync("/api/v1/features", new { key, valueType = "string", defaultValue = "blue" })).ReadOkAsync();
        var changed = await (await api.PutAsJsonAsync($"/api/v1/features/{key}/environments/production", new
        {
            enabled = false,
            rules = new object[] { new { id = "green-for-fr", type = "force", condition = new { country = "FR" }, value = "green" } },
        })).ReadOkAsync();
        Assert.Equal(2, changed["version"]!.GetValue<int>());
        Assert.False(changed["environments"]!["production"]!["enabled"]!.GetValue<bool>());
        Assert.Equal("green-for-fr", changed["environments"]!["production"]!["rules"]![0]!.Str("id"));

        var entry = (await (await api.GetAsync("/api/v1/audit?action=feature.environment_changed")).ReadOkAsync())[0]!;
        Assert.Equal(key, entry.Str("resourceId"));
        Assert.True(entry["before"]!["enabled"]!.GetValue<bool>());
        Assert.False(entry["after"]!["enabled"]!.GetValue<bool>());

        Assert.Equal(HttpStatusCode.NotFound, (await api.PutAsJsonAsync($"/api/v1/features/{key}/environments/moon", new { enabled = true })).StatusCode);
        var wrongType = await api.PutAsJsonAsync($"/api/v1/features/{key}/environments/development", new { rules = new object[] { new { type = "force", value = 3 } } });
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
    }

    [Fact]
    public async Task DuplicateKey_IsAConflict_AndArchivedFeaturesAreHiddenUntilAsked()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var key = Infrastructure.Unique("limit");
        await (await api.PostAsJsonAsync("/api/v1/features", new { key, valueType = "number", defaultValue = 10 })).ReadOkAsync();
        Assert.Equal(HttpStatusCode.Conflict, (await api.PostAsJsonAsync("/api/v1/features", new { key, valueType = "number", defaultValue = 11 })).StatusCode);

        await (await api.PatchJsonAsync($"/api/v1/features/{key}", new { archived = true, defaultValue = 12 })).ReadOkAsync();
        Assert.DoesNotContain(key, await api.GetStringAsync("/api/v1/features"));
        var archived = await (await api.GetAsync("/api/v1/features?archived=true")).ReadOkAsync();
        Assert.Equal(12, archived.AsArray().Single(f => f!.Str("key") == key)!["defaultValue"]!.GetValue<int>());

        Assert.Equal(HttpStatusCode.OK, (await api.DeleteAsync($"/api/v1/features/{key}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/v1/features/{key}")).StatusCode);
    }

    [Fact]
    public async Task SavedGroup_InUse_CannotBeDeleted_UntilNoRuleUsesIt()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var groupKey = Infrastructure.Unique("beta-testers");
        var group = await (await api.PostAsJsonAsync("/api/v1/saved-groups", new { key = groupKey, name = "Beta testers", type = "list", attributeKey = "id", values = new object[] { "u1", "u2", "u1", 42 } })).ReadOkAsync();
        Assert.Equal(3, group["values"]!.AsArray().Count);
        var featureKey = Infrastructure.Unique("new-editor");
        await (await api.PostAsJsonAsync("/api/v1/features", new
        {
            key = featureKey,
            valueType = "boolean",
            defaultValue = false,
            environments = new Dictionary<string, object> { ["production"] = new { rules = new object[] { new { type = "force", value = true, savedGroups = new[] { groupKey } } } } },
        })).ReadOkAsync();

        var inUse = await api.DeleteAsync($"/api/v1/saved-groups/{group.Str("id")}");
        Assert.Equal(HttpStatusCode.Conflict, inUse.StatusCode);
        Assert.Contains(featureKey, (await inUse.ReadAsync()).Str("detail"));

        await (await api.PutAsJsonAsync($"/api/v1/features/{featureKey}/environments/production", new { rules = Array.Empty<object>() })).ReadOkAsync();
        Assert.Equal(HttpStatusCode.OK, (await api.DeleteAsync($"/api/v1/saved-groups/{group.Str("id")}")).StatusCode);
    }

    [Fact]
    public async Task SavedGroup_KeepsItsKeyAndType_AndChecksItsDefinition()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var created = await (await api.PostAsJsonAsync("/api/v1/saved-groups", new { key = Infrastructure.Unique("eu"), name = "EU", type = "condition", condition = new { country = new Dictionary<string, string[]> { ["$in"] = ["FR", "DE"] } } })).ReadOkAsync();
        var id = created.Str("id");
        var renamed = await (await api.PatchJsonAsync($"/api/v1/saved-groups/{id}", new { name = "European Union" })).ReadOkAsync();
        Assert.Equal("European Union", renamed.Str("name"));
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PatchJsonAsync($"/api/v1/saved-groups/{id}", new { key = "other" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PatchJsonAsync($"/api/v1/saved-groups/{id}", new { type = "list" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsJsonAsync("/api/v1/saved-groups", new { key = "x1", name = "No values", type = "list", attributeKey = "id" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsJsonAsync("/api/v1/saved-groups", new { key = "x2", name = "No condition", type = "condition" })).StatusCode);
    }
}

[Trait("Provider", "SQLite")]
public sealed class FlagsOnSqlite(SqliteServerFixture fixture) : FlagsContract(fixture), IClassFixture<SqliteServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class FlagsOnPostgres(PostgresServerFixture fixture) : FlagsContract(fixture), IClassFixture<PostgresServerFixture>;
