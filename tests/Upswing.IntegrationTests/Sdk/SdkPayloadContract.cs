using System.Net;
using System.Net.Http.Json;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Sdk;

/// <summary>GET /api/features/{clientKey}: the payload GrowthBook SDKs fetch, on SQLite and PostgreSQL.</summary>
public abstract class SdkPayloadContract(ServerFixture fixture)
{
    private UpswingTestServer Server => fixture.Server;

    [Fact]
    public async Task Payload_HoldsEnabledFeaturesInGrowthBookFormat()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var beta = Infrastructure.Unique("beta");
        var eu = Infrastructure.Unique("eu");
        await (await api.PostAsJsonAsync("/api/v1/saved-groups", new { key = beta, name = "Beta", type = "list", attributeKey = "email", values = new[] { "ann@example.com" } })).ReadOkAsync();
        await (await api.PostAsJsonAsync("/api/v1/saved-groups", new { key = eu, name = "EU", type = "condition", condition = new { country = new Dictionary<string, string[]> { ["$in"] = ["FR", "DE"] } } })).ReadOkAsync();
        await (await api.PostAsJsonAsync("/api/v1/features", new
        {
            key = "checkout",
            valueType = "boolean",
            defaultValue = false,
            environments = new Dictionary<string, object>
            {
                ["production"] = new
                {
                    rules = new object[]
                    {
                        new { id = "staff", type = "force", condition = new { staff = true }, value = true },
                        new { id = "beta-eu", type = "force", value = true, savedGroups = new[] { beta, eu } },
                        new { id = "off-rule", type = "force", value = true, enabled = false },
                        new { id = "ramp", type = "rollout", value = true, coverage = 0.25 },
                        new { id = "test", type = "experiment", experimentKey = "checkout-exp", variations = new[] { false, true } },
                    },
                },
            },
        })).ReadOkAsync();
        await (await api.PostAsJsonAsync("/api/v1/features", new { key = "hidden", valueType = "string", defaultValue = "x", environments = new Dictionary<string, object> { ["production"] = new { enabled = false } } })).ReadOkAsync();
        await (await api.PostAsJsonAsync("/api/v1/features", new { key = "old", valueType = "number", defaultValue = 1 })).ReadOkAsync();
        await api.PatchJsonAsync("/api/v1/features/old", new { archived = true });

