using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Upswing.Bench.Ingest;

/// <summary>
/// The physical limit for ingestion: the rows the HTTP run stores, written by a plain program with nothing in between
/// (no HTTP, no JSON parsing, no dedup lookups, no counters), into a table identical to <c>events</c>.
/// </summary>
internal static class RawInsert
{
    private static readonly string[] Columns =
    [
        "id", "workspace_id", "environment_id", "message_id", "type", "name", "user_id", "anonymous_id", "group_id", "previous_id",
        "timestamp", "received_at", "sent_at", "original_timestamp", "properties", "context", "traits", "experiments",
    ];

    private sealed record Row(Guid Id, string MessageId, string Name, string UserId, DateTimeOffset Time, string Properties);

    private static List<Row> Rows(int count)
    {
        var now = TimeProvider.System.GetUtcNow();
        var rows = new List<Row>(count);
        for (var n = 0; n < count; n++)
        {
            rows.Add(new Row(Guid.CreateVersion7(now), BenchEvents.MessageId("raw", n / 100, (int)(n % 100)), BenchEvents.Name(n), BenchEvents.UserId(n), now, BenchEvents.Properties(n)));
        }

        return rows;
    }

    /// <summary>One transaction, one prepared statement, WAL and synchronous=FULL (what the server's writer commits with).</summary>
    public static async Task<int> SqliteAsync(Options options, CancellationToken ct)
    {
        var schemaFrom = options.Require("schema-from");
        var count = options.Int("rows", 200_000);
        var dir = options.Get("dir") ?? Path.Combine(Path.GetTempPath(), "upswing-raw-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "raw.db");

        var ddl = new List<string>();
        await using (var source = new SqliteConnection($"Data Source={schemaFrom};Mode=ReadOnly;Pooling=false"))
        {
            await source.OpenAsync(ct);
            await using var read = source.CreateCommand();
            // The table and every index on it, exactly as the migrations made them.
            read.CommandText = "SELECT sql FROM sqlite_master WHERE tbl_name = 'events' AND sql IS NOT NULL ORDER BY type DESC";
            await using var reader = await read.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                ddl.Add(reader.GetString(0));
            }
        }

        var rows = Rows(count);
        var workspace = Guid.CreateVersion7().ToString().ToUpperInvariant();
        var environment = Guid.CreateVersion7().ToString().ToUpperInvariant();
        await using var db = new SqliteConnection($"Data Source={file};Pooling=false");
        await db.OpenAsync(ct);
        await using (var setup = db.CreateCommand())
        {
            setup.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; " + string.Join(";\n", ddl);
            await setup.ExecuteNonQueryAsync(ct);
        }

        var started = Stopwatch.GetTimestamp();
        await using (var transaction = (SqliteTransaction)await db.BeginTransactionAsync(ct))
        {
            await using var insert = db.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = $"INSERT INTO events ({string.Join(", ", Columns)}) VALUES ({string.Join(", ", Columns.Select(c => "@" + c))})";
            foreach (var column in Columns)
            {
                insert.Parameters.Add(new SqliteParameter { ParameterName = "@" + column });
            }

            insert.Prepare();
            var p = insert.Parameters;
            foreach (var row in rows)
            {
                var millis = row.Time.ToUnixTimeMilliseconds();
                p[0].Value = row.Id.ToString().ToUpperInvariant();
                p[1].Value = workspace;
                p[2].Value = environment;
                p[3].Value = row.MessageId;
                p[4].Value = BenchEvents.Type;
                p[5].Value = row.Name;
                p[6].Value = row.UserId;
                p[7].Value = DBNull.Value;
                p[8].Value = DBNull.Value;
                p[9].Value = DBNull.Value;
                p[10].Value = millis;
                p[11].Value = millis;
                p[12].Value = millis;
                p[13].Value = millis;
                p[14].Value = row.Properties;
                p[15].Value = BenchEvents.Context;
                p[16].Value = DBNull.Value;
                p[17].Value = DBNull.Value;
                await insert.ExecuteNonQueryAsync(ct);
            }

            await transaction.CommitAsync(ct);
        }

        Report("sqlite", count, started, $"indexes: {ddl.Count - 1}");
        SqliteConnection.ClearAllPools();
        if (options.Get("dir") is null)
        {
            Directory.Delete(dir, recursive: true);
        }

        return 0;
    }

    /// <summary>Binary COPY into a table LIKE events (a plain table, not partitioned), with the same indexes or none.</summary>
    public static async Task<int> PostgresAsync(Options options, CancellationToken ct)
    {
        var count = options.Int("rows", 200_000);
        var indexes = options.Get("indexes") ?? "same";
        var rows = Rows(count);
        var workspace = Guid.CreateVersion7();
        var environment = Guid.CreateVersion7();
        await using var db = new NpgsqlConnection(options.Require("database"));
        await db.OpenAsync(ct);
        await using (var setup = db.CreateCommand())
        {
            // INCLUDING INDEXES copies the partitioned table's indexes (workspace/user/anonymous id by timestamp and the key).
            setup.CommandText = "DROP TABLE IF EXISTS bench_raw_events; " +
                (indexes == "none" ? "CREATE TABLE bench_raw_events (LIKE events INCLUDING DEFAULTS)" : "CREATE TABLE bench_raw_events (LIKE events INCLUDING DEFAULTS INCLUDING INDEXES)");
            await setup.ExecuteNonQueryAsync(ct);
            setup.CommandText = "SELECT count(*) FROM pg_indexes WHERE tablename = 'bench_raw_events'";
            indexes = $"indexes: {await setup.ExecuteScalarAsync(ct)}";
        }

        var started = Stopwatch.GetTimestamp();
        await using (var copy = await db.BeginBinaryImportAsync($"COPY bench_raw_events ({string.Join(", ", Columns)}) FROM STDIN (FORMAT BINARY)", ct))
        {
            foreach (var row in rows)
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(row.Id, NpgsqlDbType.Uuid, ct);
                await copy.WriteAsync(workspace, NpgsqlDbType.Uuid, ct);
                await copy.WriteAsync(environment, NpgsqlDbType.Uuid, ct);
                await copy.WriteAsync(row.MessageId, NpgsqlDbType.Text, ct);
                await copy.WriteAsync(BenchEvents.Type, NpgsqlDbType.Text, ct);
                await copy.WriteAsync(row.Name, NpgsqlDbType.Text, ct);
                await copy.WriteAsync(row.UserId, NpgsqlDbType.Text, ct);
                await copy.WriteNullAsync(ct);
                await copy.WriteNullAsync(ct);
                await copy.WriteNullAsync(ct);
                await copy.WriteAsync(row.Time, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(row.Time, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(row.Time, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(row.Time, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(row.Properties, NpgsqlDbType.Jsonb, ct);
                await copy.WriteAsync(BenchEvents.Context, NpgsqlDbType.Jsonb, ct);
                await copy.WriteNullAsync(ct);
                await copy.WriteNullAsync(ct);
            }

            await copy.CompleteAsync(ct);
        }

        Report("postgres", count, started, indexes);
        await using (var drop = new NpgsqlCommand("DROP TABLE bench_raw_events", db))
        {
            await drop.ExecuteNonQueryAsync(ct);
        }

        return 0;
    }

    private static void Report(string provider, int count, long started, string note)
    {
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $$"""{"provider":"{{provider}}","rows":{{count}},"seconds":{{seconds:0.000}},"rowsPerSecond":{{count / seconds:0}},"note":"{{note}}"}"""));
    }
}
