using System.Globalization;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Upswing.Common;
using Upswing.Experiments;

namespace Upswing.Events;

/// <summary>
/// PostgreSQL's writer. Each group first claims its message ids in event_message_ids (a unique index on the
/// partitioned events table would have to include the day; see <see cref="ClaimAsync"/>), then streams the events that won theirs with binary COPY
/// straight into the day-partitioned events table, all in one transaction. Each writer loop holds its own connection.
/// </summary>
internal sealed class PostgresEventStore(NpgsqlDataSource dataSource, AssignmentHistory assignments, ExposureRecorder exposures, TimeProvider time) : EventStore(assignments, exposures)
{
    private const string Columns =
        "id, workspace_id, environment_id, message_id, type, name, user_id, anonymous_id, group_id, previous_id, " +
        "timestamp, received_at, sent_at, original_timestamp, properties, context, traits, experiments";

    /// <summary>Groups claimed with ON CONFLICT after a COPY of claims met an id stored before.</summary>
    private const int CarefulGroupsAfterConflict = 64;

    /// <summary>Per process, consecutive from a random start, so this node's writers and another node's rarely share one.</summary>
    private static int lastShard = Random.Shared.Next();

    private readonly HashSet<DateOnly> partitions = [];
    /// <summary>This writer's rows in event_daily_counts (see <see cref="EventDailyCount.Shard"/>).</summary>
    private readonly short shard = (short)(Interlocked.Increment(ref lastShard) & (EventDailyCount.Shards - 1));
    private int carefulGroups;
    private NpgsqlConnection? connection;

