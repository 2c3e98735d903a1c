using Upswing.TestKit;

namespace Upswing.IntegrationTests;

/// <summary>One real server per test class, on the provider the subclass names.</summary>
public abstract class ServerFixture : IAsyncLifetime
{
    private UpswingTestServer? server;
    private string? unavailable;

    /// <summary>The running server; skips the test (fails it under CI) when the provider is not installed.</summary>
    public UpswingTestServer Server
    {
        get
        {
            Infrastructure.Require(server is not null, unavailable ?? "server not started");
            return server!;
        }
    }

    public abstract string ProviderName { get; }

    /// <summary>Configuration for this fixture's server, on top of the test defaults.</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>>? Settings => null;

    /// <summary>Services added after the server's own (later registrations win).</summary>
    protected virtual void ConfigureServices(Microsoft.Extensions.DependencyInjection.IServiceCollection services)
    {
    }

    public async ValueTask InitializeAsync()
    {
        var database = await CreateDatabaseAsync();
        if (database is null)
        {
            unavailable = PostgresCluster.UnavailableReason;
            return;
        }

        server = await UpswingTestServer.StartAsync(database, Settings, services: ConfigureServices);
    }

    public async ValueTask DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    protected abstract Task<TestDatabase?> CreateDatabaseAsync();
}

public sealed class SqliteServerFixture : ServerFixture
{
    public override string ProviderName => "SQLite";

    protected override Task<TestDatabase?> CreateDatabaseAsync() => Task.FromResult<TestDatabase?>(TestDatabase.Sqlite());
}

public sealed class PostgresServerFixture : ServerFixture
{
    public override string ProviderName => "PostgreSQL";

    protected override Task<TestDatabase?> CreateDatabaseAsync() => PostgresDatabaseAsync(GetType().Name);

    /// <summary>A database named after the fixture on the shared cluster; null when PostgreSQL is not installed.</summary>
    internal static async Task<TestDatabase?> PostgresDatabaseAsync(string name)
    {
        var cluster = await PostgresCluster.SharedAsync();
        return cluster is null ? null : new TestDatabase(Upswing.Data.DatabaseProvider.Postgres, await cluster.CreateDatabaseAsync(name), TestDatabase.Sqlite().DataDir);
    }
}
