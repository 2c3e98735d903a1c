using System.Data.Common;
using Npgsql;
using NpgsqlTypes;
using Upswing.Data;

namespace Upswing.Jobs;

/// <summary>A job as a worker holds it: claimed under a lease for one attempt.</summary>
internal sealed record ClaimedJob(long Id, string Kind, string Queue, string Args, int Attempt, int MaxAttempts, Guid? WorkspaceId, DateTimeOffset RunAt, int Priority);

/// <summary>A row to insert. <see cref="UniqueKey"/> is the full key (kind, workspace, caller's key, period).</summary>
internal readonly record struct NewJob(Guid? WorkspaceId, string Kind, string Queue, string Args, int Priority, int MaxAttempts, DateTimeOffset RunAt, string? UniqueKey, string? UniqueScope);

internal enum OutcomeKind
{
    Succeeded,
    Retry,
    Discarded,
    Snoozed,
    Cancelled,

    /// <summary>The node stopped before the attempt finished: back to available, and the attempt does not count.</summary>
    Released,
}

/// <summary>How one attempt ended, as the completer writes it. <see cref="RunAt"/> is the next run for retries and snoozes.</summary>
internal sealed record JobOutcome(long Id, int Attempt, OutcomeKind Kind, DateTimeOffset At, string? Error = null, DateTimeOffset? RunAt = null);

/// <summary>What an admin cancel or retry did.</summary>
public enum JobChange
{
    NotFound,
    Done,

    /// <summary>The job is running: a cancel is requested from its worker (its token fires); a retry is refused.</summary>
    Running,

    /// <summary>A cancel found the job already finished.</summary>
    AlreadyFinished,
}

/// <summary>
/// The job queue's hand-written SQL, the same statements on both providers except where noted. Every write that
/// ends an attempt is guarded by (id, attempt, state = running, lease_owner), so a rescued job's late completion
/// changes nothing. SQLite runs every write in an IMMEDIATE transaction (its one writer is the claim lock);
/// PostgreSQL claims with FOR UPDATE SKIP LOCKED.
/// </summary>
internal sealed class JobStore(SqlDialect dialect, JobSignals signals)
{
    public const string WakeChannel = "upswing_jobs";
    public const string CancelChannel = "upswing_job_cancel";

    // unique_lock holds unique_key only while the job's state is inside its scope ('queued', 'active', 'period');
    // these three expressions are the whole rule, applied on every transition.
    private const string LockWhenRunning = "CASE WHEN unique_scope = 'queued' THEN NULL ELSE unique_lock END";
    private const string LockWhenFinal = "CASE WHEN unique_scope = 'period' THEN unique_lock END";

    // Back in the queue (retry, snooze, admin retry): take the key again unless another queued job has it meanwhile,
    // in which case that job does the work and this one runs without the key.
    private const string LockWhenQueued =
        "CASE WHEN unique_key IS NULL THEN NULL WHEN unique_lock IS NOT NULL THEN unique_lock " +
        "WHEN NOT EXISTS (SELECT 1 FROM jobs other WHERE other.unique_lock = jobs.unique_key) THEN unique_key END";

    private const string Guard = "id = @id AND attempt = @attempt AND state = 'running' AND lease_owner = @owner";

    private const string ClaimedColumns = "id, kind, queue, args, attempt, max_attempts, workspace_id, run_at, priority";

    private readonly bool postgres = dialect.Provider == DatabaseProvider.Postgres;

    public SqlDialect Dialect => dialect;

    /// <summary>Appends {attempt, at, worker, error} to the error history, from the row's values before the update.</summary>
    private string AppendError => postgres
        ? "errors = (COALESCE(errors, '[]')::jsonb || jsonb_build_array(jsonb_build_object('attempt', attempt, 'at', @error_at::text, 'worker', lease_owner, 'error', @error::text)))::text"
        : "errors = json_insert(COALESCE(errors, '[]'), '$[#]', json_object('attempt', attempt, 'at', @error_at, 'worker', lease_owner, 'error', @error))";

    public Task<DbConnection> OpenAsync(CancellationToken ct) => dialect.OpenConnectionAsync(ct);

    // ---- enqueue ----

