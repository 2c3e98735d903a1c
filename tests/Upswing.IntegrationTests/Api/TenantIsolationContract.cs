using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Analytics;
using Upswing.Jobs;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Api;

/// <summary>
/// A secret key of workspace A must never see or touch workspace B: B's resources answer 404 exactly
/// like missing ones. The table below names a check for every management endpoint (and every /v1/metrics
/// endpoint), and a guard test fails when an endpoint is added without one.
/// </summary>
public abstract class TenantIsolationContract(ServerFixture fixture)
{
    private UpswingTestServer Server => fixture.Server;

    /// <summary>An endpoint and what A's key must get when it points at B.</summary>
    private sealed record Probe(string Method, string Route, Func<Resources, string> Url, object? Body, Func<HttpResponseMessage, Resources, Task> Check);

    /// <summary>Workspace B's resources, and clients for A (intruder) and B (owner).</summary>
    private sealed record Resources(TestWorkspace A, TestWorkspace B, string BKeyId, string BMemberId, string BAuditId, string BFeatureKey, string BFeatureId, string BGroupId, string BExperimentKey, string BExperimentId, string BHoldoutKey, string BHoldoutId, HttpClient Intruder, HttpClient Owner)
    {
        /// <summary>B's ingested event (its user, name and id) and its quarantined one.</summary>
        public (string UserId, string Name, string Id, string QuarantineId, string DefinitionId) BEvents { get; init; }

        /// <summary>B's jobs on a queue no worker serves: one waiting, one cancelled.</summary>
        public (string Queue, long Available, long Cancelled) BJobs { get; init; }

        /// <summary>B's metric definition.</summary>
        public (string Key, string Id) BMetric { get; init; }

        /// <summary>B's funnel definition.</summary>
        public (string Key, string Id) BFunnel { get; init; }
    }

