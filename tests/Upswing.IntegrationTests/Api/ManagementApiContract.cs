using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Access;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Api;

/// <summary>The management API's behaviour, written once and run on SQLite and on PostgreSQL.</summary>
public abstract class ManagementApiContract(ServerFixture fixture)
{
    private UpswingTestServer Server => fixture.Server;

    [Fact]
    public async Task CreateKey_ShowsTheKeyOnce_AndListsOnlyItsPrefix()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var created = await (await api.PostAsJsonAsync("/api/v1/keys", new { kind = "client", environment = "development", name = "Mobile app" })).ReadOkAsync();
        var key = created.Str("key");
        Assert.StartsWith(ApiKeyService.ClientPrefix, key);
        var dto = created["apiKey"]!;
        Assert.Equal("development", dto.Str("environment"));
        Assert.Equal(key[..12], dto.Str("prefix"));

        var listText = await api.GetStringAsync("/api/v1/keys");
        Assert.DoesNotContain(key, listText);
        Assert.Contains(dto.Str("prefix"), listText);
    }

    [Fact]
    public async Task RevokedKey_IsRejectedAtOnce()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var admin = Server.NewClient(ws.SecretKey);
        var second = (await (await admin.PostAsJsonAsync("/api/v1/keys", new { kind = "secret", name = "to revoke" })).ReadOkAsync());
        using var doomed = Server.NewClient(second.Str("key"));
        Assert.Equal(HttpStatusCode.OK, (await doomed.GetAsync("/api/v1/workspaces")).StatusCode);

        var revoked = await (await admin.PostAsync($"/api/v1/keys/{second["apiKey"]!.Str("id")}/revoke", null)).ReadOkAsync();
        Assert.NotNull(revoked["revokedAt"]);
        var after = await doomed.GetAsync("/api/v1/workspaces");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Equal("application/problem+json", after.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task KeyRevokedByAnotherNode_IsRejectedWithinTheCacheLifetime()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/workspaces")).StatusCode);
        // Another node revokes it: straight in the shared database, this node's cache is not told.
        await Server.WithServicesAsync(async sp =>
        {
            var db = sp.GetRequiredService<Upswing.Data.UpswingDb>();
            return await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.ExecuteUpdateAsync(
                db.ApiKeys.Where(k => k.WorkspaceId == ws.Workspace.Id),
                s => s.SetProperty(k => k.RevokedAt, DateTimeOffset.UnixEpoch));
        });
        await Infrastructure.WaitUntilAsync(
            async () => (await api.GetAsync("/api/v1/workspaces")).StatusCode == HttpStatusCode.Unauthorized,
            ApiKeyCache.TimeToLive + TimeSpan.FromSeconds(5), "the revoked key to be rejected");
    }

    [Fact]
    public async Task UsingAKey_RecordsWhenItWasLastUsed()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        await api.GetAsync("/api/v1/workspaces");
        // Written in the background, off the request path.
        JsonNode keys = new JsonArray();
        await Infrastructure.WaitUntilAsync(async () =>
        {
            keys = await (await api.GetAsync("/api/v1/keys")).ReadOkAsync();
            return keys.AsArray().Single(k => k!.Str("kind") == "secret")!["lastUsedAt"] is not null;
        }, TimeSpan.FromSeconds(10), "the secret key's last use to be recorded");
        var client = keys.AsArray().Single(k => k!.Str("kind") == "client")!;
        Assert.Null(client["lastUsedAt"]);
    }

    [Fact]
    public async Task ClientKey_CannotCallTheManagementApi()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.ClientKey);
        var response = await api.GetAsync("/api/v1/keys");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("urn:upswing:problem:forbidden", (await response.ReadAsync()).Str("type"));
    }

    [Fact]
    public async Task BasicAuth_WithTheKeyAsUserName_Authenticates()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient();
        api.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(ws.SecretKey + ":")));
        var workspaces = await (await api.GetAsync("/api/v1/workspaces")).ReadOkAsync();
        Assert.Equal(ws.Workspace.Slug, workspaces[0]!.Str("slug"));
    }

    [Fact]
    public async Task CreateWorkspace_WithAKey_MakesASiblingWithTheSameOwnersAndItsOwnKey()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var slug = Infrastructure.Unique("sibling");
        var response = await api.PostAsJsonAsync("/api/v1/workspaces", new { name = "Client B", slug });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.ReadAsync();
        Assert.Equal(slug, created["workspace"]!.Str("slug"));
        Assert.Equal(["production", "development"], created["workspace"]!["environments"]!.AsArray().Select(e => e!.Str("key")));

        using var sibling = Server.NewClient(created.Str("secretKey"));
        var owners = await (await sibling.GetAsync("/api/v1/members")).ReadOkAsync();
        Assert.Equal(ws.OwnerUser.Email, Assert.Single(owners.AsArray())!.Str("email"));
        Assert.Equal("owner", owners[0]!.Str("role"));
        var audit = (await (await sibling.GetAsync("/api/v1/audit")).ReadOkAsync()).AsArray().Select(a => a!.Str("action")).ToList();
        Assert.Equal(["key.created", "member.added", "workspace.created"], audit);

        // The creating key still sees only its own workspace.
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/v1/workspaces/{slug}")).StatusCode);
        var taken = await api.PostAsJsonAsync("/api/v1/workspaces", new { name = "Again", slug });
        Assert.Equal(HttpStatusCode.Conflict, taken.StatusCode);
    }

    [Fact]
    public async Task UpdateWorkspace_RenamesAndRejectsATakenSlug()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var other = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var newSlug = Infrastructure.Unique("renamed");
        var updated = await (await api.PatchJsonAsync($"/api/v1/workspaces/{ws.Workspace.Id}", new { name = "Renamed", slug = newSlug })).ReadOkAsync();
        Assert.Equal(("Renamed", newSlug), (updated.Str("name"), updated.Str("slug")));

        var conflict = await api.PatchJsonAsync($"/api/v1/workspaces/{newSlug}", new { slug = other.Workspace.Slug });
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
    }

    [Fact]
    public async Task Invite_NewPerson_GetsAnInvitationLinkThatSetsTheirPassword()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var email = Infrastructure.Unique("invitee") + "@example.com";
        var invited = await (await api.PostAsJsonAsync("/api/v1/members", new { email, role = "editor" })).ReadOkAsync();
        Assert.True(invited["member"]!["pending"]!.GetValue<bool>());
        var url = invited.Str("inviteUrl");
        var token = url[(url.LastIndexOf('/') + 1)..];

        var signedIn = await Server.WithServicesAsync(async sp =>
        {
            var users = sp.GetRequiredService<UserService>();
            Assert.Null(await users.SignInAsync(email, "chosen-password", CancellationToken.None));
            Assert.True((await users.AcceptInviteAsync(token, "chosen-password", CancellationToken.None)).Succeeded);
            Assert.False((await users.AcceptInviteAsync(token, "another-password", CancellationToken.None)).Succeeded);
            return await users.SignInAsync(email, "chosen-password", CancellationToken.None);
        });
        Assert.NotNull(signedIn);
        var members = await (await api.GetAsync("/api/v1/members")).ReadOkAsync();
        Assert.False(members.AsArray().Single(m => m!.Str("email") == email)!["pending"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Members_RoleChangesAndRemoval_KeepAtLeastOneOwner()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var ownerEmail = Infrastructure.Unique("owner") + "@example.com";
        var ownerMembership = await Server.WithServicesAsync(async sp =>
            (await sp.GetRequiredService<MemberService>().InviteAsync(ws.Owner, ownerEmail, WorkspaceRole.Owner, CancellationToken.None)).Value!.Member);
        using var api = Server.NewClient(ws.SecretKey);

        // A key acts as an admin: it cannot take ownership away.
        Assert.Equal(HttpStatusCode.Forbidden, (await api.PatchJsonAsync($"/api/v1/members/{ownerMembership.Id}", new { role = "viewer" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await api.DeleteAsync($"/api/v1/members/{ownerMembership.Id}")).StatusCode);

        // Two owners: one may step down; the last one may not.
        var originalOwner = (await (await api.GetAsync("/api/v1/members")).ReadOkAsync()).AsArray().Single(m => m!.Str("email") == ws.OwnerUser.Email)!.Str("id");
        var (stepDown, lastOwner) = await Server.WithServicesAsync(async sp =>
        {
            var members = sp.GetRequiredService<MemberService>();
            var first = await members.ChangeRoleAsync(ws.Owner, ownerMembership.Id, WorkspaceRole.Viewer, CancellationToken.None);
            var second = await members.ChangeRoleAsync(ws.Owner, Guid.Parse(originalOwner), WorkspaceRole.Admin, CancellationToken.None);
            return (first, second);
        });
        Assert.True(stepDown.Succeeded);
        Assert.Equal(Upswing.Common.FailureKind.Conflict, lastOwner.Failure?.Kind);
        Assert.Equal(HttpStatusCode.Conflict, (await Server.WithServicesAsync(async sp =>
            await sp.GetRequiredService<MemberService>().RemoveAsync(ws.Owner, Guid.Parse(originalOwner), CancellationToken.None))).Failure!.Kind switch
        {
            Upswing.Common.FailureKind.Conflict => HttpStatusCode.Conflict,
            _ => HttpStatusCode.OK,
        });

        var editor = await (await api.PostAsJsonAsync("/api/v1/members", new { email = Infrastructure.Unique("ed") + "@example.com", role = "editor" })).ReadOkAsync();
        var memberId = editor["member"]!.Str("id");
        var changed = await (await api.PatchJsonAsync($"/api/v1/members/{memberId}", new { role = "viewer" })).ReadOkAsync();
        Assert.Equal("viewer", changed.Str("role"));
        Assert.Equal(HttpStatusCode.OK, (await api.DeleteAsync($"/api/v1/members/{memberId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/v1/members/{memberId}")).StatusCode);
    }

    [Fact]
    public async Task EveryWrite_AppendsAnAuditEntry_WithBeforeAndAfter()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        await api.PatchJsonAsync($"/api/v1/workspaces/{ws.Workspace.Id}", new { name = "Audited name" });
        var key = await (await api.PostAsJsonAsync("/api/v1/keys", new { kind = "secret" })).ReadOkAsync();
        await api.DeleteAsync($"/api/v1/keys/{key["apiKey"]!.Str("id")}");

        var entries = await (await api.GetAsync("/api/v1/audit")).ReadOkAsync();
        var actions = entries.AsArray().Select(e => e!.Str("action")).ToList();
        Assert.Equal(["key.revoked", "key.created", "workspace.updated", "key.created", "key.created", "workspace.created"], actions);
        var update = entries.AsArray().Single(e => e!.Str("action") == "workspace.updated")!;
        Assert.Equal(ws.Workspace.Name, update["before"]!["name"]!.GetValue<string>());
        Assert.Equal("Audited name", update["after"]!["name"]!.GetValue<string>());
        Assert.Equal("key", update.Str("actorType"));
        Assert.False(string.IsNullOrEmpty(update.Str("requestId")));

        var filtered = await (await api.GetAsync("/api/v1/audit?action=key.revoked")).ReadOkAsync();
        Assert.Single(filtered.AsArray());
        var one = await (await api.GetAsync($"/api/v1/audit/{filtered[0]!.Str("id")}")).ReadOkAsync();
        Assert.Equal("key.revoked", one.Str("action"));
    }

    [Fact]
    public async Task AuditSnapshots_AreReadable_EnumsByName()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var invited = await (await api.PostAsJsonAsync("/api/v1/members", new { email = Infrastructure.Unique("r") + "@example.com", role = "editor" })).ReadOkAsync();
        await api.PatchJsonAsync($"/api/v1/members/{invited["member"]!.Str("id")}", new { role = "viewer" });
        await api.PatchJsonAsync($"/api/v1/workspaces/{ws.Workspace.Id}", new { name = "Café — Growth" });
        var change = (await (await api.GetAsync("/api/v1/audit?action=member.role_changed")).ReadOkAsync())[0]!;
        Assert.Equal("editor", change["before"]!["role"]!.GetValue<string>());
        Assert.Equal("viewer", change["after"]!["role"]!.GetValue<string>());
        var stored = await Server.WithServicesAsync(async sp =>
        {
            var db = sp.GetRequiredService<Upswing.Data.UpswingDb>();
            return await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.SingleAsync(
                db.AuditEntries.Where(a => a.WorkspaceId == ws.Workspace.Id && a.Action == "workspace.updated").Select(a => a.After!));
        });
        Assert.Contains("Café — Growth", stored);
    }

    [Fact]
    public async Task AuditEntry_NeverContainsTheKeyItself()
    {
        var ws = await Server.CreateWorkspaceAsync();
        using var api = Server.NewClient(ws.SecretKey);
        var key = (await (await api.PostAsJsonAsync("/api/v1/keys", new { kind = "secret" })).ReadOkAsync()).Str("key");
        var audit = await api.GetStringAsync("/api/v1/audit");
        Assert.DoesNotContain(key, audit);
        Assert.DoesNotContain(ws.SecretKey, audit);
    }
}

[Trait("Provider", "SQLite")]
public sealed class ManagementApiOnSqlite(SqliteServerFixture fixture) : ManagementApiContract(fixture), IClassFixture<SqliteServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class ManagementApiOnPostgres(PostgresServerFixture fixture) : ManagementApiContract(fixture), IClassFixture<PostgresServerFixture>;