    /// <summary>Inserts one job on the caller's connection and transaction; a taken unique key returns the job that holds it.</summary>
    public async Task<EnqueueResult> InsertAsync(DbConnection connection, DbTransaction? transaction, NewJob job, DateTimeOffset now, CancellationToken ct)
    {
        // A key can be released between the insert that collided and the lookup of its holder; then insert again.
        for (var round = 0; ; round++)
        {
            await using (var insert = Command(connection, transaction, InsertSql + " RETURNING id"))
            {
                AddInsertParameters(insert, job, now);
                if (await insert.ExecuteScalarAsync(ct) is { } id)
                {
                    return new EnqueueResult(Convert.ToInt64(id, System.Globalization.CultureInfo.InvariantCulture), Duplicate: false);
                }
            }

            await using var holder = Command(connection, transaction, "SELECT id FROM jobs WHERE unique_lock = @key");
            holder.AddParameter("key", job.UniqueKey);
            if (await holder.ExecuteScalarAsync(ct) is { } existing)
            {
                return new EnqueueResult(Convert.ToInt64(existing, System.Globalization.CultureInfo.InvariantCulture), Duplicate: true);
            }

            if (round == 3)
            {
                throw new InvalidOperationException("The job's unique key kept changing hands; giving up after four tries.");
            }
        }
    }

