using System.Net.Http.Headers;
using System.Text;

namespace Upswing.IntegrationTests.Http;

/// <summary>
/// Every malformed request gets a 4xx ProblemDetails with a stable type, and none of them leaves an
/// error or an exception in the log: a client's mistake is never a server failure.
/// </summary>
public sealed class MalformedRequestTests(SqliteServerFixture fixture) : IClassFixture<SqliteServerFixture>
{
    private const string Secret = "{secret}";
    private const string Client = "{client}";
    private const string Own = "{own}";

    /// <summary>One malformed request. Auth is a raw Authorization header value, with {secret}/{client} replaced by real keys.</summary>
    public sealed record Case(string Name, string Method, string Path, string? Auth, string? ContentType, byte[]? Body, int Status, string Type)
    {
        public override string ToString() => Name;
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static readonly Case[] Cases =
    [
        // Unknown routes and methods.
        new("unknown root path", "GET", "/nope", null, null, null, 404, "not-found"),
        new("unknown api path", "GET", "/api/v1/nope", "Bearer " + Secret, null, null, 404, "not-found"),
        new("unknown api version", "GET", "/api/v2/workspaces", "Bearer " + Secret, null, null, 404, "not-found"),
        new("PUT on a collection", "PUT", "/api/v1/keys", "Bearer " + Secret, "application/json", Utf8("{}"), 405, "method-not-allowed"),
        new("DELETE on workspaces", "DELETE", "/api/v1/workspaces", "Bearer " + Secret, null, null, 405, "method-not-allowed"),
        new("PATCH on audit", "PATCH", "/api/v1/audit", "Bearer " + Secret, "application/json", Utf8("{}"), 405, "method-not-allowed"),
        new("POST on metrics", "POST", "/metrics", null, null, null, 405, "method-not-allowed"),
        new("key id not a guid", "GET", "/api/v1/keys/not-a-guid", "Bearer " + Secret, null, null, 404, "not-found"),
        new("member id not a guid", "DELETE", "/api/v1/members/123", "Bearer " + Secret, null, null, 404, "not-found"),
        new("audit id not a guid", "GET", "/api/v1/audit/zzz", "Bearer " + Secret, null, null, 404, "not-found"),
        new("path traversal", "GET", "/api/v1/keys/..%2F..%2Fetc%2Fpasswd", "Bearer " + Secret, null, null, 404, "not-found"),

        // Authentication headers.
        new("no credentials", "GET", "/api/v1/keys", null, null, null, 401, "unauthorized"),
        new("unknown bearer key", "GET", "/api/v1/keys", "Bearer us_sk_0000000000000000000000000000000000000000000", null, null, 401, "unauthorized"),
        new("bearer garbage", "GET", "/api/v1/keys", "Bearer !!!", null, null, 401, "unauthorized"),
        new("bearer without token", "GET", "/api/v1/keys", "Bearer", null, null, 401, "unauthorized"),
        new("basic not base64", "GET", "/api/v1/keys", "Basic %%%notbase64", null, null, 401, "unauthorized"),
        new("basic empty user", "GET", "/api/v1/keys", "Basic " + Convert.ToBase64String(Utf8(":password")), null, null, 401, "unauthorized"),
        new("digest scheme", "GET", "/api/v1/keys", "Digest username=\"x\"", null, null, 401, "unauthorized"),
        new("huge bearer token", "GET", "/api/v1/keys", "Bearer us_sk_" + new string('a', 8000), null, null, 401, "unauthorized"),
        new("bearer token with illegal characters", "GET", "/api/v1/keys", "Bearer us_sk_$$$/+==\"';--", null, null, 401, "unauthorized"),
        new("client key on management api", "GET", "/api/v1/members", "Bearer " + Client, null, null, 403, "forbidden"),
        new("client key via basic auth", "POST", "/api/v1/keys", "Basic {client-basic}", "application/json", Utf8("{\"kind\":\"secret\"}"), 403, "forbidden"),

        // Bodies that are not what the endpoint reads.
        new("truncated json", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", Utf8("{\"kind\":"), 400, "bad-request"),
        new("not json at all", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", Utf8("kind=client"), 400, "bad-request"),
        new("json array", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", Utf8("[]"), 400, "bad-request"),
        new("json string", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", Utf8("\"client\""), 400, "bad-request"),
        new("number for a string", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", Utf8("{\"kind\":5}"), 400, "bad-request"),
        new("object for a string", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", Utf8("{\"kind\":{\"a\":1}}"), 400, "bad-request"),
        new("unknown kind", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", Utf8("{\"kind\":\"superuser\"}"), 400, "validation"),
        new("numeric kind", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", Utf8("{\"kind\":\"1\"}"), 400, "validation"),
        new("null kind", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", Utf8("{\"kind\":null}"), 400, "validation"),
        new("empty object", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", Utf8("{}"), 400, "validation"),
        new("unknown environment", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", Utf8("{\"kind\":\"client\",\"environment\":\"moon\"}"), 400, "validation"),
        new("name too long", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", Utf8("{\"kind\":\"client\",\"name\":\"" + new string('n', 300) + "\"}"), 400, "validation"),
        new("name as number", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", Utf8("{\"kind\":\"client\",\"name\":12}"), 400, "bad-request"),
        new("text/plain content type", "POST", "/api/v1/keys", "Bearer " + Secret, "text/plain", Utf8("{\"kind\":\"client\"}"), 415, "unsupported-media-type"),
        new("no content type", "POST", "/api/v1/keys", "Bearer " + Secret, null, Utf8("{\"kind\":\"client\"}"), 415, "unsupported-media-type"),
        new("xml content type", "POST", "/api/v1/keys", "Bearer " + Secret, "application/xml", Utf8("<kind>client</kind>"), 415, "unsupported-media-type"),
        new("empty json body", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", [], 400, "bad-request"),
        new("body over the limit", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", Utf8("{\"name\":\"" + new string('x', 2 << 20) + "\"}"), 413, "payload-too-large"),
        new("invalid utf-8", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", [.. Utf8("{\"kind\":\""), 0xC3, 0x28, .. Utf8("\"}")], 400, "bad-request"),
        new("nesting too deep", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", Utf8(new string('[', 200) + new string(']', 200)), 400, "bad-request"),
        new("trailing garbage", "POST", "/api/v1/keys", "Bearer " + Secret, "application/json", Utf8("{\"kind\":\"client\"} trailing"), 400, "bad-request"),
        new("invite without e-mail", "POST", "/api/v1/members", "Bearer " + Secret, "application/json", Utf8("{\"role\":\"viewer\"}"), 400, "validation"),
        new("invite bad e-mail", "POST", "/api/v1/members", "Bearer " + Secret, "application/json", Utf8("{\"email\":\"nope\"}"), 400, "validation"),
        new("invite unknown role", "POST", "/api/v1/members", "Bearer " + Secret, "application/json", Utf8("{\"email\":\"a@b.c\",\"role\":\"god\"}"), 400, "validation"),
        new("role change for nobody", "PATCH", "/api/v1/members/" + Guid.NewGuid(), "Bearer " + Secret, "application/json", Utf8("{\"role\":\"viewer\"}"), 404, "not-found"),
        new("role as number", "PATCH", "/api/v1/members/" + Guid.NewGuid(), "Bearer " + Secret, "application/json", Utf8("{\"role\":1}"), 400, "bad-request"),
        new("remove nobody", "DELETE", "/api/v1/members/" + Guid.NewGuid(), "Bearer " + Secret, null, null, 404, "not-found"),
        new("slug with spaces", "PATCH", "/api/v1/workspaces/" + Own, "Bearer " + Secret, "application/json", Utf8("{\"slug\":\"Bad Slug\"}"), 400, "validation"),
        new("empty workspace name", "PATCH", "/api/v1/workspaces/" + Own, "Bearer " + Secret, "application/json", Utf8("{\"name\":\"\"}"), 400, "validation"),
        new("update unknown workspace", "PATCH", "/api/v1/workspaces/" + Guid.NewGuid(), "Bearer " + Secret, "application/json", Utf8("{}"), 404, "not-found"),
        new("create workspace without a name", "POST", "/api/v1/workspaces", "Bearer " + Secret, "application/json", Utf8("{\"slug\":\"no-name\"}"), 400, "validation"),
        new("create workspace with a bad slug", "POST", "/api/v1/workspaces", "Bearer " + Secret, "application/json", Utf8("{\"name\":\"x\",\"slug\":\"-x-\"}"), 400, "validation"),
        new("unknown workspace slug", "GET", "/api/v1/workspaces/does-not-exist", "Bearer " + Secret, null, null, 404, "not-found"),

        new("feature rule of an unknown type", "POST", "/api/v1/features", "Bearer " + Secret, "application/json", Utf8("{\"key\":\"f\",\"valueType\":\"boolean\",\"defaultValue\":true,\"environments\":{\"production\":{\"rules\":[{\"type\":\"teleport\"}]}}}"), 400, "bad-request"),
        new("feature without a value type", "POST", "/api/v1/features", "Bearer " + Secret, "application/json", Utf8("{\"key\":\"f\",\"defaultValue\":true}"), 400, "validation"),
        new("feature rules not a list", "PUT", "/api/v1/features/nope/environments/production", "Bearer " + Secret, "application/json", Utf8("{\"rules\":{}}"), 400, "bad-request"),
        new("unknown feature", "PATCH", "/api/v1/features/nope", "Bearer " + Secret, "application/json", Utf8("{}"), 404, "not-found"),
        new("saved group of an unknown type", "POST", "/api/v1/saved-groups", "Bearer " + Secret, "application/json", Utf8("{\"key\":\"g\",\"name\":\"G\",\"type\":\"magic\"}"), 400, "validation"),
        new("saved group values not a list", "POST", "/api/v1/saved-groups", "Bearer " + Secret, "application/json", Utf8("{\"key\":\"g\",\"name\":\"G\",\"type\":\"list\",\"values\":\"a,b\"}"), 400, "bad-request"),
        new("metric type as a number", "POST", "/api/v1/metrics", "Bearer " + Secret, "application/json", Utf8("{\"key\":\"m\",\"name\":\"M\",\"type\":5,\"event\":\"e\"}"), 400, "bad-request"),
        new("metric filters not a list", "POST", "/api/v1/metrics", "Bearer " + Secret, "application/json", Utf8("{\"key\":\"m\",\"name\":\"M\",\"type\":\"count\",\"event\":\"e\",\"filters\":{\"property\":\"a\"}}"), 400, "bad-request"),
        new("metric capping as an array", "POST", "/api/v1/metrics", "Bearer " + Secret, "application/json", Utf8("{\"key\":\"m\",\"name\":\"M\",\"type\":\"count\",\"event\":\"e\",\"capping\":[1]}"), 400, "validation"),
        new("metric capping value as text", "POST", "/api/v1/metrics", "Bearer " + Secret, "application/json", Utf8("{\"key\":\"m\",\"name\":\"M\",\"type\":\"sum\",\"event\":\"e\",\"valueProperty\":\"v\",\"capping\":{\"type\":\"absolute\",\"value\":\"1e999\"}}"), 400, "validation"),
        new("metric filter value nested too deep", "POST", "/api/v1/metrics", "Bearer " + Secret, "application/json", Utf8("{\"key\":\"m\",\"name\":\"M\",\"type\":\"count\",\"event\":\"e\",\"filters\":[{\"property\":\"p\",\"operator\":\"in\",\"value\":[[1]]}]}"), 400, "validation"),
        new("unknown metric", "PATCH", "/api/v1/metrics/nope", "Bearer " + Secret, "application/json", Utf8("{}"), 404, "not-found"),

        // Query strings.
        new("audit limit zero", "GET", "/api/v1/audit?limit=0", "Bearer " + Secret, null, null, 400, "validation"),
        new("audit limit not a number", "GET", "/api/v1/audit?limit=abc", "Bearer " + Secret, null, null, 400, "bad-request"),
        new("audit before not a date", "GET", "/api/v1/audit?before=yesterday", "Bearer " + Secret, null, null, 400, "bad-request"),
        new("unknown audit entry", "GET", "/api/v1/audit/" + Guid.NewGuid(), "Bearer " + Secret, null, null, 404, "not-found"),
        new("revoke unknown key", "POST", $"/api/v1/keys/{Guid.NewGuid()}/revoke", "Bearer " + Secret, null, null, 404, "not-found"),
        new("get unknown key", "GET", "/api/v1/keys/" + Guid.NewGuid(), "Bearer " + Secret, null, null, 404, "not-found"),

        // POST /v1/assignment reads its body itself (JsonBody) and must refuse the same things the same way.
        new("assignment: truncated json", "POST", "/v1/assignment", "Bearer " + Client, "application/json", Utf8("{\"userId\":"), 400, "bad-request"),
        new("assignment: empty body", "POST", "/v1/assignment", "Bearer " + Client, "application/json", [], 400, "bad-request"),
        new("assignment: json null", "POST", "/v1/assignment", "Bearer " + Client, "application/json", Utf8("null"), 400, "bad-request"),
        new("assignment: json array", "POST", "/v1/assignment", "Bearer " + Client, "application/json", Utf8("[]"), 400, "bad-request"),
        new("assignment: number for the user id", "POST", "/v1/assignment", "Bearer " + Client, "application/json", Utf8("{\"userId\":5}"), 400, "bad-request"),
        new("assignment: attributes not an object", "POST", "/v1/assignment", "Bearer " + Client, "application/json", Utf8("{\"userId\":\"u\",\"attributes\":[1]}"), 400, "bad-request"),
        new("assignment: text/plain", "POST", "/v1/assignment", "Bearer " + Client, "text/plain", Utf8("{\"userId\":\"u\"}"), 415, "unsupported-media-type"),
        new("assignment: no key", "POST", "/v1/assignment", null, "application/json", Utf8("{\"userId\":\"u\"}"), 401, "unauthorized"),
        new("assignment: no user", "POST", "/v1/assignment", "Bearer " + Client, "application/json", Utf8("{}"), 400, "validation"),
        new("assignment: body over the limit", "POST", "/v1/assignment", "Bearer " + Client, "application/json", Utf8("{\"userId\":\"" + new string('u', 1_100_000) + "\"}"), 413, "payload-too-large"),

        // Dashboard form posts.
        new("sign-in without antiforgery token", "POST", "/account/signin", null, "application/x-www-form-urlencoded", Utf8("email=a%40b.c&password=x"), 400, "bad-request"),
        new("sign-in with json", "POST", "/account/signin", null, "application/json", Utf8("{\"email\":\"a@b.c\"}"), 415, "unsupported-media-type"),
        new("GET on the sign-in form post", "GET", "/account/signin", null, null, null, 405, "method-not-allowed"),
    ];

    public static TheoryData<Case> AllCases() => new(Cases);

    [Fact]
    public void Suite_HasAtLeastFiftyCases() => Assert.True(Cases.Length >= 50, $"{Cases.Length} cases");

    [Theory]
    [MemberData(nameof(AllCases))]
    public async Task MalformedRequest_GetsA4xxProblem_AndLogsNoError(Case c)
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        using var request = new HttpRequestMessage(new HttpMethod(c.Method), c.Path.Replace(Own, ws.Workspace.Id.ToString(), StringComparison.Ordinal));
        if (c.Auth is not null)
        {
            var auth = c.Auth.Replace(Secret, ws.SecretKey, StringComparison.Ordinal).Replace(Client, ws.ClientKey, StringComparison.Ordinal)
                .Replace("{client-basic}", Convert.ToBase64String(Utf8(ws.ClientKey + ":")), StringComparison.Ordinal);
            request.Headers.TryAddWithoutValidation("Authorization", auth);
        }

        if (c.Body is not null)
        {
            request.Content = new ByteArrayContent(c.Body);
            // A server may refuse an oversized body while it is still being sent and close the connection,
            // which a client sees as a broken pipe. Waiting for 100-continue is what well-behaved clients do.
            request.Headers.ExpectContinue = c.Body.Length > 64 * 1024;
            request.Content.Headers.ContentType = c.ContentType is null ? null : MediaTypeHeaderValue.Parse(c.ContentType);
        }

        using var response = await fixture.Server.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == c.Status, $"{c.Name}: expected {c.Status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = System.Text.Json.Nodes.JsonNode.Parse(body)!;
        Assert.Equal("urn:upswing:problem:" + c.Type, problem.Str("type"));
        Assert.Equal(c.Status, problem["status"]!.GetValue<int>());
        Assert.Equal(response.Headers.GetValues("X-Request-Id").Single(), problem.Str("requestId"));
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        Assert.Empty(fixture.Server.Logs.Problems.Select(p => $"{p.Level} {p.Category}: {p.Message} {p.Exception?.GetType().Name}"));
    }
}
