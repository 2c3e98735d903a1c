using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Upswing.Data;

/// <summary>
/// The per-provider seam for hand-written SQL on hot paths (ingestion, job claiming, rollups).
/// Everything else goes through EF Core. Keep this class small: one member per real difference.
/// </summary>
public abstract class SqlDialect
{
    public abstract DatabaseProvider Provider { get; }

    /// <summary>Opens a connection with the provider's session settings applied.</summary>
    public abstract Task<DbConnection> OpenConnectionAsync(CancellationToken ct);

    /// <summary>The row-lock clause appended to a claim query; SQLite has one writer, so it needs none.</summary>
    public abstract string ForUpdateSkipLocked { get; }


    /// <summary>
    /// Tells every node sharing the database that something changed (PostgreSQL NOTIFY, delivered after the
    /// caller's commit). A no-op on the embedded database, where there is only one node.
    /// </summary>
    public abstract Task NotifyAsync(string channel, string payload, CancellationToken ct);

    /// <summary>
    /// An INSERT that silently skips rows that collide with a unique constraint: the building block
    /// of idempotent writes (dedup on message ids, one job per unique key). Both providers spell it
    /// ON CONFLICT DO NOTHING; the method exists so callers never hand-roll it.
    /// </summary>
    public string InsertIgnoringConflicts(string table, IReadOnlyList<string> columns, string conflictColumns)
    {
        var names = string.Join(", ", columns);
        var values = string.Join(", ", columns.Select(c => "@" + c));
        return $"INSERT INTO {table} ({names}) VALUES ({values}) ON CONFLICT ({conflictColumns}) DO NOTHING";
    }
}

internal sealed class SqliteDialect(DatabaseOptions options, SqlitePragmas pragmas) : SqlDialect
{
    private readonly string connectionString = SqliteConnectionStrings.For(options);

    public override DatabaseProvider Provider => DatabaseProvider.Sqlite;

    public override string ForUpdateSkipLocked => string.Empty;


    public override Task NotifyAsync(string channel, string payload, CancellationToken ct) => Task.CompletedTask;

    public override async Task<DbConnection> OpenConnectionAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(ct);
        pragmas.Apply(connection);
        return connection;
    }
}

internal sealed class PostgresDialect(NpgsqlDataSource dataSource) : SqlDialect
{
    public override DatabaseProvider Provider => DatabaseProvider.Postgres;

    // SKIP LOCKED lets many workers claim different rows without waiting on each other's row locks.
    public override string ForUpdateSkipLocked => "FOR UPDATE SKIP LOCKED";


    public override async Task<DbConnection> OpenConnectionAsync(CancellationToken ct) =>
        await dataSource.OpenConnectionAsync(ct);

    public override async Task NotifyAsync(string channel, string payload, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT pg_notify(@channel, @payload)");
        command.Parameters.AddWithValue("channel", channel);
        command.Parameters.AddWithValue("payload", payload);
        await command.ExecuteNonQueryAsync(ct);
    }
}

internal static class SqliteConnectionStrings
{
    public static string For(DatabaseOptions options) => new SqliteConnectionStringBuilder
    {
        DataSource = options.SqlitePath,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Cache = SqliteCacheMode.Private,
        Pooling = true,
        DefaultTimeout = Math.Max(1, options.SqliteBusyTimeoutMs / 1000),
    }.ToString();
}