    public override async Task WriteAsync(IReadOnlyList<PendingWrite> group, CancellationToken ct)
    {
        var db = await OpenAsync(ct);
        try
        {
            await EnsurePartitionsAsync(db, group, ct);
            var (transaction, fresh) = await ClaimAsync(db, group, ct);
            await using (transaction)
            {
                var summary = new Summary(KnownLinks);
                await CopyAsync(db, fresh, ct);
                foreach (var (write, e) in fresh)
                {
                    write.Stored++;
                    summary.Add(write.WorkspaceId, e);
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

    /// <summary>
    /// Opens the group's transaction, enriches its events and claims their message ids in event_message_ids. Returns
    /// the transaction and the events that won their ids, in group order: an id stored before, or repeated within the
    /// group, is skipped (the first copy wins).
    /// <para>
    /// The ids are claimed by binary COPY, which assumes none was stored before: a third of the database's work of an
    /// INSERT … ON CONFLICT … RETURNING. When one was (a client resending an acknowledged batch), the COPY fails with a
    /// unique violation, the transaction is rolled back and the group is claimed again with ON CONFLICT DO NOTHING; the
    /// next <see cref="CarefulGroupsAfterConflict"/> groups of this writer then go that way directly. A concurrent
    /// writer claiming the same id waits for this transaction either way, so an event is stored once whatever the
    /// interleaving. The ids go in key order, so that two writers lock them alike and cannot deadlock.
    /// </para>
    /// </summary>
    private async Task<(NpgsqlTransaction Transaction, List<(PendingWrite Write, IncomingEvent Event)> Fresh)> ClaimAsync(NpgsqlConnection db, IReadOnlyList<PendingWrite> group, CancellationToken ct)
    {
        var firstCopy = new Dictionary<(Guid, string), (PendingWrite Write, IncomingEvent Event, int Order)>();
        var order = 0;
        foreach (var write in group)
        {
            write.Stored = 0;
            foreach (var e in write.Events)
            {
                firstCopy.TryAdd((write.WorkspaceId, e.MessageId), (write, e, order++));
            }
        }

        var keys = firstCopy.Keys.Order(ClaimOrder.Instance).ToList();
        if (carefulGroups > 0)
        {
            carefulGroups--;
        }
        else
        {
            try
            {
                return await BeginAndClaimAsync(db, group, async _ =>
                {
                    await ClaimByCopyAsync(db, keys, firstCopy, ct);
                    return [.. firstCopy.Values.OrderBy(f => f.Order).Select(f => (f.Write, f.Event))];
                }, ct);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                carefulGroups = CarefulGroupsAfterConflict;
            }
        }

        return await BeginAndClaimAsync(db, group, transaction => ClaimSkippingStoredAsync(db, transaction, keys, firstCopy, ct), ct);
    }

    /// <summary>Begins the group's transaction, enriches its events and claims their ids; rolls back if any step fails.</summary>
    private async Task<(NpgsqlTransaction Transaction, List<(PendingWrite Write, IncomingEvent Event)> Fresh)> BeginAndClaimAsync(NpgsqlConnection db, IReadOnlyList<PendingWrite> group, Func<NpgsqlTransaction, Task<List<(PendingWrite Write, IncomingEvent Event)>>> claim, CancellationToken ct)
    {
        var transaction = await db.BeginTransactionAsync(ct);
        try
        {
            await EnrichAsync(db, transaction, group, ct);
            return (transaction, await claim(transaction));
        }
        catch
        {
            await transaction.DisposeAsync();
            throw;
        }
    }

    private static async Task ClaimByCopyAsync(NpgsqlConnection db, List<(Guid Workspace, string MessageId)> keys, Dictionary<(Guid, string), (PendingWrite Write, IncomingEvent Event, int Order)> firstCopy, CancellationToken ct)
    {
        if (keys.Count == 0)
        {
            return;
        }

        await using var copy = await db.BeginBinaryImportAsync("COPY event_message_ids (workspace_id, message_id, timestamp) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var key in keys)
        {
            copy.StartRow();
            copy.Write(key.Workspace, NpgsqlDbType.Uuid);
            copy.Write(key.MessageId, NpgsqlDbType.Text);
            copy.Write(firstCopy[key].Event.Timestamp.ToUniversalTime(), NpgsqlDbType.TimestampTz);
        }

        await copy.CompleteAsync(ct);
    }

    private static async Task<List<(PendingWrite Write, IncomingEvent Event)>> ClaimSkippingStoredAsync(NpgsqlConnection db, NpgsqlTransaction transaction, List<(Guid Workspace, string MessageId)> keys, Dictionary<(Guid, string), (PendingWrite Write, IncomingEvent Event, int Order)> firstCopy, CancellationToken ct)
    {
        if (keys.Count == 0)
        {
            return [];
        }

        var fresh = new List<(PendingWrite, IncomingEvent, int Order)>(firstCopy.Count);

        await using var claim = new NpgsqlCommand("""
            INSERT INTO event_message_ids (workspace_id, message_id, timestamp)
            SELECT * FROM unnest(@workspace, @message, @timestamp)
            ON CONFLICT DO NOTHING
            RETURNING workspace_id, message_id
            """, db, transaction);
        claim.Parameters.AddWithValue("workspace", keys.Select(k => k.Workspace).ToArray());
        claim.Parameters.AddWithValue("message", keys.Select(k => k.MessageId).ToArray());
        claim.Parameters.AddWithValue("timestamp", keys.Select(k => firstCopy[k].Event.Timestamp.ToUniversalTime()).ToArray());
        await using (var reader = await claim.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                fresh.Add(firstCopy[(reader.GetGuid(0), reader.GetString(1))]);
            }
        }

        return [.. fresh.OrderBy(f => f.Order).Select(f => (f.Item1, f.Item2))];
    }

    /// <summary>Workspace, then message id by ordinal: the order both claim paths lock ids in.</summary>
    private sealed class ClaimOrder : IComparer<(Guid Workspace, string MessageId)>
    {
        public static readonly ClaimOrder Instance = new();

        public int Compare((Guid Workspace, string MessageId) x, (Guid Workspace, string MessageId) y)
        {
            var byWorkspace = x.Workspace.CompareTo(y.Workspace);
            return byWorkspace != 0 ? byWorkspace : string.CompareOrdinal(x.MessageId, y.MessageId);
        }
    }

    /// <summary>Binary COPY of the events straight into the partitioned events table.</summary>
    private async Task CopyAsync(NpgsqlConnection db, List<(PendingWrite Write, IncomingEvent Event)> events, CancellationToken ct)
    {
        if (events.Count == 0)
        {
            return;
        }

        await using var copy = await db.BeginBinaryImportAsync($"COPY events ({Columns}) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var (write, e) in events)
        {
            copy.StartRow();
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

        await copy.CompleteAsync(ct);
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

    private async Task CountAsync(NpgsqlConnection db, NpgsqlTransaction transaction, Summary summary, CancellationToken ct)
    {
        if (summary.Counts.Count == 0)
        {
            return;
        }

        // Sorted, so two nodes updating the same counters lock them in the same order and cannot deadlock.
        var rows = summary.Counts.OrderBy(c => c.Key.Workspace).ThenBy(c => c.Key.Day).ThenBy(c => c.Key.Type, StringComparer.Ordinal).ThenBy(c => c.Key.Name, StringComparer.Ordinal).ToList();
        await using var command = new NpgsqlCommand("""
            INSERT INTO event_daily_counts (workspace_id, day, type, name, shard, count)
            SELECT w, d, t, n, @shard, c FROM unnest(@workspace, @day, @type, @name, @count) AS r(w, d, t, n, c)
            ON CONFLICT (workspace_id, day, type, name, shard) DO UPDATE SET count = event_daily_counts.count + excluded.count
            """, db, transaction);
        command.Parameters.AddWithValue("shard", shard);
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
