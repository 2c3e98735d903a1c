using System.Globalization;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Upswing.Common;
using Upswing.Experiments;

namespace Upswing.Events;

/// <summary>
/// PostgreSQL's writer. Each group is streamed with binary COPY into a session-local staging table, then moved
/// into the day-partitioned events table by one INSERT … SELECT that skips message ids already stored (the
/// event_message_ids table, since a unique index on a partitioned table would have to include the day). The
/// connection is held by the single writer loop so its staging table lives as long as it does.
/// </summary>
internal sealed class PostgresEventStore(NpgsqlDataSource dataSource, AssignmentHistory assignments, ExposureRecorder exposures, TimeProvider time) : EventStore(assignments, exposures)
{
    private const string Columns =
        "id, workspace_id, environment_id, message_id, type, name, user_id, anonymous_id, group_id, previous_id, " +
        "timestamp, received_at, sent_at, original_timestamp, properties, context, traits, experiments";

    // ON COMMIT DELETE ROWS: the staging rows vanish with each commit, and nothing else ever reads them.
    private const string CreateStaging = $"""
        CREATE TEMP TABLE IF NOT EXISTS incoming_events (
            seq int NOT NULL, id uuid NOT NULL, workspace_id uuid NOT NULL, environment_id uuid, message_id text NOT NULL,
            type text NOT NULL, name text, user_id text, anonymous_id text, group_id text, previous_id text,
            timestamp timestamptz NOT NULL, received_at timestamptz NOT NULL, sent_at timestamptz, original_timestamp timestamptz,
            properties jsonb, context jsonb, traits jsonb, experiments jsonb
        ) ON COMMIT DELETE ROWS
        """;

    // A message id already stored, or repeated within the group, is skipped; within a group the first copy wins.
    private const string MoveStaged = $"""
        WITH fresh AS (
            INSERT INTO event_message_ids (workspace_id, message_id, timestamp)
            SELECT DISTINCT ON (workspace_id, message_id) workspace_id, message_id, timestamp
            FROM incoming_events ORDER BY workspace_id, message_id, seq
            ON CONFLICT DO NOTHING
            RETURNING workspace_id, message_id)
        INSERT INTO events ({Columns})
        SELECT DISTINCT ON (i.workspace_id, i.message_id) i.id, i.workspace_id, i.environment_id, i.message_id, i.type, i.name,
            i.user_id, i.anonymous_id, i.group_id, i.previous_id, i.timestamp, i.received_at, i.sent_at, i.original_timestamp,
            i.properties, i.context, i.traits, i.experiments
        FROM incoming_events i JOIN fresh f ON f.workspace_id = i.workspace_id AND f.message_id = i.message_id
        ORDER BY i.workspace_id, i.message_id, i.seq
        RETURNING workspace_id, message_id
        """;

    private readonly HashSet<DateOnly> partitions = [];
    private NpgsqlConnection? connection;

    public override async Task WriteAsync(IReadOnlyList<PendingWrite> group, CancellationToken ct)
    {
        var db = await OpenAsync(ct);
        try
        {
            await EnsurePartitionsAsync(db, group, ct);
            await using var transaction = await db.BeginTransactionAsync(ct);
            await EnrichAsync(db, transaction, group, ct);
            var firstCopy = await StageAsync(db, group, ct);
            var summary = new Summary(KnownLinks);
            foreach (var write in group)
            {
                write.Stored = 0;
            }

            await using (var move = new NpgsqlCommand(MoveStaged, db, transaction))
            await using (var reader = await move.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    var (write, e) = firstCopy[(reader.GetGuid(0), reader.GetString(1))];
                    write.Stored++;
                    summary.Add(write.WorkspaceId, e);
                }
            }

            await QuarantineAsync(db, transaction, group, ct);
            await VitalsAsync(db, transaction, group, ct);
            await CountAsync(db, transaction, summary, ct);
            await UsersAsync(db, transaction, summary, ct);
            await LinksAsync(db, transaction, summary, ct);
            await RecordExposuresAsync(db, transaction, summary, ct);
            await transaction.CommitAsync(ct);
            KnownLinks.Remember(summary.Links.Keys);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (connection is not null)
        {
            await connection.DisposeAsync();
            connection = null;
        }
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken ct)
    {
        if (connection is not null)
        {
            return connection;
        }

        connection = await dataSource.OpenConnectionAsync(ct);
        await using var create = new NpgsqlCommand(CreateStaging, connection);
        await create.ExecuteNonQueryAsync(ct);
        return connection;
    }

