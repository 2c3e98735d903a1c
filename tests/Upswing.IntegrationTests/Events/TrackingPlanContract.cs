using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Data;
using Upswing.Events;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Events;

/// <summary>The tracking plan (event definitions, validation settings) and web vitals, on SQLite and PostgreSQL.</summary>
public abstract class TrackingPlanContract(ServerFixture fixture)
{
    private UpswingTestServer Server => fixture.Server;

    private static readonly object SignupDefinition = new
    {
        name = "Signed Up",
        description = "A new account.",
        properties = new object[]
        {
            new { name = "plan", type = "string", required = true, @enum = new[] { "free", "pro" } },
            new { name = "seats", type = "integer", minimum = 1, maximum = 500 },
        },
    };

    [Fact]
    public async Task Definitions_AreManaged_Validated_AndAudited()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var created = await (await api.PostAsJsonAsync("/api/v1/event-definitions", SignupDefinition)).ReadOkAsync();
        Assert.Equal("Signed Up", created.Str("name"));
        Assert.Equal(["free", "pro"], created["properties"]![0]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        var id = created.Str("id");

        Assert.Equal(HttpStatusCode.Conflict, (await api.PostAsJsonAsync("/api/v1/event-definitions", SignupDefinition)).StatusCode);
        var invalid = await api.PostAsJsonAsync("/api/v1/event-definitions", new
        {
            name = "",
            properties = new object[] { new { name = "a", type = "date" }, new { name = "a" }, new { name = "b", type = "string", minimum = 1 }, new { name = "c", minimum = 5, maximum = 1 } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var errors = (await invalid.ReadAsync())["errors"]!.AsObject().Select(e => e.Key).ToList();
        Assert.Equal(["name", "properties[0].type", "properties[1].name", "properties[2].minimum", "properties[3].minimum"], errors.Order(StringComparer.Ordinal));

        var updated = await (await api.PatchJsonAsync($"/api/v1/event-definitions/{id}", new { properties = new object[] { new { name = "plan", type = "string" } } })).ReadOkAsync();
        Assert.Single(updated["properties"]!.AsArray());
        Assert.Equal("A new account.", updated.Str("description"));
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PatchJsonAsync($"/api/v1/event-definitions/{id}", new { name = "Renamed" })).StatusCode);
        Assert.Single((await (await api.GetAsync("/api/v1/event-definitions")).ReadOkAsync()).AsArray());
        Assert.Equal(HttpStatusCode.OK, (await api.DeleteAsync($"/api/v1/event-definitions/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/v1/event-definitions/{id}")).StatusCode);

        Assert.Equal(HttpStatusCode.BadRequest, (await api.PutAsJsonAsync("/api/v1/events/settings", new { validation = "strict" })).StatusCode);
        var audit = await (await api.GetAsync("/api/v1/audit?resourceType=event_definition")).ReadOkAsync();
        Assert.Equal(["event_definition.created", "event_definition.updated", "event_definition.deleted"], audit.AsArray().Select(a => a!.Str("action")).Reverse());
    }

    [Fact]
    public async Task QuarantineMode_KeepsEventsThatBreakThePlanAside_WithTheirReasons()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        await (await api.PostAsJsonAsync("/api/v1/event-definitions", SignupDefinition)).ReadOkAsync();
        var settings = await (await api.PutAsJsonAsync("/api/v1/events/settings", new { validation = "quarantine" })).ReadOkAsync();
        Assert.Equal("quarantine", settings.Str("validation"));
        Assert.False(settings["allowUnplannedEvents"]!.GetValue<bool>());

        using var writer = BasicClient(ws.ClientKey);
        var userId = Infrastructure.Unique("user");
        await (await writer.PostAsJsonAsync("/v1/batch", new
        {
            batch = new object[]
            {
                new { type = "track", userId, @event = "Signed Up", properties = new { plan = "pro", seats = 3 } },
                new { type = "track", userId, @event = "Signed Up", properties = new { plan = "gold", seats = 0 } },
                new { type = "track", userId, @event = "Signed Up", properties = new { seats = 2.5 } },
                new { type = "track", userId, @event = "Unplanned" },
                new { type = "page", userId, name = "Pages are not planned" },
            },
        })).ReadOkAsync();

        var stored = (await (await api.GetAsync($"/api/v1/events?userId={userId}")).ReadOkAsync()).AsArray();
        Assert.Equal(["page", "track"], stored.Select(e => e!.Str("type")).Order());
        var reasons = (await (await api.GetAsync("/api/v1/events/quarantine")).ReadOkAsync()).AsArray()
            .SelectMany(q => q!["reasons"]!.AsArray().Select(r => r!.GetValue<string>())).Order().ToList();
        Assert.Equal(
            [
                "'Unplanned' is not in the tracking plan.",
                "property 'plan' is required.",
                "property 'plan' must be one of \"free\", \"pro\".",
                "property 'seats' must be between 1 and 500.",
                "property 'seats' must be of type integer.",
            ],
            reasons);

        await (await api.PutAsJsonAsync("/api/v1/events/settings", new { allowUnplannedEvents = true })).ReadOkAsync();
        await (await writer.PostAsJsonAsync("/v1/track", new { userId, @event = "Unplanned" })).ReadOkAsync();
        Assert.Contains((await (await api.GetAsync($"/api/v1/events?userId={userId}")).ReadOkAsync()).AsArray(), e => e!["name"]?.GetValue<string>() == "Unplanned");
    }

