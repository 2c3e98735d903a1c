using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using Upswing.Data;
using Upswing.Events;

namespace Upswing.Analytics;

/// <summary>A workspace's track events of one name on one UTC day, and the distinct persons who did them (summed over the environments read, see <see cref="RollupEnvironment"/>).</summary>
public sealed record DailyMetricRow(DateOnly Day, string Event, long Events, long Users);

/// <summary>A row of <c>daily_metric_rollups</c>: <see cref="DailyMetricRow"/> of one environment bucket.</summary>
internal sealed record DailyMetricBucket(DateOnly Day, Guid Environment, string Event, long Events, long Users);

/// <summary>
/// The <c>daily</c> rollup: per workspace, UTC day, environment bucket and event name, the track events and the distinct persons (user ids,
/// with anonymous ids linked to a user counted as that user). The database aggregates (<see cref="RawEventReader.CountDailyAsync"/>);
/// verification counts the same events again in memory, a second, independent way.
/// </summary>
public sealed class DailyMetricRollups(RawEventReader events, SqlDialect dialect) : IRollup
{
    public const string Name = "daily";

    private bool Postgres => dialect.Provider == DatabaseProvider.Postgres;

    public Task<DateOnly?> EarliestDayAsync(Guid workspaceId, CancellationToken ct) => events.EarliestDayAsync(workspaceId, ct);

    public async Task<RollupWrite> WriteAsync(RollupWindow window, CancellationToken ct)
    {
        var counts = await events.CountDailyAsync(window.WorkspaceId, window.From, window.To, ct);
        var rows = counts.Select(c => new DailyMetricBucket(c.Day, c.Environment, c.Name, c.Events, c.Users))
            .OrderBy(r => r.Day).ThenBy(r => r.Environment).ThenBy(r => r.Event, StringComparer.Ordinal).ToList();
        await ReplaceAsync(window.WorkspaceId, window.From, window.To, rows, window.Now, ct);
        return new RollupWrite(rows.Count, window.From, window.To);
    }

    public async Task<IReadOnlyList<RollupDifference>> VerifyAsync(RollupWindow window, CancellationToken ct)
    {
        var computed = new Dictionary<(DateOnly Day, Guid Environment, string Event), (long Events, HashSet<string> Persons)>();
        await foreach (var e in events.ReadTrackAsync(window.WorkspaceId, null, window.Start, window.End, ct))
        {
            var key = (RollupWindow.DayOf(e.Timestamp), e.Environment, e.Name);
            if (!computed.TryGetValue(key, out var entry))
            {
                entry = (0, new HashSet<string>(StringComparer.Ordinal));
            }

            entry.Persons.Add(e.Person);
            computed[key] = (entry.Events + 1, entry.Persons);
        }

        var stored = (await ReadBucketsAsync(window.WorkspaceId, window.From, window.To, ct)).ToDictionary(r => (r.Day, r.Environment, r.Event));
        var differences = new List<RollupDifference>();
        foreach (var (key, value) in computed.OrderBy(c => c.Key.Day).ThenBy(c => c.Key.Environment).ThenBy(c => c.Key.Event, StringComparer.Ordinal))
        {
            var name = Describe(key.Day, key.Environment, key.Event);
            if (!stored.Remove(key, out var row))
            {
                differences.Add(new RollupDifference(name, "row", "missing", $"events={value.Events} users={value.Persons.Count}"));
                continue;
            }

            Compare(differences, name, "events", row.Events, value.Events);
            Compare(differences, name, "users", row.Users, value.Persons.Count);
        }

        differences.AddRange(stored.Values.Select(r => new RollupDifference(Describe(r.Day, r.Environment, r.Event), "row", $"events={r.Events} users={r.Users}", "none")));
        return differences;
    }