    /// <summary>Inserts many jobs in one statement (PostgreSQL) or one prepared statement per row (SQLite).</summary>
    public async Task<EnqueueManyResult> InsertManyAsync(DbConnection connection, DbTransaction? transaction, IReadOnlyList<NewJob> jobs, DateTimeOffset now, CancellationToken ct)
    {
        if (jobs.Count == 0)
        {
            return new EnqueueManyResult(0, 0);
        }

        if (postgres)
        {
            await using var command = Command(connection, transaction,
                "INSERT INTO jobs (workspace_id, kind, queue, args, priority, state, attempt, max_attempts, run_at, created_at, unique_key, unique_scope, unique_lock) " +
                "SELECT w, k, q, a, p, 'available', 0, m, r, @now, u, s, u FROM unnest(@w, @k, @q, @a, @p, @m, @r, @u, @s) AS t(w, k, q, a, p, m, r, u, s) " +
                "ON CONFLICT DO NOTHING");
            var npgsql = (NpgsqlCommand)command;
            npgsql.Parameters.Add(new NpgsqlParameter<Guid?[]>("w", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = [.. jobs.Select(j => j.WorkspaceId)] });
            npgsql.Parameters.Add(new NpgsqlParameter<string[]>("k", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. jobs.Select(j => j.Kind)] });
            npgsql.Parameters.Add(new NpgsqlParameter<string[]>("q", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. jobs.Select(j => j.Queue)] });
            npgsql.Parameters.Add(new NpgsqlParameter<string[]>("a", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. jobs.Select(j => j.Args)] });
            npgsql.Parameters.Add(new NpgsqlParameter<int[]>("p", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = [.. jobs.Select(j => j.Priority)] });
            npgsql.Parameters.Add(new NpgsqlParameter<int[]>("m", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = [.. jobs.Select(j => j.MaxAttempts)] });
            npgsql.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("r", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { TypedValue = [.. jobs.Select(j => j.RunAt.ToUniversalTime())] });
            npgsql.Parameters.Add(new NpgsqlParameter<string?[]>("u", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. jobs.Select(j => j.UniqueKey)] });
            npgsql.Parameters.Add(new NpgsqlParameter<string?[]>("s", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. jobs.Select(j => j.UniqueScope)] });
            command.AddParameter("now", dialect.Value(now));
            var inserted = await command.ExecuteNonQueryAsync(ct);
            return new EnqueueManyResult(inserted, jobs.Count - inserted);
        }

        await using var statement = Command(connection, transaction, InsertSql);
        var count = 0;
        foreach (var job in jobs)
        {
            statement.Parameters.Clear();
            AddInsertParameters(statement, job, now);
            count += await statement.ExecuteNonQueryAsync(ct);
        }

        return new EnqueueManyResult(count, jobs.Count - count);
    }

    private const string InsertSql =
        "INSERT INTO jobs (workspace_id, kind, queue, args, priority, state, attempt, max_attempts, run_at, created_at, unique_key, unique_scope, unique_lock) " +
        "VALUES (@workspace_id, @kind, @queue, @args, @priority, 'available', 0, @max_attempts, @run_at, @now, @unique_key, @unique_scope, @unique_key) " +
        "ON CONFLICT DO NOTHING";

    private void AddInsertParameters(DbCommand command, NewJob job, DateTimeOffset now)
    {
        command.AddParameter("workspace_id", job.WorkspaceId is { } w ? dialect.Value(w) : null);
        command.AddParameter("kind", job.Kind);
        command.AddParameter("queue", job.Queue);
        command.AddParameter("args", job.Args);
        command.AddParameter("priority", job.Priority);
        command.AddParameter("max_attempts", job.MaxAttempts);
        command.AddParameter("run_at", dialect.Value(job.RunAt));
        command.AddParameter("now", dialect.Value(now));
        command.AddParameter("unique_key", job.UniqueKey);
        command.AddParameter("unique_scope", job.UniqueScope);
    }

    /// <summary>PostgreSQL: wakes every node's workers of these queues when the caller's transaction commits.</summary>
    public async Task NotifyAsync(DbConnection connection, DbTransaction? transaction, IEnumerable<string> queues, CancellationToken ct)
    {
        if (!postgres)
        {
            return;
        }

        foreach (var queue in queues)
        {
            await using var notify = Command(connection, transaction, "SELECT pg_notify(@channel, @queue)");
            notify.AddParameter("channel", WakeChannel);
            notify.AddParameter("queue", queue);
            await notify.ExecuteNonQueryAsync(ct);
        }
    }

    // ---- workers ----

    /// <summary>Claims up to <paramref name="limit"/> due jobs of a queue for <paramref name="owner"/>, first by priority, then by run time.</summary>
    public async Task<IReadOnlyList<ClaimedJob>> ClaimAsync(string queue, int limit, string owner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken ct)
    {
        const string Set = "SET state = 'running', attempt = attempt + 1, attempted_at = @now, lease_owner = @owner, lease_expires_at = @lease, " +
            "heartbeat_at = @now, cancel_requested_at = NULL, unique_lock = " + LockWhenRunning;
        const string Due = "queue = @queue AND state IN ('available', 'retryable') AND run_at <= @now ORDER BY priority, run_at, id LIMIT @limit";
        var sql = postgres
            // SKIP LOCKED: concurrent claimers (other nodes) pass over each other's rows instead of queueing behind them.
            ? $"WITH next AS (SELECT id FROM jobs WHERE {Due} FOR UPDATE SKIP LOCKED) UPDATE jobs {Set} FROM next WHERE jobs.id = next.id RETURNING jobs.id, jobs.kind, jobs.queue, jobs.args, jobs.attempt, jobs.max_attempts, jobs.workspace_id, jobs.run_at, jobs.priority"
            : $"UPDATE jobs {Set} WHERE id IN (SELECT id FROM jobs WHERE {Due}) RETURNING {ClaimedColumns}";
        await using var connection = await OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await RelaxDurabilityAsync(connection, transaction, ct);
        await using var command = Command(connection, transaction, sql);
        command.AddParameter("queue", queue);
        command.AddParameter("limit", limit);
        command.AddParameter("owner", owner);
        command.AddParameter("now", dialect.Value(now));
        command.AddParameter("lease", dialect.Value(leaseUntil));
        var claimed = new List<ClaimedJob>(limit);
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                claimed.Add(new ClaimedJob(
                    reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4), reader.GetInt32(5),
                    reader.IsDBNull(6) ? null : reader.GetGuid(6), dialect.ReadTime(reader, 7), reader.GetInt32(8)));
            }
        }

        await transaction.CommitAsync(ct);
        claimed.Sort((a, b) => a.Priority != b.Priority ? a.Priority.CompareTo(b.Priority) : a.RunAt != b.RunAt ? a.RunAt.CompareTo(b.RunAt) : a.Id.CompareTo(b.Id));
        return claimed;
    }

    /// <summary>
    /// Extends the leases of the jobs this owner still holds. Returns those it still holds, each with whether a cancel
    /// was requested; a job missing from the answer was rescued or finished elsewhere and its handler must stop.
    /// </summary>
    public async Task<IReadOnlyList<(long Id, bool CancelRequested)>> HeartbeatAsync(string owner, IReadOnlyList<(long Id, int Attempt)> held, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken ct)
    {
        var alive = new List<(long, bool)>(held.Count);
        if (held.Count == 0)
        {
            return alive;
        }

        await using var connection = await OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await RelaxDurabilityAsync(connection, transaction, ct);
        if (postgres)
        {
            await using var command = Command(connection, transaction,
                "UPDATE jobs SET lease_expires_at = @lease, heartbeat_at = @now FROM unnest(@ids, @attempts) AS held(id, attempt) " +
                "WHERE jobs.id = held.id AND jobs.attempt = held.attempt AND jobs.state = 'running' AND jobs.lease_owner = @owner " +
                "RETURNING jobs.id, jobs.cancel_requested_at IS NOT NULL");
            AddIdsAndAttempts((NpgsqlCommand)command, held.Select(h => h.Id), held.Select(h => h.Attempt));
            command.AddParameter("owner", owner);
            command.AddParameter("now", dialect.Value(now));
            command.AddParameter("lease", dialect.Value(leaseUntil));
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                alive.Add((reader.GetInt64(0), reader.GetBoolean(1)));
            }
        }
        else
        {
            await using var command = Command(connection, transaction,
                $"UPDATE jobs SET lease_expires_at = @lease, heartbeat_at = @now WHERE {Guard} RETURNING id, cancel_requested_at IS NOT NULL");
            var id = command.AddParameter("id");
            var attempt = command.AddParameter("attempt");
            command.AddParameter("owner", owner);
            command.AddParameter("now", dialect.Value(now));
            command.AddParameter("lease", dialect.Value(leaseUntil));
            foreach (var job in held)
            {
                id.Value = job.Id;
                attempt.Value = job.Attempt;
                await using var reader = await command.ExecuteReaderAsync(ct);
                if (await reader.ReadAsync(ct))
                {
                    alive.Add((reader.GetInt64(0), reader.GetBoolean(1)));
                }
            }
        }

        await transaction.CommitAsync(ct);
        return alive;
    }

    /// <summary>Writes how attempts ended, in one transaction. Returns the ids whose write applied (the others had lost their lease).</summary>
    public async Task<IReadOnlySet<long>> ApplyAsync(string owner, IReadOnlyList<JobOutcome> outcomes, CancellationToken ct)
    {
        // PostgreSQL: putting a job back in the queue can collide with a key another transaction took a moment ago
        // (the NOT EXISTS above saw it uncommitted); the next round sees it and leaves the key to that job.
        for (var round = 0; ; round++)
        {
            try
            {
                return await ApplyOnceAsync(owner, outcomes, ct);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation && round < 3)
            {
            }
        }
    }

    private async Task<IReadOnlySet<long>> ApplyOnceAsync(string owner, IReadOnlyList<JobOutcome> outcomes, CancellationToken ct)
    {
        var applied = new HashSet<long>();
        await using var connection = await OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var succeeded = outcomes.Where(o => o.Kind == OutcomeKind.Succeeded).ToList();
        if (succeeded.Count > 0)
        {
            await CompleteAsync(connection, transaction, owner, succeeded, applied, ct);
        }

        foreach (var outcome in outcomes)
        {
            if (outcome.Kind == OutcomeKind.Succeeded)
            {
                continue;
            }

            var set = outcome.Kind switch
            {
                OutcomeKind.Retry => $"state = 'retryable', run_at = @run_at, lease_expires_at = NULL, {AppendError}, unique_lock = {LockWhenQueued}",
                OutcomeKind.Snoozed => $"state = 'available', run_at = @run_at, max_attempts = max_attempts + 1, lease_expires_at = NULL, unique_lock = {LockWhenQueued}",
                OutcomeKind.Released => $"state = 'available', run_at = @run_at, max_attempts = max_attempts + 1, lease_expires_at = NULL, {AppendError}, unique_lock = {LockWhenQueued}",
                OutcomeKind.Discarded => $"state = 'discarded', finalized_at = @at, lease_expires_at = NULL, {AppendError}, unique_lock = {LockWhenFinal}",
                OutcomeKind.Cancelled => $"state = 'cancelled', finalized_at = @at, lease_expires_at = NULL, {AppendError}, unique_lock = {LockWhenFinal}",
                _ => throw new InvalidOperationException($"Unknown outcome {outcome.Kind}."),
            };
            await using var command = Command(connection, transaction, $"UPDATE jobs SET {set} WHERE {Guard}");
            command.AddParameter("id", outcome.Id);
            command.AddParameter("attempt", outcome.Attempt);
            command.AddParameter("owner", owner);
            command.AddParameter("at", dialect.Value(outcome.At));
            command.AddParameter("run_at", dialect.Value(outcome.RunAt ?? outcome.At));
            command.AddParameter("error_at", outcome.At.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            command.AddParameter("error", outcome.Error ?? outcome.Kind.ToString());
            if (await command.ExecuteNonQueryAsync(ct) == 1)
            {
                applied.Add(outcome.Id);
            }
        }

        await transaction.CommitAsync(ct);
        return applied;
    }

    private async Task CompleteAsync(DbConnection connection, DbTransaction transaction, string owner, List<JobOutcome> succeeded, HashSet<long> applied, CancellationToken ct)
    {
        const string Set = "SET state = 'succeeded', finalized_at = {0}, lease_expires_at = NULL, unique_lock = " + LockWhenFinal;
        if (postgres)
        {
            await using var command = Command(connection, transaction,
                string.Format(System.Globalization.CultureInfo.InvariantCulture, "UPDATE jobs " + Set, "done.at") +
                " FROM unnest(@ids, @attempts, @ats) AS done(id, attempt, at) " +
                "WHERE jobs.id = done.id AND jobs.attempt = done.attempt AND jobs.state = 'running' AND jobs.lease_owner = @owner RETURNING jobs.id");
            var npgsql = (NpgsqlCommand)command;
            AddIdsAndAttempts(npgsql, succeeded.Select(s => s.Id), succeeded.Select(s => s.Attempt));
            npgsql.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("ats", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { TypedValue = [.. succeeded.Select(s => s.At.ToUniversalTime())] });
            command.AddParameter("owner", owner);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                applied.Add(reader.GetInt64(0));
            }

            return;
        }

        await using var statement = Command(connection, transaction, string.Format(System.Globalization.CultureInfo.InvariantCulture, "UPDATE jobs " + Set, "@at") + $" WHERE {Guard}");
        var id = statement.AddParameter("id");
        var attempt = statement.AddParameter("attempt");
        var at = statement.AddParameter("at");
        statement.AddParameter("owner", owner);
        foreach (var outcome in succeeded)
        {
            id.Value = outcome.Id;
            attempt.Value = outcome.Attempt;
            at.Value = dialect.Value(outcome.At);
            if (await statement.ExecuteNonQueryAsync(ct) == 1)
            {
                applied.Add(outcome.Id);
            }
        }
    }

    // ---- maintenance ----

    /// <summary>
    /// Puts running jobs whose lease expired back in the queue (or discards them when out of attempts), recording the
    /// expiry in their error history. Returns how many were rescued.
    /// </summary>
    public async Task<int> RescueAsync(DateTimeOffset now, CancellationToken ct)
    {
        var sql =
            "UPDATE jobs SET state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'retryable' END, " +
            "finalized_at = CASE WHEN attempt >= max_attempts THEN @now END, run_at = @now, lease_expires_at = NULL, " +
            $"{AppendError}, unique_lock = CASE WHEN attempt >= max_attempts THEN {LockWhenFinal} ELSE {LockWhenQueued} END " +
            "WHERE state = 'running' AND lease_expires_at < @now";
        for (var round = 0; ; round++)
        {
            try
            {
                await using var connection = await OpenAsync(ct);
                await using var transaction = await connection.BeginTransactionAsync(ct);
                await using var command = Command(connection, transaction, sql);
                command.AddParameter("now", dialect.Value(now));
                command.AddParameter("error_at", now.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                command.AddParameter("error", "The lease expired without a heartbeat: the worker stopped or lost the database. Rescued for another attempt.");
                var rescued = await command.ExecuteNonQueryAsync(ct);
                await transaction.CommitAsync(ct);
                return rescued;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation && round < 3)
            {
            }
        }
    }

    /// <summary>Deletes up to <paramref name="batch"/> finished jobs older than their retention; call until it returns less than the batch.</summary>
    public async Task<int> PruneAsync(DateTimeOffset succeededBefore, DateTimeOffset failedBefore, int batch, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using var command = Command(connection, transaction,
            "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state IN ('succeeded', 'discarded', 'cancelled') AND finalized_at < @oldest " +
            "AND (finalized_at < @succeeded AND state = 'succeeded' OR finalized_at < @failed AND state <> 'succeeded') LIMIT @batch)");
        command.AddParameter("oldest", dialect.Value(succeededBefore > failedBefore ? succeededBefore : failedBefore));
        command.AddParameter("succeeded", dialect.Value(succeededBefore));
        command.AddParameter("failed", dialect.Value(failedBefore));
        command.AddParameter("batch", batch);
        var deleted = await command.ExecuteNonQueryAsync(ct);
        await transaction.CommitAsync(ct);
        return deleted;
    }

    /// <summary>Jobs per queue and state, for the states that are not final.</summary>
    public async Task<IReadOnlyList<QueueDepth>> DepthsAsync(CancellationToken ct)
    {
        // Two statements whose predicates match the partial indexes (claim, lease) exactly, so each reads only the
        // unfinished rows; one statement over the three states would scan the whole table, history included.
        await using var connection = await OpenAsync(ct);
        var depths = new List<QueueDepth>();
        foreach (var sql in (string[])[
            "SELECT queue, state, count(*) FROM jobs WHERE state IN ('available', 'retryable') GROUP BY queue, state",
            "SELECT queue, 'running', count(*) FROM jobs WHERE state = 'running' GROUP BY queue"])
        {
            await using var command = Command(connection, null, sql);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                depths.Add(new QueueDepth(reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
            }
        }

        return [.. depths.OrderBy(d => d.Queue, StringComparer.Ordinal).ThenBy(d => d.State, StringComparer.Ordinal)];
    }

    // ---- admin ----

    /// <summary>Cancels a queued job at once; for a running one, records the request (its worker cancels the token).</summary>
    public async Task<JobChange> CancelAsync(long id, Guid? workspaceId, DateTimeOffset now, CancellationToken ct)
    {
        var ids = await CancelWhereAsync(ScopeFilter("id = @id", workspaceId), c => c.AddParameter("id", id), workspaceId, now, ct);
        return ids.Cancelled > 0 ? JobChange.Done
            : ids.Requested > 0 ? JobChange.Running
            : await ExistsAsync(id, workspaceId, ct) ? JobChange.AlreadyFinished : JobChange.NotFound;
    }

    /// <summary>Cancels every queued job matching the filter and requests cancellation of every running one.</summary>
    public async Task<(int Cancelled, int Requested)> CancelWhereAsync(string filter, Action<DbCommand> bind, Guid? workspaceId, DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        int cancelled;
        await using (var queued = Command(connection, transaction,
            $"UPDATE jobs SET state = 'cancelled', finalized_at = @now, {AppendError}, unique_lock = {LockWhenFinal} " +
            $"WHERE {filter} AND state IN ('available', 'retryable')"))
        {
            BindFilter(queued, bind, workspaceId, now);
            queued.AddParameter("error_at", now.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            queued.AddParameter("error", "Cancelled before it ran.");
            cancelled = await queued.ExecuteNonQueryAsync(ct);
        }

        var requested = new List<long>();
        await using (var running = Command(connection, transaction,
            $"UPDATE jobs SET cancel_requested_at = @now WHERE {filter} AND state = 'running' AND cancel_requested_at IS NULL RETURNING id"))
        {
            BindFilter(running, bind, workspaceId, now);
            await using var reader = await running.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                requested.Add(reader.GetInt64(0));
            }
        }

        foreach (var job in requested)
        {
            // Delivered at commit to every node; the one holding the job cancels its token.
            if (postgres)
            {
                await using var notify = Command(connection, transaction, "SELECT pg_notify(@channel, @id)");
                notify.AddParameter("channel", CancelChannel);
                notify.AddParameter("id", job.ToString(System.Globalization.CultureInfo.InvariantCulture));
                await notify.ExecuteNonQueryAsync(ct);
            }
        }

        await transaction.CommitAsync(ct);
        foreach (var job in requested)
        {
            signals.Cancel(job);
        }

        return (cancelled, requested.Count);
    }

    /// <summary>Makes a job available now (with one more attempt if it had none left); a running job is left alone.</summary>
    public async Task<JobChange> RetryAsync(long id, Guid? workspaceId, DateTimeOffset now, CancellationToken ct)
    {
        var retried = await RetryWhereAsync(ScopeFilter("id = @id", workspaceId), c => c.AddParameter("id", id), workspaceId, now, ct);
        return retried > 0 ? JobChange.Done
            : await StateAsync(id, workspaceId, ct) switch
            {
                null => JobChange.NotFound,
                JobStates.Running => JobChange.Running,
                _ => JobChange.Done,
            };
    }

    public async Task<int> RetryWhereAsync(string filter, Action<DbCommand> bind, Guid? workspaceId, DateTimeOffset now, CancellationToken ct)
    {
        for (var round = 0; ; round++)
        {
            try
            {
                await using var connection = await OpenAsync(ct);
                await using var transaction = await connection.BeginTransactionAsync(ct);
                var queues = new HashSet<string>(StringComparer.Ordinal);
                var retried = 0;
                await using (var command = Command(connection, transaction,
                    "UPDATE jobs SET state = 'available', run_at = @now, finalized_at = NULL, cancel_requested_at = NULL, " +
                    "max_attempts = CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE max_attempts END, " +
                    $"unique_lock = {LockWhenQueued} WHERE {filter} AND state <> 'running' RETURNING queue"))
                {
                    BindFilter(command, bind, workspaceId, now);
                    await using var reader = await command.ExecuteReaderAsync(ct);
                    while (await reader.ReadAsync(ct))
                    {
                        queues.Add(reader.GetString(0));
                        retried++;
                    }
                }

                await NotifyAsync(connection, transaction, queues, ct);
                await transaction.CommitAsync(ct);
                foreach (var queue in queues)
                {
                    signals.Wake(queue);
                }

                return retried;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation && round < 3)
            {
            }
        }
    }

    /// <summary>Adds the workspace condition (parameter @workspace) when the caller is a workspace.</summary>
    internal static string ScopeFilter(string filter, Guid? workspaceId) => workspaceId is null ? filter : filter + " AND workspace_id = @workspace";

    private void BindFilter(DbCommand command, Action<DbCommand> bind, Guid? workspaceId, DateTimeOffset now)
    {
        bind(command);
        if (workspaceId is { } w)
        {
            command.AddParameter("workspace", dialect.Value(w));
        }

        command.AddParameter("now", dialect.Value(now));
    }

    private async Task<bool> ExistsAsync(long id, Guid? workspaceId, CancellationToken ct) => await StateAsync(id, workspaceId, ct) is not null;

    private async Task<string?> StateAsync(long id, Guid? workspaceId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null, "SELECT state FROM jobs WHERE " + ScopeFilter("id = @id", workspaceId));
        command.AddParameter("id", id);
        if (workspaceId is { } w)
        {
            command.AddParameter("workspace", dialect.Value(w));
        }

        return await command.ExecuteScalarAsync(ct) as string;
    }

    /// <summary>
    /// PostgreSQL: claims and heartbeats commit without waiting for the WAL flush. Losing one in a crash only makes
    /// the job claimable again (at-least-once, as any crash does), and the attempt's completion, which waits for the
    /// flush, makes the claim before it durable too. It takes one disk flush out of every claim cycle.
    /// </summary>
    private async Task RelaxDurabilityAsync(DbConnection connection, DbTransaction transaction, CancellationToken ct)
    {
        if (postgres)
        {
            await using var command = Command(connection, transaction, "SET LOCAL synchronous_commit = off");
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    private static void AddIdsAndAttempts(NpgsqlCommand command, IEnumerable<long> ids, IEnumerable<int> attempts)
    {
        command.Parameters.Add(new NpgsqlParameter<long[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. ids] });
        command.Parameters.Add(new NpgsqlParameter<int[]>("attempts", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = [.. attempts] });
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }
}
