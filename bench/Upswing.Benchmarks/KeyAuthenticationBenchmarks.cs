using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Upswing.Access;
using Upswing.Common;
using Upswing.Data;
using Upswing.Workspaces;

namespace Upswing.Benchmarks;

/// <summary>
/// What every authenticated request pays before its handler runs: hash the presented key and look it up
/// (SQLite, WAL, indexed by hash), in a fresh DI scope as a request would.
/// </summary>
[MemoryDiagnoser]
public class KeyAuthenticationBenchmarks
{
    private IHost host = null!;
    private string key = null!;
    private string dataDir = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        dataDir = Path.Combine(Path.GetTempPath(), "upswing-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = true });
        builder.Configuration["Data:DataDir"] = dataDir;
        builder.AddUpswingModules();
        host = builder.Build();
        key = await SeedAsync();
    }

    private async Task<string> SeedAsync()
    {
        await using var scope = host.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<DatabaseMigrator>().MigrateAsync(CancellationToken.None);
        var workspace = (await scope.ServiceProvider.GetRequiredService<WorkspaceService>().CreateAsync("Bench", "bench", Actor.Cli, null, CancellationToken.None)).Value!;
        var caller = new WorkspaceContext(workspace.Id, WorkspaceRole.Owner, Actor.Cli);
        var keys = scope.ServiceProvider.GetRequiredService<ApiKeyService>();
        for (var i = 0; i < 1000; i++)
        {
            await keys.CreateAsync(caller, ApiKeyKind.Client, "production", $"noise {i}", CancellationToken.None);
        }

        var secret = (await keys.CreateAsync(caller, ApiKeyKind.Secret, null, "bench", CancellationToken.None)).Value!.Key;
        await keys.AuthenticateAsync(secret, CancellationToken.None);
        return secret;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        host.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(dataDir, recursive: true);
    }

    [Benchmark(Description = "SHA-256 of a key")]
    public string HashKey() => Secrets.Sha256Hex(key);

    [Benchmark(Description = "authenticate, cache hit (hash + lookup, as the auth handler does)")]
    public KeyIdentity? AuthenticateCached() =>
        host.Services.GetRequiredService<ApiKeyCache>().Get(Secrets.Sha256Hex(key));

    [Benchmark(Description = "authenticate, cache hit with the remembered hash (what KeyLookup does per request)")]
    public KeyIdentity? AuthenticateRemembered()
    {
        var cache = host.Services.GetRequiredService<ApiKeyCache>();
        return cache.Get(cache.HashOf(key));
    }

    [Benchmark(Description = "authenticate through the service (scope + DbContext + cache)")]
    public async Task<KeyIdentity?> Authenticate()
    {
        await using var scope = host.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ApiKeyService>().AuthenticateAsync(key, CancellationToken.None);
    }
}