    /// <summary>
    /// The workspace's events and persons per day and event name of the days <paramref name="from"/>…<paramref name="to"/>,
    /// in the view of <paramref name="environmentId"/> (null: every environment; see <see cref="RollupEnvironment"/>), by day and event name (ordinal).
    /// </summary>
    public async Task<IReadOnlyList<DailyMetricRow>> ReadAsync(Guid workspaceId, DateOnly from, DateOnly to, Guid? environmentId, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        var orderByEvent = Postgres ? "event COLLATE \"C\"" : "event";
        // The primary key (workspace_id, day, environment_id, event) serves the range; the buckets of a day are summed.
        command.CommandText = "SELECT day, event, SUM(events), SUM(users) FROM daily_metric_rollups WHERE workspace_id = @workspace AND day >= @from AND day <= @to"
            + RollupEnvironment.Condition(command, dialect, "environment_id", environmentId) + $" GROUP BY day, event ORDER BY day, {orderByEvent}";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@from", dialect.Value(from));
        command.AddParameter("@to", dialect.Value(to));
        var rows = new List<DailyMetricRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new DailyMetricRow(dialect.ReadDay(reader, 0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3)));
        }

        return rows;
    }

    /// <summary>The stored rows of the days <paramref name="from"/>…<paramref name="to"/>, one per environment bucket.</summary>
    internal async Task<IReadOnlyList<DailyMetricBucket>> ReadBucketsAsync(Guid workspaceId, DateOnly from, DateOnly to, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT day, environment_id, event, events, users FROM daily_metric_rollups WHERE workspace_id = @workspace AND day >= @from AND day <= @to";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@from", dialect.Value(from));
        command.AddParameter("@to", dialect.Value(to));
        var rows = new List<DailyMetricBucket>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new DailyMetricBucket(dialect.ReadDay(reader, 0), reader.GetGuid(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4)));
        }

        return rows;
    }

    /// <summary>Replaces the workspace's rows of the days <paramref name="from"/>…<paramref name="to"/> with <paramref name="rows"/>, in one transaction.</summary>
    internal async Task ReplaceAsync(Guid workspaceId, DateOnly from, DateOnly to, IReadOnlyList<DailyMetricBucket> rows, DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var delete = connection.CreateCommand())
        {
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM daily_metric_rollups WHERE workspace_id = @workspace AND day >= @from AND day <= @to";
            delete.AddParameter("@workspace", dialect.Value(workspaceId));
            delete.AddParameter("@from", dialect.Value(from));
            delete.AddParameter("@to", dialect.Value(to));
            await delete.ExecuteNonQueryAsync(ct);
        }

        // ON CONFLICT DO UPDATE rather than a plain insert: a concurrent run of the same window (the CLI beside the server)
        // may commit its rows between this delete and this insert; the later writer's equal rows then win instead of failing.
        const string Upsert = "ON CONFLICT (workspace_id, day, environment_id, event) DO UPDATE SET events = excluded.events, users = excluded.users, computed_at = excluded.computed_at";
        if (Postgres)
        {
            foreach (var chunk in rows.Chunk(5000))
            {
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO daily_metric_rollups (workspace_id, day, environment_id, event, events, users, computed_at) " +
                    $"SELECT @workspace, t.*, @now FROM unnest(@day, @environment, @event, @events, @users) AS t {Upsert}",
                    (NpgsqlConnection)connection, (NpgsqlTransaction)transaction);
                insert.Parameters.Add(new NpgsqlParameter<Guid>("workspace", NpgsqlDbType.Uuid) { TypedValue = workspaceId });
                insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", NpgsqlDbType.TimestampTz) { TypedValue = now.ToUniversalTime() });
                insert.Parameters.Add(new NpgsqlParameter<DateOnly[]>("day", NpgsqlDbType.Array | NpgsqlDbType.Date) { TypedValue = [.. chunk.Select(r => r.Day)] });
                insert.Parameters.Add(new NpgsqlParameter<Guid[]>("environment", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = [.. chunk.Select(r => r.Environment)] });
                insert.Parameters.Add(new NpgsqlParameter<string[]>("event", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. chunk.Select(r => r.Event)] });
                insert.Parameters.Add(new NpgsqlParameter<long[]>("events", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. chunk.Select(r => r.Events)] });
                insert.Parameters.Add(new NpgsqlParameter<long[]>("users", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. chunk.Select(r => r.Users)] });
                await insert.ExecuteNonQueryAsync(ct);
            }
        }
        else
        {
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = $"INSERT INTO daily_metric_rollups (workspace_id, day, environment_id, event, events, users, computed_at) VALUES (@workspace, @day, @environment, @event, @events, @users, @now) {Upsert}";
            insert.AddParameter("@workspace", dialect.Value(workspaceId));
            insert.AddParameter("@now", dialect.Value(now));
            var (day, environment, name) = (insert.AddParameter("@day"), insert.AddParameter("@environment"), insert.AddParameter("@event"));
            var (count, users) = (insert.AddParameter("@events"), insert.AddParameter("@users"));
            foreach (var row in rows)
            {
                (day.Value, environment.Value, name.Value, count.Value, users.Value) = (dialect.Value(row.Day), dialect.Value(row.Environment), row.Event, row.Events, row.Users);
                await insert.ExecuteNonQueryAsync(ct);
            }
        }

        await transaction.CommitAsync(ct);
    }

    private static string Describe(DateOnly day, Guid environment, string name) =>
        environment == RollupEnvironment.None ? $"{day:yyyy-MM-dd} {name}" : $"{day:yyyy-MM-dd} {name} (environment {environment})";

    private static void Compare(List<RollupDifference> differences, string row, string column, long stored, long computed)
    {
        if (stored != computed)
        {
            differences.Add(new RollupDifference(row, column, stored.ToString(CultureInfo.InvariantCulture), computed.ToString(CultureInfo.InvariantCulture)));
        }
    }
}