        using var sdk = Server.NewClient();
        var payload = await (await sdk.GetAsync($"/api/features/{ws.ClientKey}")).ReadOkAsync();
        Assert.Equal(200, payload["status"]!.GetValue<int>());
        Assert.Equal(["checkout"], payload["features"]!.AsObject().Select(f => f.Key));
        var rules = payload["features"]!["checkout"]!["rules"]!.AsArray();
        Assert.Equal(["staff", "beta-eu", "ramp", "test"], rules.Select(r => r!.Str("id")));
        Assert.True(rules[0]!["force"]!.GetValue<bool>());
        Assert.Equal("""{"$and":[{"email":{"$inGroup":"BETA"}},{"country":{"$in":["FR","DE"]}}]}""".Replace("BETA", beta, StringComparison.Ordinal), rules[1]!["condition"]!.ToJsonString());
        Assert.Equal(0.25, rules[2]!["coverage"]!.GetValue<double>());
        Assert.Equal("id", rules[2]!.Str("hashAttribute"));
        Assert.Equal("checkout-exp", rules[3]!.Str("key"));
        Assert.Equal([0.5, 0.5], rules[3]!["weights"]!.AsArray().Select(w => w!.GetValue<double>()));
        Assert.Equal(2, rules[3]!["hashVersion"]!.GetValue<int>());
        Assert.Equal("""["ann@example.com"]""", payload["savedGroups"]![beta]!.ToJsonString());
        Assert.Null(payload["savedGroups"]![eu]);
        Assert.Empty(payload["experiments"]!.AsArray());
        Assert.True(DateTimeOffset.TryParse(payload.Str("dateUpdated"), System.Globalization.CultureInfo.InvariantCulture, out _));
    }

    [Fact]
    public async Task Payload_HasAnETag_AnswersNotModified_AndAllowsOtherOrigins()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var sdk = Server.NewClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/features/{ws.ClientKey}");
        request.Headers.Add("Origin", "https://app.example.com");
        var first = await sdk.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("*", first.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("max-age=30", first.Headers.CacheControl!.ToString());
        var etag = first.Headers.ETag!;

        using var again = new HttpRequestMessage(HttpMethod.Get, $"/api/features/{ws.ClientKey}");
        again.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, (await sdk.SendAsync(again)).StatusCode);
    }

    [Fact]
    public async Task Payload_ChangesAtOnceAfterAWrite()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        using var sdk = Server.NewClient();
        await (await api.PostAsJsonAsync("/api/v1/features", new { key = "color", valueType = "string", defaultValue = "blue" })).ReadOkAsync();
        var before = await sdk.GetAsync($"/api/features/{ws.ClientKey}");
        Assert.Equal("blue", (await before.ReadOkAsync())["features"]!["color"]!["defaultValue"]!.GetValue<string>());

        await (await api.PatchJsonAsync("/api/v1/features/color", new { defaultValue = "green" })).ReadOkAsync();
        var after = await sdk.GetAsync($"/api/features/{ws.ClientKey}");
        Assert.Equal("green", (await after.ReadOkAsync())["features"]!["color"]!["defaultValue"]!.GetValue<string>());
        Assert.NotEqual(before.Headers.ETag, after.Headers.ETag);
    }

    [Fact]
    public async Task Payload_IsPerEnvironmentAndPerWorkspace()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var other = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        await (await api.PostAsJsonAsync("/api/v1/features", new { key = "prod-only", valueType = "boolean", defaultValue = true, environments = new Dictionary<string, object> { ["development"] = new { enabled = false } } })).ReadOkAsync();
        var devKey = (await (await api.PostAsJsonAsync("/api/v1/keys", new { kind = "client", environment = "development" })).ReadOkAsync()).Str("key");

        using var sdk = Server.NewClient();
        Assert.NotNull((await (await sdk.GetAsync($"/api/features/{ws.ClientKey}")).ReadOkAsync())["features"]!["prod-only"]);
        Assert.Null((await (await sdk.GetAsync($"/api/features/{devKey}")).ReadOkAsync())["features"]!["prod-only"]);
        Assert.Null((await (await sdk.GetAsync($"/api/features/{other.ClientKey}")).ReadOkAsync())["features"]!["prod-only"]);
    }

    [Fact]
    public async Task Payload_NeedsAValidClientKey()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var sdk = Server.NewClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await sdk.GetAsync("/api/features/us_ck_unknownunknownunknownunknownunknownunknow")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await sdk.GetAsync("/api/features/sdk-abc123")).StatusCode);
        var secret = await sdk.GetAsync($"/api/features/{ws.SecretKey}");
        Assert.Equal(HttpStatusCode.Forbidden, secret.StatusCode);
        Assert.Equal("urn:upswing:problem:forbidden", (await secret.ReadAsync()).Str("type"));

        using var api = Server.NewClient(ws.SecretKey);
        var clientId = (await (await api.GetAsync("/api/v1/keys")).ReadOkAsync()).AsArray().Single(k => k!.Str("kind") == "client")!.Str("id");
        await api.PostAsync($"/api/v1/keys/{clientId}/revoke", null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await sdk.GetAsync($"/api/features/{ws.ClientKey}")).StatusCode);
    }

    [Fact]
    public async Task EncryptedPayload_DecryptsWithTheKeysDecryptionKey_ToThePlainPayload()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var group = Infrastructure.Unique("vip");
        await (await api.PostAsJsonAsync("/api/v1/saved-groups", new { key = group, name = "VIP", type = "list", attributeKey = "id", values = new[] { "u1" } })).ReadOkAsync();
        await (await api.PostAsJsonAsync("/api/v1/features", new
        {
            key = "secret-sauce",
            valueType = "string",
            defaultValue = "ketchup",
            environments = new Dictionary<string, object> { ["production"] = new { rules = new object[] { new { type = "force", value = "truffle", savedGroups = new[] { group } } } } },
        })).ReadOkAsync();
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsJsonAsync("/api/v1/keys", new { kind = "secret", encryptPayload = true })).StatusCode);
        var created = await (await api.PostAsJsonAsync("/api/v1/keys", new { kind = "client", environment = "production", encryptPayload = true })).ReadOkAsync();
        var decryptionKey = created["apiKey"]!.Str("decryptionKey");
        Assert.Equal(16, Convert.FromBase64String(decryptionKey).Length);
        Assert.Equal(decryptionKey, (await (await api.GetAsync($"/api/v1/keys/{created["apiKey"]!.Str("id")}")).ReadOkAsync()).Str("decryptionKey"));
        Assert.Null((await (await api.GetAsync("/api/v1/keys")).ReadOkAsync()).AsArray().Single(k => k!.Str("prefix") == ws.ClientKey[..12])!["decryptionKey"]);

        using var sdk = Server.NewClient();
        var plain = await (await sdk.GetAsync($"/api/features/{ws.ClientKey}")).ReadOkAsync();
        var response = await sdk.GetAsync($"/api/features/{created.Str("key")}");
        var encrypted = await response.ReadOkAsync();
        Assert.Empty(encrypted["features"]!.AsObject());
        Assert.DoesNotContain("truffle", encrypted.ToJsonString());
        Assert.Equal(plain["features"]!.ToJsonString(), Upswing.Evaluation.Decryption.Decrypt(encrypted.Str("encryptedFeatures"), decryptionKey));
        Assert.Equal(plain["savedGroups"]!.ToJsonString(), Upswing.Evaluation.Decryption.Decrypt(encrypted.Str("encryptedSavedGroups"), decryptionKey));
        Assert.Equal(plain.Str("dateUpdated"), encrypted.Str("dateUpdated"));

        // Cached bytes, so the ETag holds until something changes.
        using var conditional = new HttpRequestMessage(HttpMethod.Get, $"/api/features/{created.Str("key")}");
        conditional.Headers.TryAddWithoutValidation("If-None-Match", response.Headers.ETag!.Tag);
        Assert.Equal(HttpStatusCode.NotModified, (await sdk.SendAsync(conditional)).StatusCode);
    }
}

[Trait("Provider", "SQLite")]
public sealed class SdkPayloadOnSqlite(SqliteServerFixture fixture) : SdkPayloadContract(fixture), IClassFixture<SqliteServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class SdkPayloadOnPostgres(PostgresServerFixture fixture) : SdkPayloadContract(fixture), IClassFixture<PostgresServerFixture>;