    [Fact]
    public async Task RejectMode_RefusesSegmentRequestsWhole_AndNativeEventsOneByOne()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        await (await api.PostAsJsonAsync("/api/v1/event-definitions", SignupDefinition)).ReadOkAsync();
        await (await api.PutAsJsonAsync("/api/v1/events/settings", new { validation = "reject" })).ReadOkAsync();
        using var writer = BasicClient(ws.ClientKey);
        var userId = Infrastructure.Unique("user");

        var refused = await writer.PostAsJsonAsync("/v1/batch", new
        {
            batch = new object[]
            {
                new { type = "track", userId, @event = "Signed Up", properties = new { plan = "free" } },
                new { type = "track", userId, @event = "Signed Up", properties = new { plan = "gold" } },
                new { type = "track", userId },
            },
        });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var problem = await refused.ReadAsync();
        Assert.Equal("urn:upswing:problem:validation", problem.Str("type"));
        Assert.Equal(["batch[1]", "batch[2]"], problem["errors"]!.AsObject().Select(e => e.Key).Order(StringComparer.Ordinal));
        Assert.Empty((await (await api.GetAsync($"/api/v1/events?userId={userId}")).ReadOkAsync()).AsArray());
        Assert.Empty((await (await api.GetAsync("/api/v1/events/quarantine")).ReadOkAsync()).AsArray());

        var native = await (await writer.PostAsJsonAsync("/v1/events", new
        {
            events = new object[] { new { name = "Signed Up", userId, properties = new { plan = "pro" } }, new { name = "Signed Up", userId } },
        })).ReadOkAsync();
        Assert.Equal(1, native["accepted"]!.GetValue<int>());
        Assert.Equal(1, native["rejected"]!.GetValue<int>());
        Assert.Equal(["accepted", "rejected"], native["results"]!.AsArray().Select(r => r!.Str("status")));
        Assert.Single((await (await api.GetAsync($"/api/v1/events?userId={userId}")).ReadOkAsync()).AsArray());

        var allBad = await writer.PostAsJsonAsync("/v1/events", new { events = new object[] { new { name = "Signed Up", userId } } });
        Assert.Equal(HttpStatusCode.BadRequest, allBad.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await writer.PostAsJsonAsync("/v1/track", new { userId, @event = "Unplanned" })).StatusCode);
    }

    [Fact]
    public async Task WebVitals_FromBeacons_AreStoredOncePerMetricId_WithTheLatestValue()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var metricId = Infrastructure.Unique("v4-cls");
        async Task<HttpResponseMessage> BeaconAsync(string json)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/vitals") { Content = new StringContent(json, Encoding.UTF8, "text/plain") };
            request.Headers.Referrer = new Uri("https://shop.example.com/products/42?ref=ad");
            request.Headers.UserAgent.ParseAdd("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148");
            return await Server.Client.SendAsync(request);
        }

        var first = await (await BeaconAsync($$"""{"writeKey":"{{ws.ClientKey}}","name":"CLS","value":0.05,"rating":"good","delta":0.05,"id":"{{metricId}}","navigationType":"navigate","entries":[]}""")).ReadOkAsync();
        Assert.Equal(1, first["accepted"]!.GetValue<int>());
        await (await BeaconAsync($$"""{"writeKey":"{{ws.ClientKey}}","name":"CLS","value":0.3,"rating":"poor","delta":0.25,"id":"{{metricId}}","navigationType":"navigate"}""")).ReadOkAsync();
        var mixed = await (await BeaconAsync($$"""{"writeKey":"{{ws.ClientKey}}","anonymousId":"anon-1","metrics":[{"name":"LCP","value":2100,"rating":"good","id":"{{metricId}}-lcp"},{"name":"XYZ","value":1,"id":"x"},{"name":"INP","value":-1,"id":"y"}]}""")).ReadOkAsync();
        Assert.Equal(1, mixed["accepted"]!.GetValue<int>());
        Assert.Equal([1, 2], mixed["rejected"]!.AsArray().Select(r => r!["index"]!.GetValue<int>()));
        Assert.Equal(HttpStatusCode.BadRequest, (await BeaconAsync($$"""{"writeKey":"{{ws.ClientKey}}","name":"LCP","value":"fast","id":"z"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await BeaconAsync("""{"name":"LCP","value":1,"id":"z"}""")).StatusCode);

        var rows = await Server.WithServicesAsync(services => services.GetRequiredService<UpswingDb>().Set<WebVital>().AsNoTracking()
            .Where(v => v.WorkspaceId == ws.Workspace.Id).OrderBy(v => v.Name).ToListAsync());
        Assert.Equal(["CLS", "LCP"], rows.Select(r => r.Name));
        Assert.Equal(0.3, rows[0].Value);
        Assert.Equal("poor", rows[0].Rating);
        Assert.All(rows, r => Assert.Equal("mobile", r.DeviceClass));
        Assert.All(rows, r => Assert.Equal("/products/42", r.Path));
        Assert.Equal("anon-1", rows[1].AnonymousId);
    }

    private HttpClient BasicClient(string key)
    {
        var client = Server.NewClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":")));
        return client;
    }
}

[Trait("Provider", "SQLite")]
public sealed class TrackingPlanOnSqlite(SqliteServerFixture fixture) : TrackingPlanContract(fixture), IClassFixture<SqliteServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class TrackingPlanOnPostgres(PostgresServerFixture fixture) : TrackingPlanContract(fixture), IClassFixture<PostgresServerFixture>;
