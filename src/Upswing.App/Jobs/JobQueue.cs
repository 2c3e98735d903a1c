using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Microsoft.EntityFrameworkCore.Storage;
using Upswing.Data;

namespace Upswing.Jobs;

/// <summary>
/// Enqueues jobs. On its own connection a job is committed before the call returns; the overloads that take an
/// <see cref="UpswingDb"/> or a <see cref="DbTransaction"/> write inside the caller's transaction, so the job exists
/// if and only if the caller's business write commits.
/// </summary>
public sealed class JobQueue
{
    private readonly JobStore store;
    private readonly JobKinds kinds;
    private readonly JobSignals signals;
    private readonly TimeProvider time;

    internal JobQueue(JobStore store, JobKinds kinds, JobSignals signals, TimeProvider time)
    {
        this.store = store;
        this.kinds = kinds;
        this.signals = signals;
        this.time = time;
    }

    /// <summary>Enqueues one job and commits it.</summary>
    public Task<EnqueueResult> EnqueueAsync<TArgs>(TArgs args, EnqueueOptions? options = null, CancellationToken ct = default)
        where TArgs : IJobArgs => EnqueueRawAsync(TArgs.Kind, JsonSerializer.Serialize(args, JobKinds.Json), options, ct);

    /// <summary>Enqueues one job inside <paramref name="db"/>'s current transaction (begin one first).</summary>
    public async Task<EnqueueResult> EnqueueAsync<TArgs>(UpswingDb db, TArgs args, EnqueueOptions? options = null, CancellationToken ct = default)
        where TArgs : IJobArgs
    {
        var transaction = db.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("Begin a transaction on the context first (db.Database.BeginTransactionAsync): the job must commit with your write.");
        return await EnqueueAsync(transaction, args, options, ct);
    }

    /// <summary>Enqueues one job inside the caller's open transaction.</summary>
    public async Task<EnqueueResult> EnqueueAsync<TArgs>(DbTransaction transaction, TArgs args, EnqueueOptions? options = null, CancellationToken ct = default)
        where TArgs : IJobArgs
    {
        var job = Prepare(TArgs.Kind, JsonSerializer.Serialize(args, JobKinds.Json), options);
        var connection = transaction.Connection ?? throw new InvalidOperationException("The transaction has no connection.");
        var result = await store.InsertAsync(connection, transaction, job, time.GetUtcNow(), ct);
        await store.NotifyAsync(connection, transaction, [job.Queue], ct);
        // Not committed yet: a woken SQLite worker waits for the write lock, so it sees the job once the caller commits.
        signals.Wake(job.Queue);
        return result;
    }

    /// <summary>Enqueues many jobs of one kind in one transaction.</summary>
    public Task<EnqueueManyResult> EnqueueManyAsync<TArgs>(IEnumerable<TArgs> args, EnqueueOptions? options = null, CancellationToken ct = default)
        where TArgs : IJobArgs =>
        EnqueueManyRawAsync(TArgs.Kind, args.Select(a => JsonSerializer.Serialize(a, JobKinds.Json)).ToList(), options, ct);

    /// <summary>Enqueues a job of a kind known by name, with JSON arguments (the CLI, periodic jobs from configuration).</summary>
    public async Task<EnqueueResult> EnqueueRawAsync(string kind, string args, EnqueueOptions? options, CancellationToken ct)
    {
        var job = Prepare(kind, args, options);
        var now = time.GetUtcNow();
        await using var connection = await store.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var result = await store.InsertAsync(connection, transaction, job, now, ct);
        if (!result.Duplicate && job.RunAt <= now)
        {
            await store.NotifyAsync(connection, transaction, [job.Queue], ct);
        }

        await transaction.CommitAsync(ct);
        signals.Wake(job.Queue);
        return result;
    }

    public async Task<EnqueueManyResult> EnqueueManyRawAsync(string kind, IReadOnlyList<string> args, EnqueueOptions? options, CancellationToken ct)
    {
        var jobs = args.Select(a => Prepare(kind, a, options)).ToList();
        await using var connection = await store.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var result = await store.InsertManyAsync(connection, transaction, jobs, time.GetUtcNow(), ct);
        var queues = jobs.Select(j => j.Queue).Distinct(StringComparer.Ordinal).ToList();
        await store.NotifyAsync(connection, transaction, queues, ct);
        await transaction.CommitAsync(ct);
        foreach (var queue in queues)
        {
            signals.Wake(queue);
        }

        return result;
    }

    private NewJob Prepare(string kind, string args, EnqueueOptions? options)
    {
        options ??= new EnqueueOptions();
        var registered = kinds.Find(kind)?.Options;
        if (registered is null && kinds.Names.Count > 0 && !options.AllowUnknownKind)
        {
            throw new ArgumentException($"No handler is registered for the job kind '{kind}'.", nameof(kind));
        }

        var priority = options.Priority ?? registered?.Priority ?? 1;
        if (priority is < 1 or > 4)
        {
            throw new ArgumentOutOfRangeException(nameof(options), priority, "A job's priority is 1 (first) to 4 (last).");
        }

        var maxAttempts = options.MaxAttempts ?? registered?.MaxAttempts ?? 25;
        if (maxAttempts < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), maxAttempts, "A job needs at least one attempt.");
        }

        var now = time.GetUtcNow();
        string? uniqueKey = null;
        string? scope = null;
        if (options.Unique is { } unique)
        {
            // Long keys are hashed so the indexed column stays small; the hash is as unique as the key.
            var key = unique.Key.Length <= 256 ? unique.Key : "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(unique.Key)));
            uniqueKey = $"{kind}|{options.WorkspaceId?.ToString() ?? "-"}|{key}";
            scope = unique.Scope switch
            {
                UniqueScope.WhileQueued => "queued",
                UniqueScope.WhileActive => "active",
                _ => "period",
            };
            if (unique is { Scope: UniqueScope.ForPeriod, Period: { } period })
            {
                if (period <= TimeSpan.Zero)
                {
                    throw new ArgumentOutOfRangeException(nameof(options), period, "The period must be positive.");
                }

                // The period the job was enqueued in, counted from the Unix epoch: every node computes the same bucket.
                var start = now.UtcTicks - ((now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) % period.Ticks);
                uniqueKey += "|" + new DateTimeOffset(start, TimeSpan.Zero).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            }
        }

        return new NewJob(options.WorkspaceId, kind, options.Queue ?? registered?.Queue ?? JobKinds.DefaultQueue, args, priority, maxAttempts,
            options.RunAt ?? now, uniqueKey, scope);
    }
}