    /// <summary>
    /// Creates the day partitions the group needs, each once per process, outside the data transaction: creating a
    /// partition locks the parent table briefly, and another node may be creating the same one.
    /// </summary>
    private async Task EnsurePartitionsAsync(NpgsqlConnection db, IReadOnlyList<PendingWrite> group, CancellationToken ct)
    {
        foreach (var day in group.SelectMany(w => w.Events).Select(e => DateOnly.FromDateTime(e.Timestamp.UtcDateTime)).Distinct())
        {
            if (partitions.Contains(day))
            {
                continue;
            }

            var from = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            var to = day.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            var sql = $"CREATE TABLE IF NOT EXISTS events_p{day:yyyyMMdd} PARTITION OF events FOR VALUES FROM ('{from} 00:00:00+00') TO ('{to} 00:00:00+00')";
            await using var command = new NpgsqlCommand(sql, db);
            try
            {
                await command.ExecuteNonQueryAsync(ct);
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.DuplicateTable or PostgresErrorCodes.UniqueViolation)
            {
                // Another node created it between our check and our create.
            }

            partitions.Add(day);
        }
    }

    /// <summary>Streams the group's events into the staging table; returns where each (workspace, message id) first occurs.</summary>
    private async Task<Dictionary<(Guid, string), (PendingWrite, IncomingEvent)>> StageAsync(NpgsqlConnection db, IReadOnlyList<PendingWrite> group, CancellationToken ct)
    {
        var firstCopy = new Dictionary<(Guid, string), (PendingWrite, IncomingEvent)>();
        await using var copy = await db.BeginBinaryImportAsync($"COPY incoming_events (seq, {Columns}) FROM STDIN (FORMAT BINARY)", ct);
        var seq = 0;
        foreach (var write in group)
        {
            foreach (var e in write.Events)
            {
                firstCopy.TryAdd((write.WorkspaceId, e.MessageId), (write, e));
                copy.StartRow();
                copy.Write(seq++, NpgsqlDbType.Integer);
                copy.Write(Ids.New(time), NpgsqlDbType.Uuid);
                copy.Write(write.WorkspaceId, NpgsqlDbType.Uuid);
                Write(copy, write.EnvironmentId, NpgsqlDbType.Uuid);
                copy.Write(e.MessageId, NpgsqlDbType.Text);
                copy.Write(e.Type, NpgsqlDbType.Text);
                Write(copy, e.Name, NpgsqlDbType.Text);
                Write(copy, e.UserId, NpgsqlDbType.Text);
                Write(copy, e.AnonymousId, NpgsqlDbType.Text);
                Write(copy, e.GroupId, NpgsqlDbType.Text);
                Write(copy, e.PreviousId, NpgsqlDbType.Text);
                copy.Write(e.Timestamp.ToUniversalTime(), NpgsqlDbType.TimestampTz);
                copy.Write(write.ReceivedAt.ToUniversalTime(), NpgsqlDbType.TimestampTz);
                Write(copy, e.SentAt?.ToUniversalTime(), NpgsqlDbType.TimestampTz);
                Write(copy, e.OriginalTimestamp?.ToUniversalTime(), NpgsqlDbType.TimestampTz);
                Write(copy, e.Properties, NpgsqlDbType.Jsonb);
                Write(copy, e.Context, NpgsqlDbType.Jsonb);
                Write(copy, e.Traits, NpgsqlDbType.Jsonb);
                Write(copy, e.Experiments, NpgsqlDbType.Jsonb);
            }
        }

        await copy.CompleteAsync(ct);
        return firstCopy;
    }

