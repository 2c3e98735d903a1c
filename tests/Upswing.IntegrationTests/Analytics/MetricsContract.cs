using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Access;
using Upswing.Analytics;
using Upswing.Common;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Analytics;

/// <summary>/api/v1/metrics: metric definitions, their validation, ratio parts and audit, on SQLite and PostgreSQL.</summary>
public abstract class MetricsContract(ServerFixture fixture)
{
    private UpswingTestServer Server => fixture.Server;

    [Fact]
    public async Task Metric_IsCreatedListedReadUpdatedAndDeleted_WithAnAuditEntryForEachChange()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var key = Infrastructure.Unique("purchase");

        var response = await api.PostAsJsonAsync("/api/v1/metrics", new { key, name = " Purchase ", type = "binomial", @event = "Order Completed" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/api/v1/metrics/{key}", response.Headers.Location?.OriginalString);
        var created = await response.ReadOkAsync();
        Assert.Equal("Purchase", created.Str("name"));
        Assert.Equal("binomial", created.Str("type"));
        Assert.Equal("Order Completed", created.Str("event"));
        Assert.Equal(72, created["conversionWindowHours"]!.GetValue<int>());
        Assert.Equal("increase", created.Str("direction"));
        Assert.False(created["guardrail"]!.GetValue<bool>());
        Assert.Null(created["capping"]);
        Assert.Null(created["cupedPreDays"]);
        Assert.Empty(created["filters"]!.AsArray());
        Assert.Equal(1, created["version"]!.GetValue<int>());

        Assert.Contains(key, (await (await api.GetAsync("/api/v1/metrics")).ReadOkAsync()).AsArray().Select(m => m!.Str("key")));
        // The stored times are rounded (milliseconds on SQLite), so the rest of the answer is compared.
        Assert.Equal(WithoutTimes(created), WithoutTimes(await (await api.GetAsync($"/api/v1/metrics/{key}")).ReadOkAsync()));

        var updated = await (await api.PatchJsonAsync($"/api/v1/metrics/{key}", new
        {
            description = "Bought anything",
            conversionWindowHours = 24,
            direction = "decrease",
            guardrail = true,
            cupedPreDays = 14,
            filters = new object[] { new { property = "total", @operator = "gt", value = 0 }, new { property = "currency", @operator = "in", value = new[] { "EUR", "USD" } } },
        })).ReadOkAsync();
        Assert.Equal("Purchase", updated.Str("name"));
        Assert.Equal("Bought anything", updated.Str("description"));
        Assert.Equal(24, updated["conversionWindowHours"]!.GetValue<int>());
        Assert.Equal("decrease", updated.Str("direction"));
        Assert.True(updated["guardrail"]!.GetValue<bool>());
        Assert.Equal(14, updated["cupedPreDays"]!.GetValue<int>());
        Assert.Equal(["gt", "in"], updated["filters"]!.AsArray().Select(f => f!.Str("operator")));
        Assert.Equal(["EUR", "USD"], updated["filters"]![1]!["value"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal(2, updated["version"]!.GetValue<int>());
        Assert.Equal(created["createdAt"]!.GetValue<DateTimeOffset>(), updated["createdAt"]!.GetValue<DateTimeOffset>(), TimeSpan.FromMilliseconds(1));

        // Zero turns CUPED off; an empty list clears the filters; omitted fields stay.
        var cleared = await (await api.PatchJsonAsync($"/api/v1/metrics/{key}", new { cupedPreDays = 0, filters = Array.Empty<object>() })).ReadOkAsync();
        Assert.Null(cleared["cupedPreDays"]);
        Assert.Empty(cleared["filters"]!.AsArray());
        Assert.Equal("Bought anything", cleared.Str("description"));

        var deleted = await api.DeleteAsync($"/api/v1/metrics/{key}");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/v1/metrics/{key}")).StatusCode);

        var audit = new JsonArray([.. (await (await api.GetAsync("/api/v1/audit?resourceType=metric")).ReadOkAsync()).AsArray()
            .Where(e => e!.Str("resourceId") == key).Select(e => e!.DeepClone())]);
        Assert.Equal(["metric.created", "metric.updated", "metric.updated", "metric.deleted"], audit.Select(e => e!.Str("action")).Reverse());
        Assert.Equal("decrease", audit[1]!["after"]!.Str("direction"));
        Assert.Equal("increase", audit[2]!["before"]!.Str("direction"));
        Assert.Null(audit[0]!["after"]);
    }

    [Fact]
    public async Task EachType_KeepsTheFieldsItUses_AndDefaults()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);

        var count = await CreateAsync(api, new { type = "count", @event = "Page Viewed", capping = new { type = "absolute", value = 50 } });
        Assert.Equal("absolute", count["capping"]!.Str("type"));
        Assert.Equal(50, count["capping"]!["value"]!.GetValue<double>());
        Assert.Null(count["conversionWindowHours"]);

        var sum = await CreateAsync(api, new { type = "sum", @event = "Order Completed", valueProperty = "total", capping = new { type = "percentile", value = 0.99 } });
        Assert.Equal("total", sum.Str("valueProperty"));
        Assert.Equal("percentile", sum["capping"]!.Str("type"));

        var mean = await CreateAsync(api, new { type = "mean", @event = "Order Completed", valueProperty = "items", direction = "decrease" });
        Assert.Equal("decrease", mean.Str("direction"));

        var retention = await CreateAsync(api, new { type = "retention", @event = "Session Started", retentionDay = 7 });
        Assert.Equal(7, retention["retentionDay"]!.GetValue<int>());

        var ratio = await CreateAsync(api, new { type = "ratio", numerator = sum.Str("key"), denominator = count.Str("key"), guardrail = true });
        Assert.Equal(sum.Str("key"), ratio.Str("numerator"));
        Assert.Equal(count.Str("key"), ratio.Str("denominator"));
        Assert.Null(ratio["event"]);
        Assert.True(ratio["guardrail"]!.GetValue<bool>());
    }

    [Fact]
    public async Task ChangingTheType_DropsFieldsTheNewTypeDoesNotUse_ButRefusesThemWhenGiven()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var sum = await CreateAsync(api, new { type = "sum", @event = "Order Completed", valueProperty = "total", capping = new { type = "absolute", value = 1000 } });
        var key = sum.Str("key");

        var given = await api.PatchJsonAsync($"/api/v1/metrics/{key}", new { type = "binomial", valueProperty = "total" });
        Assert.Equal(["valueProperty"], await FieldErrorsAsync(given));

        var binomial = await (await api.PatchJsonAsync($"/api/v1/metrics/{key}", new { type = "binomial" })).ReadOkAsync();
        Assert.Equal("binomial", binomial.Str("type"));
        Assert.Null(binomial["valueProperty"]);
        Assert.Null(binomial["capping"]);
        Assert.Equal(72, binomial["conversionWindowHours"]!.GetValue<int>());
        Assert.Equal("Order Completed", binomial.Str("event"));

        // Capping can be set and removed again on a type that is capped.
        var count = await (await api.PatchJsonAsync($"/api/v1/metrics/{key}", new { type = "count", capping = new { type = "absolute", value = 3 } })).ReadOkAsync();
        Assert.Equal(3, count["capping"]!["value"]!.GetValue<double>());
        Assert.Null(count["conversionWindowHours"]);
        Assert.Null((await (await api.PatchJsonAsync($"/api/v1/metrics/{key}", new { capping = "none" })).ReadOkAsync())["capping"]);

        Assert.Equal(["key"], await FieldErrorsAsync(await api.PatchJsonAsync($"/api/v1/metrics/{key}", new { key = "renamed" })));
    }

