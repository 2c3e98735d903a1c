using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Upswing.Access;
using Upswing.Common;
using Upswing.Data;
using Upswing.Server.Hosting;
using Upswing.Workspaces;

namespace Upswing.TestKit;

/// <summary>A database for one test class: a fresh SQLite file or a fresh PostgreSQL database.</summary>
public sealed record TestDatabase(DatabaseProvider Provider, string? ConnectionString, string DataDir)
{
    public static TestDatabase Sqlite() =>
        new(DatabaseProvider.Sqlite, null, Path.Combine(Path.GetTempPath(), "upswing-test-" + Guid.NewGuid().ToString("N")[..10]));

    /// <summary>A database on the shared cluster; skips (or fails under CI) when PostgreSQL is missing.</summary>
    public static async Task<TestDatabase> PostgresAsync(string name)
    {
        var cluster = await PostgresCluster.SharedAsync();
        Infrastructure.Require(cluster is not null, PostgresCluster.UnavailableReason ?? "PostgreSQL unavailable");
        return new(DatabaseProvider.Postgres, await cluster!.CreateDatabaseAsync(name), Path.Combine(Path.GetTempPath(), "upswing-test-" + Guid.NewGuid().ToString("N")[..10]));
    }

    /// <summary>The same database as CLI arguments.</summary>
    public IReadOnlyList<string> CliArguments =>
        ConnectionString is null ? ["--data-dir", DataDir] : ["--data-dir", DataDir, "--database", ConnectionString];

    public IEnumerable<KeyValuePair<string, string?>> Settings()
    {
        yield return new("Data:DataDir", DataDir);
        if (ConnectionString is not null)
        {
            yield return new("Data:Database", ConnectionString);
        }
    }
}

/// <summary>
/// The real `upswing serve` host (same modules, middleware and endpoints) on a free loopback port,
/// with logs captured for assertions. HttpClient calls go through Kestrel like any client's.
/// </summary>
public sealed class UpswingTestServer : IAsyncDisposable
{
    private readonly WebApplication app;

    private UpswingTestServer(WebApplication app, Uri baseAddress, LogCapture logs, TestDatabase database)
    {
        this.app = app;
        BaseAddress = baseAddress;
        Logs = logs;
        Database = database;
        Client = NewClient();
    }

    public Uri BaseAddress { get; }

    public LogCapture Logs { get; }

    public TestDatabase Database { get; }

    /// <summary>An anonymous client.</summary>
    public HttpClient Client { get; }

    public IServiceProvider Services => app.Services;

    public static async Task<UpswingTestServer> StartAsync(TestDatabase database, IEnumerable<KeyValuePair<string, string?>>? settings = null, bool demo = false, bool autoMigrate = true, Action<WebApplication>? mapExtra = null, Action<IServiceCollection>? services = null)
    {
        var logs = new LogCapture();
        var overrides = database.Settings()
            .Append(new("Logging:LogLevel:Upswing", "Debug"))
            .Concat(settings ?? [])
            .Append(new("urls", "http://127.0.0.1:0"));
        var app = UpswingWebApp.Build(new CommandLineSettings(), new StartupOptions { AutoMigrate = autoMigrate, Demo = demo }, overrides, builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Logging.AddProvider(logs);
            services?.Invoke(builder.Services);
        }, mapExtra);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new UpswingTestServer(app, new Uri(address), logs, database);
    }

    public HttpClient NewClient(string? bearerKey = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (bearerKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearerKey);
        }

        return client;
    }

    /// <summary>Builder: a new workspace with a unique slug and a secret key for it.</summary>
    public async Task<TestWorkspace> CreateWorkspaceAsync(string? name = null)
    {
        await using var scope = Services.CreateAsyncScope();
        var workspaces = scope.ServiceProvider.GetRequiredService<WorkspaceService>();
        var slug = Infrastructure.Unique("ws");
        var owner = (await scope.ServiceProvider.GetRequiredService<UserService>().CreateAsync($"{slug}-owner@example.com", TestWorkspace.OwnerPassword, isAdmin: false, CancellationToken.None)).Value!;
        var workspace = (await workspaces.CreateAsync(name ?? slug, slug, Actor.Cli, owner.Id, CancellationToken.None)).Value!;
        var caller = new WorkspaceContext(workspace.Id, WorkspaceRole.Owner, Actor.Cli);
        var keys = scope.ServiceProvider.GetRequiredService<ApiKeyService>();
        var secret = (await keys.CreateAsync(caller, ApiKeyKind.Secret, null, "test secret", CancellationToken.None)).Value!;
        var client = (await keys.CreateAsync(caller, ApiKeyKind.Client, "production", "test client", CancellationToken.None)).Value!;
        return new TestWorkspace(workspace, secret.Key, client.Key, caller, owner);
    }

    /// <summary>Runs code against the server's services in a fresh scope.</summary>
    public async Task<T> WithServicesAsync<T>(Func<IServiceProvider, Task<T>> action)
    {
        await using var scope = Services.CreateAsyncScope();
        return await action(scope.ServiceProvider);
    }

    /// <summary>Stops the server but keeps its data, so another server can start on the same database.</summary>
    public async Task StopAsync()
    {
        Client.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
        if (Database.Provider == DatabaseProvider.Sqlite)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(Database.DataDir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}

/// <summary>A workspace made for one test, with its keys in plain text.</summary>
public sealed record TestWorkspace(WorkspaceDto Workspace, string SecretKey, string ClientKey, WorkspaceContext Owner, UserDto OwnerUser)
{
    public const string OwnerPassword = "owner-password";
}
