using System.Text.Json;
using Microsoft.Data.Sqlite;
using Upswing.Common;
using Upswing.Data;
using Upswing.Experiments;

namespace Upswing.Events;

/// <summary>
/// The embedded database's writer: one connection held by the single writer loop, prepared statements reused for
/// every row, one transaction per group, committed with synchronous=FULL so an acknowledged event survives a power
/// loss, not only a crash (one fsync per group, so the cost is shared by every request in it). The log is copied into
/// the database file by a <see cref="WalCheckpointer"/> beside it, not inside these commits.
/// </summary>
internal sealed class SqliteEventStore(SqlDialect dialect, AssignmentHistory assignments, ExposureRecorder exposures, TimeProvider time, WalCheckpointer checkpointer) : EventStore(assignments, exposures)
{
    private static readonly string[] EventColumns =
    [
        "id", "workspace_id", "environment_id", "message_id", "type", "name", "user_id", "anonymous_id", "group_id", "previous_id",
        "timestamp", "received_at", "sent_at", "original_timestamp", "properties", "context", "traits", "experiments",
    ];

    private static readonly string[] VitalParameters =
        ["@id", "@workspace", "@environment", "@metric", "@name", "@value", "@rating", "@navigation", "@url", "@path", "@device", "@user", "@anonymous", "@timestamp"];

    private SqliteConnection? connection;
    private SqliteCommand? insertEvent;