    // Synchronous writes: they only fill the importer's buffer (and block while it is sent), where an awaited write per
    // column cost more than the rest of the row. The writer loop is one dedicated flow, so blocking here holds nobody up.
    private static void Write<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type)
    {
        if (value is null)
        {
            copy.WriteNull();
        }
        else
        {
            copy.Write(value, type);
        }
    }

    private async Task QuarantineAsync(NpgsqlConnection db, NpgsqlTransaction transaction, IReadOnlyList<PendingWrite> group, CancellationToken ct)
    {
        var items = group.SelectMany(w => w.Quarantined.Select(q => (w, q))).ToList();
        if (items.Count == 0)
        {
            return;
        }

        await using var command = new NpgsqlCommand("""
            INSERT INTO event_quarantine (id, workspace_id, message_id, type, name, reasons, payload, received_at)
            SELECT * FROM unnest(@id, @workspace, @message, @type, @name, @reasons, @payload, @received)
            ON CONFLICT (workspace_id, message_id) DO NOTHING
            """, db, transaction);
        command.Parameters.AddWithValue("id", items.Select(_ => Ids.New(time)).ToArray());
        command.Parameters.AddWithValue("workspace", items.Select(i => i.w.WorkspaceId).ToArray());
        command.Parameters.AddWithValue("message", items.Select(i => i.q.MessageId).ToArray());
        command.Parameters.AddWithValue("type", NpgsqlDbType.Array | NpgsqlDbType.Text, items.Select(i => i.q.Type).ToArray());
        command.Parameters.AddWithValue("name", NpgsqlDbType.Array | NpgsqlDbType.Text, items.Select(i => i.q.Name).ToArray());
        command.Parameters.AddWithValue("reasons", items.Select(i => JsonSerializer.Serialize(i.q.Reasons)).ToArray());
        command.Parameters.AddWithValue("payload", items.Select(i => i.q.Payload).ToArray());
        command.Parameters.AddWithValue("received", items.Select(i => i.w.ReceivedAt.ToUniversalTime()).ToArray());
        await command.ExecuteNonQueryAsync(ct);
    }

    private async Task VitalsAsync(NpgsqlConnection db, NpgsqlTransaction transaction, IReadOnlyList<PendingWrite> group, CancellationToken ct)
    {
        // One row per metric id (the latest report wins), in key order: ON CONFLICT DO UPDATE may touch a row once per statement.
        var rows = group.SelectMany(w => w.Vitals.Select(v => (w, v)))
            .GroupBy(r => (r.w.WorkspaceId, r.v.MetricId)).Select(g => g.Last())
            .OrderBy(r => r.w.WorkspaceId).ThenBy(r => r.v.MetricId, StringComparer.Ordinal).ToList();
        if (rows.Count == 0)
        {
            return;
        }

        await using var command = new NpgsqlCommand("""
            INSERT INTO web_vitals (id, workspace_id, environment_id, metric_id, name, value, rating, navigation_type, url, path, device_class, user_id, anonymous_id, timestamp)
            SELECT * FROM unnest(@id, @workspace, @environment, @metric, @name, @value, @rating, @navigation, @url, @path, @device, @user, @anonymous, @timestamp)
            ON CONFLICT (workspace_id, metric_id) DO UPDATE SET
                value = excluded.value, rating = excluded.rating, navigation_type = excluded.navigation_type, timestamp = excluded.timestamp
            """, db, transaction);
        command.Parameters.AddWithValue("id", rows.Select(_ => Ids.New(time)).ToArray());
        command.Parameters.AddWithValue("workspace", rows.Select(r => r.w.WorkspaceId).ToArray());
        command.Parameters.AddWithValue("environment", NpgsqlDbType.Array | NpgsqlDbType.Uuid, rows.Select(r => r.w.EnvironmentId).ToArray());
        command.Parameters.AddWithValue("metric", rows.Select(r => r.v.MetricId).ToArray());
        command.Parameters.AddWithValue("name", rows.Select(r => r.v.Name).ToArray());
        command.Parameters.AddWithValue("value", rows.Select(r => r.v.Value).ToArray());
        command.Parameters.AddWithValue("rating", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.Select(r => r.v.Rating).ToArray());
        command.Parameters.AddWithValue("navigation", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.Select(r => r.v.NavigationType).ToArray());
        command.Parameters.AddWithValue("url", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.Select(r => r.v.Url).ToArray());
        command.Parameters.AddWithValue("path", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.Select(r => r.v.Path).ToArray());
        command.Parameters.AddWithValue("device", rows.Select(r => r.v.DeviceClass).ToArray());
        command.Parameters.AddWithValue("user", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.Select(r => r.v.UserId).ToArray());
        command.Parameters.AddWithValue("anonymous", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.Select(r => r.v.AnonymousId).ToArray());
        command.Parameters.AddWithValue("timestamp", rows.Select(r => r.v.Timestamp.ToUniversalTime()).ToArray());
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task CountAsync(NpgsqlConnection db, NpgsqlTransaction transaction, Summary summary, CancellationToken ct)
    {
        if (summary.Counts.Count == 0)
        {
            return;
        }

        // Sorted, so two nodes updating the same counters lock them in the same order and cannot deadlock.
        var rows = summary.Counts.OrderBy(c => c.Key.Workspace).ThenBy(c => c.Key.Day).ThenBy(c => c.Key.Type, StringComparer.Ordinal).ThenBy(c => c.Key.Name, StringComparer.Ordinal).ToList();
        await using var command = new NpgsqlCommand("""
            INSERT INTO event_daily_counts (workspace_id, day, type, name, count)
            SELECT * FROM unnest(@workspace, @day, @type, @name, @count)
            ON CONFLICT (workspace_id, day, type, name) DO UPDATE SET count = event_daily_counts.count + excluded.count
            """, db, transaction);
        command.Parameters.AddWithValue("workspace", rows.Select(r => r.Key.Workspace).ToArray());
        command.Parameters.AddWithValue("day", rows.Select(r => r.Key.Day).ToArray());
        command.Parameters.AddWithValue("type", rows.Select(r => r.Key.Type).ToArray());
        command.Parameters.AddWithValue("name", rows.Select(r => r.Key.Name).ToArray());
        command.Parameters.AddWithValue("count", rows.Select(r => r.Value).ToArray());
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task UsersAsync(NpgsqlConnection db, NpgsqlTransaction transaction, Summary summary, CancellationToken ct)
    {
        if (summary.Users.Count == 0)
        {
            return;
        }

        var rows = summary.Users.OrderBy(u => u.Key.Workspace).ThenBy(u => u.Key.UserId, StringComparer.Ordinal).ToList();
        // jsonb || is Segment's shallow merge, done by the database so that nodes writing the same user do not race.
        await using var command = new NpgsqlCommand("""
            INSERT INTO event_users (workspace_id, user_id, traits, first_seen_at, last_seen_at)
            SELECT * FROM unnest(@workspace, @user, @traits, @first, @last)
            ON CONFLICT (workspace_id, user_id) DO UPDATE SET
                traits = (event_users.traits::jsonb || excluded.traits::jsonb)::text,
                first_seen_at = LEAST(event_users.first_seen_at, excluded.first_seen_at),
                last_seen_at = GREATEST(event_users.last_seen_at, excluded.last_seen_at)
            """, db, transaction);
        command.Parameters.AddWithValue("workspace", rows.Select(r => r.Key.Workspace).ToArray());
        command.Parameters.AddWithValue("user", rows.Select(r => r.Key.UserId).ToArray());
        command.Parameters.AddWithValue("traits", rows.Select(r => r.Value.Traits?.ToJsonString() ?? "{}").ToArray());
        command.Parameters.AddWithValue("first", rows.Select(r => r.Value.First.ToUniversalTime()).ToArray());
        command.Parameters.AddWithValue("last", rows.Select(r => r.Value.Last.ToUniversalTime()).ToArray());
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task LinksAsync(NpgsqlConnection db, NpgsqlTransaction transaction, Summary summary, CancellationToken ct)
    {
        if (summary.Links.Count == 0)
        {
            return;
        }

        var rows = summary.Links.OrderBy(l => l.Key.Workspace).ThenBy(l => l.Key.AnonymousId, StringComparer.Ordinal).ToList();
        await using var command = new NpgsqlCommand("""
            INSERT INTO event_identities (workspace_id, anonymous_id, user_id, linked_at)
            SELECT * FROM unnest(@workspace, @anonymous, @user, @at)
            ON CONFLICT (workspace_id, anonymous_id) DO NOTHING
            """, db, transaction);
        command.Parameters.AddWithValue("workspace", rows.Select(r => r.Key.Workspace).ToArray());
        command.Parameters.AddWithValue("anonymous", rows.Select(r => r.Key.AnonymousId).ToArray());
        command.Parameters.AddWithValue("user", rows.Select(r => r.Value.UserId).ToArray());
        command.Parameters.AddWithValue("at", rows.Select(r => r.Value.At.ToUniversalTime()).ToArray());
        await command.ExecuteNonQueryAsync(ct);
    }
}
