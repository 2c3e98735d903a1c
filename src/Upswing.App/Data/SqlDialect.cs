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

    /// <summary>A GUID as a parameter value: EF Core's uppercase text on SQLite, uuid on PostgreSQL.</summary>
    public abstract object Value(Guid value);

    /// <summary>A point in time as a parameter value: Unix milliseconds on SQLite (see UpswingDb), timestamptz on PostgreSQL.</summary>
    public abstract object Value(DateTimeOffset value);

    /// <summary>A calendar day as a parameter value: EF Core's yyyy-MM-dd text on SQLite, date on PostgreSQL.</summary>
    public abstract object Value(DateOnly value);

    /// <summary>SQL for the UTC calendar day of a timestamp column, readable with <see cref="ReadDay"/>.</summary>
    public abstract string DayOf(string column);

    /// <summary>Reads a point in time written as <see cref="Value(DateTimeOffset)"/>.</summary>
    public abstract DateTimeOffset ReadTime(DbDataReader reader, int ordinal);

    /// <summary>Reads a calendar day written as <see cref="Value(DateOnly)"/>.</summary>
    public abstract DateOnly ReadDay(DbDataReader reader, int ordinal);

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

    public override object Value(Guid value) => value.ToString().ToUpperInvariant();

    public override object Value(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public override object Value(DateOnly value) => value.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    // Timestamps are Unix milliseconds; integer division truncates, which floors for every time after 1970.
    public override string DayOf(string column) => $"date({column} / 1000, 'unixepoch')";

    public override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    public override DateOnly ReadDay(DbDataReader reader, int ordinal) =>
        DateOnly.ParseExact(reader.GetString(ordinal), "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

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

    public override object Value(Guid value) => value;

    public override object Value(DateTimeOffset value) => value.ToUniversalTime();

    public override object Value(DateOnly value) => value;

    public override string DayOf(string column) => $"({column} AT TIME ZONE 'UTC')::date";

    public override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    public override DateOnly ReadDay(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateOnly>(ordinal);

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