    public override async Task WriteAsync(IReadOnlyList<PendingWrite> group, CancellationToken ct)
    {
        var db = await OpenAsync(ct);
        try
        {
            await checkpointer.BeforeWriteAsync(db, ct);
            await using var transaction = (SqliteTransaction)await db.BeginTransactionAsync(ct);
            await EnrichAsync(db, transaction, group, ct);
            var summary = new Summary(KnownLinks);
            foreach (var write in group)
            {
                write.Stored = 0;
                foreach (var e in write.Events)
                {
                    if (await InsertAsync(transaction, write, e, ct))
                    {
                        write.Stored++;
                        summary.Add(write.WorkspaceId, e);
                    }
                }

                foreach (var item in write.Quarantined)
                {
                    await QuarantineAsync(transaction, write, item, ct);
                }
            }

            await VitalsAsync(transaction, group, ct);

            await CountAsync(transaction, summary, ct);
            await UsersAsync(transaction, summary, ct);
            await LinksAsync(transaction, summary, ct);
            await RecordExposuresAsync(db, transaction, summary, ct);
            await transaction.CommitAsync(ct);
            checkpointer.Committed();
            KnownLinks.Remember(summary.Links.Keys);
        }
        catch
        {
            // The connection may be in any state after a failure; the next group starts from a fresh one.
            await CloseAsync();
            throw;
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await CloseAsync();
        await checkpointer.DisposeAsync();
    }

    private async Task CloseAsync()
    {
        if (insertEvent is not null)
        {
            await insertEvent.DisposeAsync();
            insertEvent = null;
        }

        if (connection is not null)
        {
            // Out of the pool: its settings (synchronous=FULL, no checkpoints in its commits) are this loop's alone.
            SqliteConnection.ClearPool(connection);
            await connection.DisposeAsync();
            connection = null;
        }
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        if (connection is not null)
        {
            return connection;
        }

        connection = (SqliteConnection)await dialect.OpenConnectionAsync(ct);
        await using (var pragma = connection.CreateCommand())
        {
            // Durable commits for acknowledged events; other connections keep NORMAL. A 64 MB page cache (others have
            // 20 MB) holds the index pages where new rows land, one per active user: with 20 MB the loop read 3.7 pages
            // per event back from the file, with 64 MB 1.5 (the same as with 256 MB).
            pragma.CommandText = "PRAGMA synchronous=FULL; PRAGMA cache_size=-65536; " + WalCheckpointer.WriterPragmas;
            await pragma.ExecuteNonQueryAsync(ct);
        }

        insertEvent = connection.CreateCommand();
        insertEvent.CommandText = dialect.InsertIgnoringConflicts("events", EventColumns, "workspace_id, message_id");
        foreach (var column in EventColumns)
        {
            insertEvent.AddParameter("@" + column);
        }

        return connection;
    }

    private async Task<bool> InsertAsync(SqliteTransaction transaction, PendingWrite write, IncomingEvent e, CancellationToken ct)
    {
        var command = insertEvent!;
        command.Transaction = transaction;
        var p = command.Parameters;
        p[0].Value = dialect.Value(Ids.New(time));
        p[1].Value = dialect.Value(write.WorkspaceId);
        p[2].Value = write.EnvironmentId is { } environment ? dialect.Value(environment) : DBNull.Value;
        p[3].Value = e.MessageId;
        p[4].Value = e.Type;
        p[5].Value = (object?)e.Name ?? DBNull.Value;
        p[6].Value = (object?)e.UserId ?? DBNull.Value;
        p[7].Value = (object?)e.AnonymousId ?? DBNull.Value;
        p[8].Value = (object?)e.GroupId ?? DBNull.Value;
        p[9].Value = (object?)e.PreviousId ?? DBNull.Value;
        p[10].Value = dialect.Value(e.Timestamp);
        p[11].Value = dialect.Value(write.ReceivedAt);
        p[12].Value = e.SentAt is { } sentAt ? dialect.Value(sentAt) : DBNull.Value;
        p[13].Value = e.OriginalTimestamp is { } original ? dialect.Value(original) : DBNull.Value;
        p[14].Value = (object?)e.Properties ?? DBNull.Value;
        p[15].Value = (object?)e.Context ?? DBNull.Value;
        p[16].Value = (object?)e.Traits ?? DBNull.Value;
        p[17].Value = (object?)e.Experiments ?? DBNull.Value;
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    private async Task QuarantineAsync(SqliteTransaction transaction, PendingWrite write, QuarantineItem item, CancellationToken ct)
    {
        await using var command = transaction.Connection!.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = dialect.InsertIgnoringConflicts("event_quarantine", ["id", "workspace_id", "message_id", "type", "name", "reasons", "payload", "received_at"], "workspace_id, message_id");
        command.AddParameter("@id").Value = dialect.Value(Ids.New(time));
        command.AddParameter("@workspace_id").Value = dialect.Value(write.WorkspaceId);
        command.AddParameter("@message_id").Value = item.MessageId;
        command.AddParameter("@type").Value = (object?)item.Type ?? DBNull.Value;
        command.AddParameter("@name").Value = (object?)item.Name ?? DBNull.Value;
        command.AddParameter("@reasons").Value = JsonSerializer.Serialize(item.Reasons);
        command.AddParameter("@payload").Value = item.Payload;
        command.AddParameter("@received_at").Value = dialect.Value(write.ReceivedAt);
        await command.ExecuteNonQueryAsync(ct);
    }

    private async Task VitalsAsync(SqliteTransaction transaction, IReadOnlyList<PendingWrite> group, CancellationToken ct)
    {
        if (!group.Any(w => w.Vitals.Count > 0))
        {
            return;
        }

        await using var command = transaction.Connection!.CreateCommand();
        command.Transaction = transaction;
        // A later report of the same metric (CLS and INP grow during a visit) replaces the earlier one.
        command.CommandText = """
            INSERT INTO web_vitals (id, workspace_id, environment_id, metric_id, name, value, rating, navigation_type, url, path, device_class, user_id, anonymous_id, timestamp)
            VALUES (@id, @workspace, @environment, @metric, @name, @value, @rating, @navigation, @url, @path, @device, @user, @anonymous, @timestamp)
            ON CONFLICT (workspace_id, metric_id) DO UPDATE SET
                value = excluded.value, rating = excluded.rating, navigation_type = excluded.navigation_type, timestamp = excluded.timestamp
            """;
        var p = VitalParameters.Select(name => command.AddParameter(name)).ToArray();
        foreach (var write in group)
        {
            foreach (var v in write.Vitals)
            {
                p[0].Value = dialect.Value(Ids.New(time));
                p[1].Value = dialect.Value(write.WorkspaceId);
                p[2].Value = write.EnvironmentId is { } environment ? dialect.Value(environment) : DBNull.Value;
                p[3].Value = v.MetricId;
                p[4].Value = v.Name;
                p[5].Value = v.Value;
                p[6].Value = (object?)v.Rating ?? DBNull.Value;
                p[7].Value = (object?)v.NavigationType ?? DBNull.Value;
                p[8].Value = (object?)v.Url ?? DBNull.Value;
                p[9].Value = (object?)v.Path ?? DBNull.Value;
                p[10].Value = v.DeviceClass;
                p[11].Value = (object?)v.UserId ?? DBNull.Value;
                p[12].Value = (object?)v.AnonymousId ?? DBNull.Value;
                p[13].Value = dialect.Value(v.Timestamp);
                await command.ExecuteNonQueryAsync(ct);
            }
        }
    }

    private async Task CountAsync(SqliteTransaction transaction, Summary summary, CancellationToken ct)
    {
        if (summary.Counts.Count == 0)
        {
            return;
        }

        await using var command = transaction.Connection!.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO event_daily_counts (workspace_id, day, type, name, shard, count) VALUES (@workspace, @day, @type, @name, 0, @count)
            ON CONFLICT (workspace_id, day, type, name, shard) DO UPDATE SET count = count + excluded.count
            """;
        var (workspace, day, type, name, count) = (command.AddParameter("@workspace"), command.AddParameter("@day"), command.AddParameter("@type"), command.AddParameter("@name"), command.AddParameter("@count"));
        foreach (var (key, n) in summary.Counts)
        {
            (workspace.Value, day.Value, type.Value, name.Value, count.Value) = (dialect.Value(key.Workspace), dialect.Value(key.Day), key.Type, key.Name, n);
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    private async Task UsersAsync(SqliteTransaction transaction, Summary summary, CancellationToken ct)
    {
        if (summary.Users.Count == 0)
        {
            return;
        }

        await using var read = transaction.Connection!.CreateCommand();
        read.Transaction = transaction;
        read.CommandText = "SELECT traits FROM event_users WHERE workspace_id = @workspace AND user_id = @user";
        var (readWorkspace, readUser) = (read.AddParameter("@workspace"), read.AddParameter("@user"));
        await using var write = transaction.Connection!.CreateCommand();
        write.Transaction = transaction;
        write.CommandText = """
            INSERT INTO event_users (workspace_id, user_id, traits, first_seen_at, last_seen_at) VALUES (@workspace, @user, @traits, @first, @last)
            ON CONFLICT (workspace_id, user_id) DO UPDATE SET
                traits = CASE WHEN @merged THEN excluded.traits ELSE traits END,
                first_seen_at = min(first_seen_at, excluded.first_seen_at),
                last_seen_at = max(last_seen_at, excluded.last_seen_at)
            """;
        var (workspace, user, traits, first, last, merged) = (write.AddParameter("@workspace"), write.AddParameter("@user"), write.AddParameter("@traits"), write.AddParameter("@first"), write.AddParameter("@last"), write.AddParameter("@merged"));
        foreach (var (key, sighting) in summary.Users)
        {
            var traitsJson = "{}";
            if (sighting.Traits is not null)
            {
                // This loop is the database's only writer of event_users, so read-merge-write cannot lose an update.
                (readWorkspace.Value, readUser.Value) = (dialect.Value(key.Workspace), key.UserId);
                traitsJson = MergeTraits(await read.ExecuteScalarAsync(ct) as string, sighting.Traits);
            }

            (workspace.Value, user.Value, traits.Value, first.Value, last.Value, merged.Value) =
                (dialect.Value(key.Workspace), key.UserId, traitsJson, dialect.Value(sighting.First), dialect.Value(sighting.Last), sighting.Traits is not null);
            await write.ExecuteNonQueryAsync(ct);
        }
    }

    private async Task LinksAsync(SqliteTransaction transaction, Summary summary, CancellationToken ct)
    {
        if (summary.Links.Count == 0)
        {
            return;
        }

        await using var command = transaction.Connection!.CreateCommand();
        command.Transaction = transaction;
        // The first user an anonymous id was linked to keeps it.
        command.CommandText = dialect.InsertIgnoringConflicts("event_identities", ["workspace_id", "anonymous_id", "user_id", "linked_at"], "workspace_id, anonymous_id");
        var (workspace, anonymous, user, at) = (command.AddParameter("@workspace_id"), command.AddParameter("@anonymous_id"), command.AddParameter("@user_id"), command.AddParameter("@linked_at"));
        foreach (var (key, link) in summary.Links)
        {
            (workspace.Value, anonymous.Value, user.Value, at.Value) = (dialect.Value(key.Workspace), key.AnonymousId, link.UserId, dialect.Value(link.At));
            await command.ExecuteNonQueryAsync(ct);
        }
    }
}