    [Fact]
    public async Task CreateMetric_WithWrongFields_ListsEveryFieldError()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);

        Assert.Equal(["key", "name", "type"], await FieldErrorsAsync(await api.PostAsJsonAsync("/api/v1/metrics", new { key = "bad key", type = "median", @event = "x" })));
        Assert.Equal(["type"], await FieldErrorsAsync(await api.PostAsJsonAsync("/api/v1/metrics", new { key = Infrastructure.Unique("m"), name = "M", type = "1", @event = "x" })));
        Assert.Equal(["event"], await FieldErrorsAsync(await CreateRawAsync(api, new { type = "count" })));
        Assert.Equal(["valueProperty"], await FieldErrorsAsync(await CreateRawAsync(api, new { type = "sum", @event = "Order Completed" })));
        Assert.Equal(["retentionDay"], await FieldErrorsAsync(await CreateRawAsync(api, new { type = "retention", @event = "Session Started" })));
        Assert.Equal(
            ["capping", "conversionWindowHours", "cupedPreDays", "description", "direction", "event"],
            await FieldErrorsAsync(await CreateRawAsync(api, new
            {
                type = "binomial",
                @event = " ",
                description = new string('d', 2001),
                direction = "sideways",
                conversionWindowHours = 0,
                cupedPreDays = -1,
                capping = 5,
            })));
        Assert.Equal(
            ["filters[0].operator", "filters[1].value", "filters[2].property", "filters[3].value", "filters[4]", "filters[5].value"],
            await FieldErrorsAsync(await CreateRawAsync(api, new
            {
                type = "count",
                @event = "Page Viewed",
                filters = new object?[]
                {
                    new { property = "plan", @operator = "like", value = "pro" },
                    new { property = "total", @operator = "gt", value = "ten" },
                    new { property = "", @operator = "eq", value = "x" },
                    new { property = "plan", @operator = "in", value = Array.Empty<string>() },
                    null,
                    new { property = "plan", @operator = "eq" },
                },
            })));
    }

    [Fact]
    public async Task Capping_MustBeAbsoluteAboveZeroOrAPercentileBetweenZeroAndOne_OnACappableType()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);

        Assert.Equal(["capping.type"], await FieldErrorsAsync(await CreateRawAsync(api, new { type = "count", @event = "e", capping = new { type = "winsor", value = 3 } })));
        Assert.Equal(["capping.value"], await FieldErrorsAsync(await CreateRawAsync(api, new { type = "count", @event = "e", capping = new { type = "absolute", value = 0 } })));
        Assert.Equal(["capping.value"], await FieldErrorsAsync(await CreateRawAsync(api, new { type = "count", @event = "e", capping = new { type = "percentile", value = 99 } })));
        Assert.Equal(["capping.value"], await FieldErrorsAsync(await CreateRawAsync(api, new { type = "count", @event = "e", capping = new { type = "percentile" } })));
        Assert.Equal(["capping"], await FieldErrorsAsync(await CreateRawAsync(api, new { type = "binomial", @event = "e", capping = new { type = "absolute", value = 3 } })));
        Assert.Null((await CreateAsync(api, new { type = "binomial", @event = "e", capping = "none" }))["capping"]);
    }

    [Fact]
    public async Task RatioMetric_NeedsTwoDifferentExistingNonRatioMetrics()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var revenue = (await CreateAsync(api, new { type = "sum", @event = "Order Completed", valueProperty = "total" })).Str("key");
        var orders = (await CreateAsync(api, new { type = "count", @event = "Order Completed" })).Str("key");
        var aov = (await CreateAsync(api, new { type = "ratio", numerator = revenue, denominator = orders })).Str("key");

        Assert.Equal(["denominator", "numerator"], await FieldErrorsAsync(await CreateRawAsync(api, new { type = "ratio" })));
        Assert.Equal(["numerator"], await FieldErrorsAsync(await CreateRawAsync(api, new { type = "ratio", numerator = "no-such-metric", denominator = orders })));
        var ratioPart = await CreateRawAsync(api, new { type = "ratio", numerator = revenue, denominator = aov });
        Assert.Equal(["denominator"], await FieldErrorsAsync(ratioPart));
        Assert.Equal(["denominator"], await FieldErrorsAsync(await CreateRawAsync(api, new { type = "ratio", numerator = orders, denominator = orders })));
        Assert.Equal(
            ["cupedPreDays", "event", "filters", "valueProperty"],
            await FieldErrorsAsync(await CreateRawAsync(api, new
            {
                type = "ratio",
                numerator = revenue,
                denominator = orders,
                @event = "Order Completed",
                valueProperty = "total",
                cupedPreDays = 7,
                filters = new[] { new { property = "plan", @operator = "eq", value = "pro" } },
            })));
        Assert.Equal(["numerator"], await FieldErrorsAsync(await api.PatchJsonAsync($"/api/v1/metrics/{aov}", new { numerator = aov })));

        // A metric's own key cannot be a part of it, even while it is turning into a ratio.
        Assert.Equal(["numerator"], await FieldErrorsAsync(await api.PatchJsonAsync($"/api/v1/metrics/{orders}", new { type = "ratio", numerator = orders, denominator = revenue })));
    }

    [Fact]
    public async Task MetricUsedByARatio_CannotBeDeletedOrBecomeARatio()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var revenue = (await CreateAsync(api, new { type = "sum", @event = "Order Completed", valueProperty = "total" })).Str("key");
        var orders = (await CreateAsync(api, new { type = "count", @event = "Order Completed" })).Str("key");
        var visits = (await CreateAsync(api, new { type = "count", @event = "Session Started" })).Str("key");
        var aov = (await CreateAsync(api, new { type = "ratio", numerator = revenue, denominator = orders })).Str("key");

        var delete = await api.DeleteAsync($"/api/v1/metrics/{orders}");
        Assert.Equal(HttpStatusCode.Conflict, delete.StatusCode);
        var problem = await delete.ReadAsync();
        Assert.Equal("urn:upswing:problem:conflict", problem.Str("type"));
        Assert.Contains(aov, problem.Str("detail"), StringComparison.Ordinal);

        var toRatio = await api.PatchJsonAsync($"/api/v1/metrics/{orders}", new { type = "ratio", numerator = revenue, denominator = visits });
        Assert.Equal(HttpStatusCode.Conflict, toRatio.StatusCode);

        // Another non-ratio type is fine, and once the ratio is gone so is the part.
        Assert.Equal("sum", (await (await api.PatchJsonAsync($"/api/v1/metrics/{orders}", new { type = "sum", valueProperty = "items" })).ReadOkAsync()).Str("type"));
        Assert.Equal(HttpStatusCode.OK, (await api.DeleteAsync($"/api/v1/metrics/{aov}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.DeleteAsync($"/api/v1/metrics/{orders}")).StatusCode);
    }

    [Fact]
    public async Task DuplicateKey_IsAConflict_AndUnknownKeysAreNotFound()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var key = (await CreateAsync(api, new { type = "count", @event = "Page Viewed" })).Str("key");

        var duplicate = await api.PostAsJsonAsync("/api/v1/metrics", new { key, name = "Again", type = "count", @event = "Page Viewed" });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        Assert.Equal("urn:upswing:problem:conflict", (await duplicate.ReadAsync()).Str("type"));

        // The same key in another workspace is another metric.
        var other = await Server.CreateWorkspaceAsync();
        using var otherApi = Server.NewClient(other.SecretKey);
        Assert.Equal(HttpStatusCode.Created, (await otherApi.PostAsJsonAsync("/api/v1/metrics", new { key, name = "Theirs", type = "count", @event = "Page Viewed" })).StatusCode);

        foreach (var response in new[]
        {
            await api.GetAsync("/api/v1/metrics/no-such-metric"),
            await api.PatchJsonAsync("/api/v1/metrics/no-such-metric", new { name = "x" }),
            await api.DeleteAsync("/api/v1/metrics/no-such-metric"),
        })
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("urn:upswing:problem:not-found", (await response.ReadAsync()).Str("type"));
        }
    }

    [Fact]
    public async Task GetMany_ReturnsTheKnownMetricsByKey_WithTheirStatisticsKinds()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var revenue = (await CreateAsync(api, new { type = "sum", @event = "Order Completed", valueProperty = "total" })).Str("key");
        var bought = (await CreateAsync(api, new { type = "binomial", @event = "Order Completed" })).Str("key");
        var aov = (await CreateAsync(api, new { type = "ratio", numerator = revenue, denominator = bought })).Str("key");

        var found = await Server.WithServicesAsync(services =>
            services.GetRequiredService<MetricService>().GetManyAsync(ws.Workspace.Id, [aov, revenue, bought, revenue, "no-such-metric"], default));

        Assert.Equal(new[] { aov, revenue, bought }.Order(StringComparer.Ordinal), found.Select(m => m.Key));
        Assert.Equal(
            new Dictionary<string, string> { [aov] = "ratio", [revenue] = "mean", [bought] = "proportion" },
            found.ToDictionary(m => m.Key, m => m.StatisticsKind()));
        var other = await Server.CreateWorkspaceAsync();
        Assert.Empty(await Server.WithServicesAsync(services => services.GetRequiredService<MetricService>().GetManyAsync(other.Workspace.Id, [aov], default)));
    }

    [Fact]
    public async Task Viewer_CannotCreateUpdateOrDeleteMetrics()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var key = (await CreateAsync(api, new { type = "count", @event = "Page Viewed" })).Str("key");
        var viewer = new WorkspaceContext(ws.Workspace.Id, WorkspaceRole.Viewer, Actor.Cli);
        var request = new MetricRequest(Infrastructure.Unique("m"), "M", null, "count", "Page Viewed", null, null, null, null, null, null, null, null, null, null);

        var failures = await Server.WithServicesAsync(async services =>
        {
            var metrics = services.GetRequiredService<MetricService>();
            return new[]
            {
                (await metrics.CreateAsync(viewer, request, default)).Failure,
                (await metrics.UpdateAsync(viewer, key, request with { Key = null, Name = "Renamed" }, default)).Failure,
                (await metrics.DeleteAsync(viewer, key, default)).Failure,
            };
        });

        Assert.All(failures, f => Assert.Equal(FailureKind.Forbidden, f?.Kind));
        Assert.Equal("A metric", (await (await api.GetAsync($"/api/v1/metrics/{key}")).ReadOkAsync()).Str("name"));
    }

    private static string WithoutTimes(JsonNode metric)
    {
        var copy = metric.DeepClone().AsObject();
        copy.Remove("createdAt");
        copy.Remove("updatedAt");
        return copy.ToJsonString();
    }

    private static async Task<JsonNode> CreateAsync(HttpClient api, object fields) => await (await CreateRawAsync(api, fields)).ReadOkAsync();

    /// <summary>POSTs the fields with a fresh key and a name added.</summary>
    private static Task<HttpResponseMessage> CreateRawAsync(HttpClient api, object fields)
    {
        var body = JsonSerializer.SerializeToNode(fields, Json.Web)!.AsObject();
        body["key"] = Infrastructure.Unique("metric");
        body["name"] = "A metric";
        return api.PostAsJsonAsync("/api/v1/metrics", body);
    }

    private static async Task<List<string>> FieldErrorsAsync(HttpResponseMessage response)
    {
        var body = await response.ReadAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {body.ToJsonString()}");
        Assert.Equal("urn:upswing:problem:validation", body.Str("type"));
        return [.. body["errors"]!.AsObject().Select(e => e.Key).Order(StringComparer.Ordinal)];
    }
}

[Trait("Provider", "SQLite")]
public sealed class MetricsOnSqlite(SqliteServerFixture fixture) : MetricsContract(fixture), IClassFixture<SqliteServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class MetricsOnPostgres(PostgresServerFixture fixture) : MetricsContract(fixture), IClassFixture<PostgresServerFixture>;