    private static readonly Probe[] Probes =
    [
        new("GET", "/api/v1/workspaces/", _ => "/api/v1/workspaces", null, ListExcludes(r => r.B.Workspace.Id.ToString())),
        new("GET", "/api/v1/workspaces/{idOrSlug}", r => $"/api/v1/workspaces/{r.B.Workspace.Id}", null, NotFound),
        new("POST", "/api/v1/workspaces/", _ => "/api/v1/workspaces", new { name = "sibling" }, async (response, r) =>
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var created = await response.ReadAsync();
            Assert.NotEqual(r.B.Workspace.Id.ToString(), created["workspace"]!.Str("id"));
            Assert.DoesNotContain(created["workspace"]!.Str("id"), (await (await r.Owner.GetAsync("/api/v1/workspaces")).ReadOkAsync()).Ids());
        }),
        new("PATCH", "/api/v1/workspaces/{idOrSlug}", r => $"/api/v1/workspaces/{r.B.Workspace.Slug}", new { name = "hijacked" }, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.Equal(r.B.Workspace.Name, (await (await r.Owner.GetAsync("/api/v1/workspaces")).ReadOkAsync())[0]!.Str("name"));
        }),
        new("GET", "/api/v1/keys/", _ => "/api/v1/keys", null, ListExcludes(r => r.BKeyId)),
        new("GET", "/api/v1/keys/{id:guid}", r => $"/api/v1/keys/{r.BKeyId}", null, NotFound),
        new("POST", "/api/v1/keys/", _ => "/api/v1/keys", new { kind = "secret", name = "intruder" }, async (response, r) =>
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.DoesNotContain("intruder", await r.Owner.GetStringAsync("/api/v1/keys"));
        }),
        new("POST", "/api/v1/keys/{id:guid}/revoke", r => $"/api/v1/keys/{r.BKeyId}/revoke", null, KeyStillWorks),
        new("DELETE", "/api/v1/keys/{id:guid}", r => $"/api/v1/keys/{r.BKeyId}", null, KeyStillWorks),
        new("GET", "/api/v1/members/", _ => "/api/v1/members", null, ListExcludes(r => r.BMemberId)),
        new("GET", "/api/v1/members/{id:guid}", r => $"/api/v1/members/{r.BMemberId}", null, NotFound),
        new("POST", "/api/v1/members/", _ => "/api/v1/members", new { email = "intruder@example.com", role = "viewer" }, async (response, r) =>
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.DoesNotContain("intruder@example.com", await r.Owner.GetStringAsync("/api/v1/members"));
        }),
        new("PATCH", "/api/v1/members/{id:guid}", r => $"/api/v1/members/{r.BMemberId}", new { role = "viewer" }, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.Equal("editor", (await (await r.Owner.GetAsync($"/api/v1/members/{r.BMemberId}")).ReadOkAsync()).Str("role"));
        }),
        new("DELETE", "/api/v1/members/{id:guid}", r => $"/api/v1/members/{r.BMemberId}", null, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.Equal(HttpStatusCode.OK, (await r.Owner.GetAsync($"/api/v1/members/{r.BMemberId}")).StatusCode);
        }),
        new("GET", "/api/v1/audit/", _ => "/api/v1/audit", null, ListExcludes(r => r.BAuditId)),
        new("GET", "/api/v1/audit/{id:guid}", r => $"/api/v1/audit/{r.BAuditId}", null, NotFound),
        new("GET", "/api/v1/features/", _ => "/api/v1/features", null, ListExcludesOrEmpty(r => r.BFeatureId)),
        new("GET", "/api/v1/features/{key}", r => $"/api/v1/features/{r.BFeatureKey}", null, NotFound),
        new("POST", "/api/v1/features/", _ => "/api/v1/features", new { key = "intruder-flag", valueType = "boolean", defaultValue = true }, async (response, r) =>
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.DoesNotContain("intruder-flag", await r.Owner.GetStringAsync("/api/v1/features"));
        }),
        new("PATCH", "/api/v1/features/{key}", r => $"/api/v1/features/{r.BFeatureKey}", new { description = "hijacked" }, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.DoesNotContain("hijacked", await r.Owner.GetStringAsync($"/api/v1/features/{r.BFeatureKey}"));
        }),
        new("PUT", "/api/v1/features/{key}/environments/{environment}", r => $"/api/v1/features/{r.BFeatureKey}/environments/production", new { enabled = false }, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.True((await (await r.Owner.GetAsync($"/api/v1/features/{r.BFeatureKey}")).ReadOkAsync())["environments"]!["production"]!["enabled"]!.GetValue<bool>());
        }),
        new("DELETE", "/api/v1/features/{key}", r => $"/api/v1/features/{r.BFeatureKey}", null, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.Equal(HttpStatusCode.OK, (await r.Owner.GetAsync($"/api/v1/features/{r.BFeatureKey}")).StatusCode);
        }),
        new("GET", "/api/v1/saved-groups/", _ => "/api/v1/saved-groups", null, ListExcludesOrEmpty(r => r.BGroupId)),
        new("GET", "/api/v1/saved-groups/{id:guid}", r => $"/api/v1/saved-groups/{r.BGroupId}", null, NotFound),
        new("POST", "/api/v1/saved-groups/", _ => "/api/v1/saved-groups", new { key = "intruders", name = "Intruders", type = "list", attributeKey = "id", values = new[] { "x" } }, async (response, r) =>
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.DoesNotContain("intruders", await r.Owner.GetStringAsync("/api/v1/saved-groups"));
        }),
        new("PATCH", "/api/v1/saved-groups/{id:guid}", r => $"/api/v1/saved-groups/{r.BGroupId}", new { name = "hijacked" }, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.DoesNotContain("hijacked", await r.Owner.GetStringAsync($"/api/v1/saved-groups/{r.BGroupId}"));
        }),
        new("DELETE", "/api/v1/saved-groups/{id:guid}", r => $"/api/v1/saved-groups/{r.BGroupId}", null, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.Equal(HttpStatusCode.OK, (await r.Owner.GetAsync($"/api/v1/saved-groups/{r.BGroupId}")).StatusCode);
        }),
        new("GET", "/api/v1/experiments/", _ => "/api/v1/experiments", null, ListExcludesOrEmpty(r => r.BExperimentId)),
        new("GET", "/api/v1/experiments/{key}", r => $"/api/v1/experiments/{r.BExperimentKey}", null, NotFound),
        new("GET", "/api/v1/experiments/{key}/assignments", r => $"/api/v1/experiments/{r.BExperimentKey}/assignments", null, NotFound),
        new("GET", "/api/v1/experiments/{key}/results", r => $"/api/v1/experiments/{r.BExperimentKey}/results", null, NotFound),
        new("POST", "/api/v1/experiments/", _ => "/api/v1/experiments", new { key = "intruder-test", name = "Intruder", variations = new object[] { new { key = "a" }, new { key = "b" } } }, async (response, r) =>
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.DoesNotContain("intruder-test", await r.Owner.GetStringAsync("/api/v1/experiments"));
        }),
        new("PATCH", "/api/v1/experiments/{key}", r => $"/api/v1/experiments/{r.BExperimentKey}", new { name = "hijacked" }, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.DoesNotContain("hijacked", await r.Owner.GetStringAsync($"/api/v1/experiments/{r.BExperimentKey}"));
        }),
        new("POST", "/api/v1/experiments/{key}/start", r => $"/api/v1/experiments/{r.BExperimentKey}/start", null, ExperimentStaysRunning),
        new("POST", "/api/v1/experiments/{key}/pause", r => $"/api/v1/experiments/{r.BExperimentKey}/pause", null, ExperimentStaysRunning),
        new("POST", "/api/v1/experiments/{key}/stop", r => $"/api/v1/experiments/{r.BExperimentKey}/stop", new { }, ExperimentStaysRunning),
        new("DELETE", "/api/v1/experiments/{key}", r => $"/api/v1/experiments/{r.BExperimentKey}", null, ExperimentStaysRunning),
        new("GET", "/api/v1/holdouts/", _ => "/api/v1/holdouts", null, ListExcludesOrEmpty(r => r.BHoldoutId)),
        new("GET", "/api/v1/holdouts/{key}", r => $"/api/v1/holdouts/{r.BHoldoutKey}", null, NotFound),
        new("POST", "/api/v1/holdouts/", _ => "/api/v1/holdouts", new { key = "intruder-holdout", name = "Intruder", percentage = 0.1 }, async (response, r) =>
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.DoesNotContain("intruder-holdout", await r.Owner.GetStringAsync("/api/v1/holdouts"));
        }),
        new("PATCH", "/api/v1/holdouts/{key}", r => $"/api/v1/holdouts/{r.BHoldoutKey}", new { percentage = 0.5 }, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.Equal(0.05, (await (await r.Owner.GetAsync($"/api/v1/holdouts/{r.BHoldoutKey}")).ReadOkAsync())["percentage"]!.GetValue<double>());
        }),
        new("DELETE", "/api/v1/holdouts/{key}", r => $"/api/v1/holdouts/{r.BHoldoutKey}", null, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.Equal(HttpStatusCode.OK, (await r.Owner.GetAsync($"/api/v1/holdouts/{r.BHoldoutKey}")).StatusCode);
        }),
        new("GET", "/api/v1/events/", _ => "/api/v1/events", null, ListExcludesOrEmpty(r => r.BEvents.Id)),
        new("GET", "/api/v1/events/stats", _ => "/api/v1/events/stats", null, async (response, r) =>
            Assert.DoesNotContain(r.BEvents.Name, await response.Content.ReadAsStringAsync())),
        new("GET", "/api/v1/events/quarantine", _ => "/api/v1/events/quarantine", null, ListExcludesOrEmpty(r => r.BEvents.QuarantineId)),
        new("GET", "/api/v1/users/{id}", r => $"/api/v1/users/{r.BEvents.UserId}", null, NotFound),
        new("GET", "/api/v1/events/settings", _ => "/api/v1/events/settings", null, async (response, r) =>
            Assert.Equal("off", (await response.ReadOkAsync()).Str("validation"))),
        new("PUT", "/api/v1/events/settings", _ => "/api/v1/events/settings", new { validation = "off" }, async (response, r) =>
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("reject", (await (await r.Owner.GetAsync("/api/v1/events/settings")).ReadOkAsync()).Str("validation"));
        }),
        new("GET", "/api/v1/event-definitions/", _ => "/api/v1/event-definitions", null, ListExcludesOrEmpty(r => r.BEvents.DefinitionId)),
        new("GET", "/api/v1/event-definitions/{id:guid}", r => $"/api/v1/event-definitions/{r.BEvents.DefinitionId}", null, NotFound),
        new("POST", "/api/v1/event-definitions/", _ => "/api/v1/event-definitions", new { name = "Intruder Event" }, async (response, r) =>
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.DoesNotContain("Intruder Event", await r.Owner.GetStringAsync("/api/v1/event-definitions"));
        }),
        new("PATCH", "/api/v1/event-definitions/{id:guid}", r => $"/api/v1/event-definitions/{r.BEvents.DefinitionId}", new { description = "hijacked" }, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.DoesNotContain("hijacked", await r.Owner.GetStringAsync($"/api/v1/event-definitions/{r.BEvents.DefinitionId}"));
        }),
        new("DELETE", "/api/v1/event-definitions/{id:guid}", r => $"/api/v1/event-definitions/{r.BEvents.DefinitionId}", null, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.Equal(HttpStatusCode.OK, (await r.Owner.GetAsync($"/api/v1/event-definitions/{r.BEvents.DefinitionId}")).StatusCode);
        }),
        new("GET", "/api/v1/jobs/", _ => "/api/v1/jobs", null, ListExcludesOrEmpty(r => r.BJobs.Available.ToString(CultureInfo.InvariantCulture))),
        new("GET", "/api/v1/jobs/stats", _ => "/api/v1/jobs/stats", null, async (response, r) =>
            Assert.DoesNotContain(r.BJobs.Queue, await response.Content.ReadAsStringAsync())),
        new("GET", "/api/v1/jobs/{id:long}", r => $"/api/v1/jobs/{r.BJobs.Available}", null, NotFound),
        new("POST", "/api/v1/jobs/{id:long}/cancel", r => $"/api/v1/jobs/{r.BJobs.Available}/cancel", null, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.Equal("available", (await (await r.Owner.GetAsync($"/api/v1/jobs/{r.BJobs.Available}")).ReadOkAsync()).Str("state"));
        }),
        new("POST", "/api/v1/jobs/{id:long}/retry", r => $"/api/v1/jobs/{r.BJobs.Cancelled}/retry", null, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.Equal("cancelled", (await (await r.Owner.GetAsync($"/api/v1/jobs/{r.BJobs.Cancelled}")).ReadOkAsync()).Str("state"));
        }),
        new("POST", "/api/v1/jobs/cancel", r => $"/api/v1/jobs/cancel?queue={r.BJobs.Queue}", null, async (response, r) =>
        {
            Assert.Equal(0, (await response.ReadOkAsync())["cancelled"]!.GetValue<int>());
            Assert.Equal("available", (await (await r.Owner.GetAsync($"/api/v1/jobs/{r.BJobs.Available}")).ReadOkAsync()).Str("state"));
        }),
        new("POST", "/api/v1/jobs/retry", r => $"/api/v1/jobs/retry?state=cancelled&queue={r.BJobs.Queue}", null, async (response, r) =>
        {
            Assert.Equal(0, (await response.ReadOkAsync())["retried"]!.GetValue<int>());
            Assert.Equal("cancelled", (await (await r.Owner.GetAsync($"/api/v1/jobs/{r.BJobs.Cancelled}")).ReadOkAsync()).Str("state"));
        }),
        // A's key reads A's vitals rollup only: B's rows never appear (A has none).
        // B's retention rollup has B's event of today; A's key sees no cohort, B's key sees it.
        new("GET", "/api/v1/analytics/retention", _ => "/api/v1/analytics/retention?type=recurring", null, async (response, r) =>
        {
            Assert.Empty((await response.ReadOkAsync())["cohorts"]!.AsArray());
            Assert.NotEmpty((await (await r.Owner.GetAsync("/api/v1/analytics/retention?type=recurring")).ReadOkAsync())["cohorts"]!.AsArray());
        }),
        new("GET", "/api/v1/analytics/vitals", _ => "/api/v1/analytics/vitals?from=2000-01-01&to=2000-12-31", null, async (response, r) =>
            Assert.Empty((await response.ReadOkAsync()).AsArray())),
        // A's key cannot read B's funnel result (404 like a missing funnel), nor see or change B's funnel.
        new("GET", "/api/v1/analytics/funnels", r => $"/api/v1/analytics/funnels?funnel={r.BFunnel.Key}", null, NotFound),
        new("GET", "/api/v1/funnels/", _ => "/api/v1/funnels", null, ListExcludesOrEmpty(r => r.BFunnel.Id)),
        new("GET", "/api/v1/funnels/{key}", r => $"/api/v1/funnels/{r.BFunnel.Key}", null, NotFound),
        new("POST", "/api/v1/funnels/", _ => "/api/v1/funnels", new { key = "intruder-funnel", name = "Intruder", steps = new[] { new { @event = "A" }, new { @event = "B" } } }, async (response, r) =>
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.DoesNotContain("intruder-funnel", await r.Owner.GetStringAsync("/api/v1/funnels"));
        }),
        new("PATCH", "/api/v1/funnels/{key}", r => $"/api/v1/funnels/{r.BFunnel.Key}", new { name = "hijacked" }, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.DoesNotContain("hijacked", await r.Owner.GetStringAsync($"/api/v1/funnels/{r.BFunnel.Key}"));
        }),
        new("DELETE", "/api/v1/funnels/{key}", r => $"/api/v1/funnels/{r.BFunnel.Key}", null, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.Equal(HttpStatusCode.OK, (await r.Owner.GetAsync($"/api/v1/funnels/{r.BFunnel.Key}")).StatusCode);
        }),
        // A's key reads A's kfactor rollup only: B's loop (an invite sent and joined today, rolled up) shows to B, never to A.
        new("GET", "/api/v1/analytics/kfactor", _ => "/api/v1/analytics/kfactor", null, async (response, r) =>
        {
            var report = await response.ReadOkAsync();
            Assert.Empty(report["loops"]!.AsArray());
            Assert.Empty(report["cohorts"]!.AsArray());
            Assert.Contains("b_isolation_loop", await r.Owner.GetStringAsync("/api/v1/analytics/kfactor"));
        }),
        // The /v1/metrics API (A's secret key; B's daily rollup has B's event): A sees only its own, empty, aggregates.
        new("GET", "/v1/metrics/summary", _ => "/v1/metrics/summary", null, async (response, r) =>
        {
            var summary = await response.ReadOkAsync();
            Assert.Equal(r.A.Workspace.Slug, summary.Str("workspace"));
            Assert.Equal(0, summary["last30Days"]!["events"]!.GetValue<long>());
            Assert.Empty(summary["topEvents"]!.AsArray());
            Assert.Contains(r.BEvents.Name, await r.Owner.GetStringAsync("/v1/metrics/summary"));
        }),
        new("GET", "/v1/metrics/daily", _ => "/v1/metrics/daily?window_days=366", null, async (response, r) =>
        {
            Assert.Empty((await response.ReadOkAsync()).AsArray());
            Assert.Contains(r.BEvents.Name, await r.Owner.GetStringAsync("/v1/metrics/daily?window_days=366"));
        }),
        new("GET", "/v1/metrics/experiments", r => $"/v1/metrics/experiments?experiment_id={r.BExperimentKey}", null, NotFound),
        new("GET", "/v1/metrics/funnels", r => $"/v1/metrics/funnels?funnel_name={r.BFunnel.Key}", null, NotFound),
        new("GET", "/api/v1/metrics/", _ => "/api/v1/metrics", null, ListExcludesOrEmpty(r => r.BMetric.Id)),
        new("GET", "/api/v1/metrics/{key}", r => $"/api/v1/metrics/{r.BMetric.Key}", null, NotFound),
        new("POST", "/api/v1/metrics/", _ => "/api/v1/metrics", new { key = "intruder-metric", name = "Intruder", type = "count", @event = "Intruded" }, async (response, r) =>
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.DoesNotContain("intruder-metric", await r.Owner.GetStringAsync("/api/v1/metrics"));
        }),
        new("PATCH", "/api/v1/metrics/{key}", r => $"/api/v1/metrics/{r.BMetric.Key}", new { name = "hijacked" }, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.DoesNotContain("hijacked", await r.Owner.GetStringAsync($"/api/v1/metrics/{r.BMetric.Key}"));
        }),
        new("DELETE", "/api/v1/metrics/{key}", r => $"/api/v1/metrics/{r.BMetric.Key}", null, async (response, r) =>
        {
            await NotFound(response, r);
            Assert.Equal(HttpStatusCode.OK, (await r.Owner.GetAsync($"/api/v1/metrics/{r.BMetric.Key}")).StatusCode);
        }),
    ];

    public static TheoryData<string> ProbeNames() => new(Probes.Select(p => $"{p.Method} {p.Route}"));

    [Fact]
    public void EveryManagementEndpoint_HasAnIsolationProbe()
    {
        var endpoints = Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/v1", StringComparison.Ordinal) == true || e.RoutePattern.RawText?.StartsWith("/v1/metrics", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => $"{m} {e.RoutePattern.RawText}"))
            .Order().ToList();
        Assert.Equal(Probes.Select(p => $"{p.Method} {p.Route}").Order(), endpoints);
    }

    [Theory]
    [MemberData(nameof(ProbeNames))]
    public async Task OtherWorkspacesResource_IsInvisible(string probeName)
    {
        var probe = Probes.Single(p => $"{p.Method} {p.Route}" == probeName);
        var resources = await ArrangeAsync();
        using var request = new HttpRequestMessage(new HttpMethod(probe.Method), probe.Url(resources));
        if (probe.Body is not null)
        {
            request.Content = JsonContent.Create(probe.Body);
        }

        using var response = await resources.Intruder.SendAsync(request);
        await probe.Check(response, resources);
    }

    private async Task<Resources> ArrangeAsync()
    {
        var a = await Server.CreateWorkspaceAsync();
        var b = await Server.CreateWorkspaceAsync();
        var owner = Server.NewClient(b.SecretKey);
        var key = await (await owner.PostAsJsonAsync("/api/v1/keys", new { kind = "secret", name = "b-only" })).ReadOkAsync();
        var member = await (await owner.PostAsJsonAsync("/api/v1/members", new { email = Infrastructure.Unique("b-member") + "@example.com", role = "editor" })).ReadOkAsync();
        var group = await (await owner.PostAsJsonAsync("/api/v1/saved-groups", new { key = Infrastructure.Unique("beta"), name = "Beta", type = "list", attributeKey = "id", values = new[] { "u1" } })).ReadOkAsync();
        var feature = await (await owner.PostAsJsonAsync("/api/v1/features", new { key = Infrastructure.Unique("b-flag"), valueType = "boolean", defaultValue = false })).ReadOkAsync();
        var holdout = await (await owner.PostAsJsonAsync("/api/v1/holdouts", new { key = Infrastructure.Unique("b-holdout"), name = "B holdout", percentage = 0.05 })).ReadOkAsync();
        var experimentKey = Infrastructure.Unique("b-test");
        var experiment = await (await owner.PostAsJsonAsync("/api/v1/experiments", new { key = experimentKey, name = "B test", variations = new object[] { new { key = "a" }, new { key = "b" } } })).ReadOkAsync();
        await (await owner.PostAsync($"/api/v1/experiments/{experimentKey}/start", null)).ReadOkAsync();
        var audit = await (await owner.GetAsync("/api/v1/audit?limit=1")).ReadOkAsync();
        var (userId, eventName) = (Infrastructure.Unique("b-user"), Infrastructure.Unique("B Event"));
        using var writer = Server.NewClient(b.ClientKey);
        await (await writer.PostAsJsonAsync("/v1/batch", new { batch = new object[] { new { type = "track", userId, @event = eventName }, new { type = "track", userId } } })).ReadOkAsync();
        var invite = new { loop = "b_isolation_loop", inviteId = Infrastructure.Unique("b-invite") };
        await (await writer.PostAsJsonAsync("/v1/batch", new { batch = new object[] { new { type = "track", userId, @event = "invite.sent", properties = invite }, new { type = "track", userId = userId + "-friend", @event = "invite.joined", properties = invite } } })).ReadOkAsync();
        await Server.WithServicesAsync(s => s.GetRequiredService<RollupRunner>().RunAsync(b.Workspace.Id, KFactorRollups.Name, null, CancellationToken.None));
        var stored = await (await owner.GetAsync($"/api/v1/events?userId={userId}")).ReadOkAsync();
        await Server.WithServicesAsync(s => s.GetRequiredService<Upswing.Analytics.RollupRunner>().RunAsync(b.Workspace.Id, Upswing.Analytics.RetentionRollups.Name, null, default));
        var quarantined = await (await owner.GetAsync("/api/v1/events/quarantine")).ReadOkAsync();
        var definition = await (await owner.PostAsJsonAsync("/api/v1/event-definitions", new { name = eventName })).ReadOkAsync();
        await (await owner.PutAsJsonAsync("/api/v1/events/settings", new { validation = "reject", allowUnplannedEvents = true })).ReadOkAsync();
        var jobQueue = Infrastructure.Unique("isolation");
        var jobs = Server.Services.GetRequiredService<JobQueue>();
        var waiting = await jobs.EnqueueAsync(new SleepJob(1), new EnqueueOptions { Queue = jobQueue, WorkspaceId = b.Workspace.Id });
        var cancelled = await jobs.EnqueueAsync(new SleepJob(1), new EnqueueOptions { Queue = jobQueue, WorkspaceId = b.Workspace.Id });
        await (await owner.PostAsync($"/api/v1/jobs/{cancelled.Id}/cancel", null)).ReadOkAsync();
        var metric = await (await owner.PostAsJsonAsync("/api/v1/metrics", new { key = Infrastructure.Unique("b-metric"), name = "B metric", type = "binomial", @event = eventName })).ReadOkAsync();
        var funnel = await (await owner.PostAsJsonAsync("/api/v1/funnels", new { key = Infrastructure.Unique("b-funnel"), name = "B funnel", steps = new[] { new { @event = eventName }, new { @event = "B Done" } } })).ReadOkAsync();
        await Server.WithServicesAsync(s => s.GetRequiredService<Upswing.Analytics.RollupRunner>().RunAsync(b.Workspace.Id, Upswing.Analytics.DailyMetricRollups.Name, 2, default));
        return new Resources(
            a, b, key["apiKey"]!.Str("id"), member["member"]!.Str("id"), audit[0]!.Str("id"), feature.Str("key"), feature.Str("id"), group.Str("id"),
            experimentKey, experiment.Str("id"), holdout.Str("key"), holdout.Str("id"), Server.NewClient(a.SecretKey), owner)
        {
            BEvents = (userId, eventName, stored[0]!.Str("id"), quarantined[0]!.Str("id"), definition.Str("id")),
            BJobs = (jobQueue, waiting.Id, cancelled.Id),
            BMetric = (metric.Str("key"), metric.Str("id")),
            BFunnel = (funnel.Str("key"), funnel.Str("id")),
        };
    }

    [Fact]
    public async Task Assignment_NeverReachesAnotherWorkspacesExperiment()
    {
        var r = await ArrangeAsync();
        using var intruder = Server.NewClient(r.A.ClientKey);
        var response = await intruder.PostAsJsonAsync("/v1/assignment", new { userId = "u1", experiments = new[] { r.BExperimentKey } });
        await NotFound(response, r);
        var all = await (await intruder.PostAsJsonAsync("/v1/assignment", new { userId = "u1" })).ReadOkAsync();
        Assert.Empty(all["assignments"]!.AsArray());
        var counts = await (await r.Owner.GetAsync($"/api/v1/experiments/{r.BExperimentKey}/assignments")).ReadOkAsync();
        Assert.Equal(0, counts["total"]!.GetValue<long>());
    }

    /// <summary>A's lifecycle call answered 404 and B's experiment is still there and running.</summary>
    private static async Task ExperimentStaysRunning(HttpResponseMessage response, Resources r)
    {
        await NotFound(response, r);
        Assert.Equal("running", (await (await r.Owner.GetAsync($"/api/v1/experiments/{r.BExperimentKey}")).ReadOkAsync()).Str("status"));
    }

    private static async Task NotFound(HttpResponseMessage response, Resources _)
    {
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("urn:upswing:problem:not-found", (await response.ReadAsync()).Str("type"));
    }

    private static Func<HttpResponseMessage, Resources, Task> ListExcludes(Func<Resources, string> id) => async (response, r) =>
    {
        var list = await response.ReadOkAsync();
        Assert.DoesNotContain(id(r), list.Ids());
        Assert.NotEmpty(list.AsArray());
    };

    // A's own list may be empty; what matters is that B's resource is not in it.
    private static Func<HttpResponseMessage, Resources, Task> ListExcludesOrEmpty(Func<Resources, string> id) => async (response, r) =>
        Assert.DoesNotContain(id(r), (await response.ReadOkAsync()).Ids());

    private static async Task KeyStillWorks(HttpResponseMessage response, Resources r)
    {
        await NotFound(response, r);
        var key = await (await r.Owner.GetAsync($"/api/v1/keys/{r.BKeyId}")).ReadOkAsync();
        Assert.Null(key["revokedAt"]);
    }
}

[Trait("Provider", "SQLite")]
public sealed class TenantIsolationOnSqlite(SqliteServerFixture fixture) : TenantIsolationContract(fixture), IClassFixture<SqliteServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class TenantIsolationOnPostgres(PostgresServerFixture fixture) : TenantIsolationContract(fixture), IClassFixture<PostgresServerFixture>;
