using System.Data.Common;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Upswing.Audit;
using Upswing.Common;
using Upswing.Data;

namespace Upswing.Jobs;

/// <summary>A job as the admin API, CLI and dashboard show it.</summary>
public sealed record JobDto(
    long Id, Guid? WorkspaceId, string Kind, string Queue, string State, int Priority, int Attempt, int MaxAttempts, JsonElement Args,
    DateTimeOffset RunAt, DateTimeOffset CreatedAt, DateTimeOffset? AttemptedAt, DateTimeOffset? FinalizedAt,
    string? Worker, DateTimeOffset? LeaseExpiresAt, DateTimeOffset? CancelRequestedAt, string? UniqueKey, IReadOnlyList<JobError> Errors)
{
    /// <summary>One line per attempt: its error, or for the latest attempt without one, the job's state.</summary>
    public IReadOnlyList<JobAttempt> Attempts =>
        [.. Enumerable.Range(1, Attempt).Select(n => Errors.LastOrDefault(e => e.Attempt == n) is { } error
            ? new JobAttempt(n, "failed", error.At, error.Worker, error.Error)
            : new JobAttempt(n, n == Attempt ? State : "unknown", n == Attempt ? FinalizedAt ?? AttemptedAt : null, n == Attempt ? Worker : null, null))];
}

/// <summary>One entry of a job's error history.</summary>
public sealed record JobError(int Attempt, DateTimeOffset At, string? Worker, string Error);

public sealed record JobAttempt(int Number, string Outcome, DateTimeOffset? At, string? Worker, string? Error);

/// <summary>Which jobs to list or act on; every part is optional.</summary>
public sealed record JobFilter(string? State = null, string? Kind = null, string? Queue = null, long? BeforeId = null, int Limit = 50);

/// <summary>A queue's depth now, across all nodes.</summary>
public sealed record QueueStats(string Queue, long Available, long Scheduled, long Retryable, long Running);

/// <summary>A kind with failures: jobs waiting to retry now and dead letters of the last 24 hours.</summary>
public sealed record KindFailures(string Kind, long Retryable, long DiscardedLastDay);

/// <summary>The queue's health: depth, throughput, pickup latency and failing kinds.</summary>
public sealed record JobStats(
    IReadOnlyList<QueueStats> Queues, long SucceededLastMinute, long SucceededLastHour, long DiscardedLastHour,
    double? PickupP50Seconds, double? PickupP99Seconds, IReadOnlyList<KindFailures> FailingKinds);

/// <summary>Lists, inspects, retries and cancels jobs; a workspace caller sees only its workspace's jobs, the CLI and installation admins all.</summary>
public sealed class JobAdmin
{
    public const int MaxLimit = 200;

    private readonly UpswingDb db;
    private readonly JobStore store;
    private readonly AuditLog audit;
    private readonly TimeProvider time;

    internal JobAdmin(UpswingDb db, JobStore store, AuditLog audit, TimeProvider time)
    {
        this.db = db;
        this.store = store;
        this.audit = audit;
        this.time = time;
    }

    /// <summary>Checks a filter; null when valid.</summary>
    public static Failure? Validate(JobFilter filter)
    {
        if (filter.State is { } state && !JobStates.All.Contains(state))
        {
            return Failure.Invalid("state", $"The state is one of {string.Join(", ", JobStates.All)}.");
        }

        return filter.Limit is < 1 or > MaxLimit ? Failure.Invalid("limit", $"The limit must be between 1 and {MaxLimit}.") : null;
    }

    /// <summary>Jobs newest first (by id), filtered; <paramref name="workspaceId"/> null means every workspace and the installation's own jobs.</summary>
    public async Task<IReadOnlyList<JobDto>> ListAsync(Guid? workspaceId, JobFilter filter, CancellationToken ct)
    {
        var jobs = Scoped(workspaceId);
        if (filter.State is { } state)
        {
            jobs = jobs.Where(j => j.State == state);
        }

        if (filter.Kind is { } kind)
        {
            jobs = jobs.Where(j => j.Kind == kind);
        }

        if (filter.Queue is { } queue)
        {
            jobs = jobs.Where(j => j.Queue == queue);
        }

        if (filter.BeforeId is { } before)
        {
            jobs = jobs.Where(j => j.Id < before);
        }

        var rows = await jobs.OrderByDescending(j => j.Id).Take(Math.Clamp(filter.Limit, 1, MaxLimit)).ToListAsync(ct);
        return [.. rows.Select(ToDto)];
    }

    public async Task<JobDto?> GetAsync(Guid? workspaceId, long id, CancellationToken ct) =>
        await Scoped(workspaceId).FirstOrDefaultAsync(j => j.Id == id, ct) is { } job ? ToDto(job) : null;

    /// <summary>Makes a job available now. A running job cannot be retried (cancel it first).</summary>
    public async Task<Result<JobDto>> RetryAsync(Guid? workspaceId, Actor actor, long id, CancellationToken ct)
    {
        var change = await store.RetryAsync(id, workspaceId, time.GetUtcNow(), ct);
        return await AfterChangeAsync(workspaceId, actor, id, change, "job.retried", ct);
    }

    /// <summary>Cancels a queued job at once; a running job's token fires on its node and it ends as cancelled.</summary>
    public async Task<Result<JobDto>> CancelAsync(Guid? workspaceId, Actor actor, long id, CancellationToken ct)
    {
        var change = await store.CancelAsync(id, workspaceId, time.GetUtcNow(), ct);
        return await AfterChangeAsync(workspaceId, actor, id, change, "job.cancelled", ct);
    }

    /// <summary>Retries every job in <paramref name="filter"/>'s state (discarded, cancelled or retryable) matching its kind and queue.</summary>
    public async Task<Result<int>> RetryManyAsync(Guid? workspaceId, Actor actor, JobFilter filter, CancellationToken ct)
    {
        if (filter.State is not (JobStates.Discarded or JobStates.Cancelled or JobStates.Retryable))
        {
            return Failure.Invalid("state", "Bulk retry needs the state of the jobs to retry: discarded, cancelled or retryable.");
        }

        var (sql, bind) = Where(filter);
        var count = await store.RetryWhereAsync(JobStore.ScopeFilter(sql, workspaceId), bind, workspaceId, time.GetUtcNow(), ct);
        await AuditAsync(workspaceId, actor, "job.bulk_retried", "filter", new { filter.State, filter.Kind, filter.Queue, count }, ct);
        return count;
    }

    /// <summary>Cancels every queued job matching the filter and requests cancellation of every running one.</summary>
    public async Task<Result<(int Cancelled, int Requested)>> CancelManyAsync(Guid? workspaceId, Actor actor, JobFilter filter, CancellationToken ct)
    {
        if (filter is { State: null, Kind: null, Queue: null })
        {
            return Failure.Invalid("kind", "Bulk cancel needs a filter: a state, a kind or a queue.");
        }

        if (filter.State is { } state && JobStates.IsFinal(state))
        {
            return Failure.Invalid("state", "Finished jobs cannot be cancelled; the state must be available, retryable or running.");
        }

        var (sql, bind) = Where(filter);
        var result = await store.CancelWhereAsync(JobStore.ScopeFilter(sql, workspaceId), bind, workspaceId, time.GetUtcNow(), ct);
        await AuditAsync(workspaceId, actor, "job.bulk_cancelled", "filter", new { filter.State, filter.Kind, filter.Queue, result.Cancelled, result.Requested }, ct);
        return result;
    }

    /// <summary>Depth per queue, throughput, pickup latency and failing kinds, over the caller's jobs.</summary>
    public async Task<JobStats> StatsAsync(Guid? workspaceId, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var jobs = Scoped(workspaceId);
        var depth = await jobs.Where(j => j.State == JobStates.Available || j.State == JobStates.Retryable || j.State == JobStates.Running)
            .GroupBy(j => new { j.Queue, j.State, Due = j.RunAt <= now })
            .Select(g => new { g.Key.Queue, g.Key.State, g.Key.Due, Count = g.LongCount() })
            .ToListAsync(ct);
        var queues = depth.GroupBy(d => d.Queue).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => new QueueStats(
            g.Key,
            g.Where(d => d.State == JobStates.Available && d.Due).Sum(d => d.Count),
            g.Where(d => d.State == JobStates.Available && !d.Due).Sum(d => d.Count),
            g.Where(d => d.State == JobStates.Retryable).Sum(d => d.Count),
            g.Where(d => d.State == JobStates.Running).Sum(d => d.Count))).ToList();

        var minute = now.AddMinutes(-1);
        var hour = now.AddHours(-1);
        var day = now.AddDays(-1);
        var succeededLastHour = await jobs.Where(j => j.State == JobStates.Succeeded && j.FinalizedAt > hour).Select(j => j.FinalizedAt).ToListAsync(ct);
        var discardedLastHour = await jobs.CountAsync(j => j.State == JobStates.Discarded && j.FinalizedAt > hour, ct);

        // Pickup latency over the jobs finished in the last five minutes (at most 10,000 of them).
        var recent = now.AddMinutes(-5);
        var waits = (await jobs.Where(j => (j.State == JobStates.Succeeded || j.State == JobStates.Discarded) && j.FinalizedAt > recent && j.AttemptedAt != null)
                .OrderByDescending(j => j.FinalizedAt).Take(10_000).Select(j => new { j.AttemptedAt, j.RunAt }).ToListAsync(ct))
            .Select(j => Math.Max(0, (j.AttemptedAt!.Value - j.RunAt).TotalSeconds)).Order().ToList();

        var retryable = await jobs.Where(j => j.State == JobStates.Retryable).GroupBy(j => j.Kind).Select(g => new { g.Key, Count = g.LongCount() }).ToListAsync(ct);
        var discarded = await jobs.Where(j => j.State == JobStates.Discarded && j.FinalizedAt > day).GroupBy(j => j.Kind).Select(g => new { g.Key, Count = g.LongCount() }).ToListAsync(ct);
        var failing = retryable.Select(r => r.Key).Union(discarded.Select(d => d.Key)).Select(kind => new KindFailures(
                kind, retryable.FirstOrDefault(r => r.Key == kind)?.Count ?? 0, discarded.FirstOrDefault(d => d.Key == kind)?.Count ?? 0))
            .OrderByDescending(k => k.Retryable + k.DiscardedLastDay).ThenBy(k => k.Kind, StringComparer.Ordinal).ToList();

        return new JobStats(queues, succeededLastHour.Count(f => f > minute), succeededLastHour.Count, discardedLastHour,
            Percentile(waits, 0.50), Percentile(waits, 0.99), failing);
    }

    internal static double? Percentile(IReadOnlyList<double> sorted, double q) =>
        sorted.Count == 0 ? null : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

    private IQueryable<Job> Scoped(Guid? workspaceId) =>
        workspaceId is { } w ? db.Set<Job>().AsNoTracking().Where(j => j.WorkspaceId == w) : db.Set<Job>().AsNoTracking();

    private async Task<Result<JobDto>> AfterChangeAsync(Guid? workspaceId, Actor actor, long id, JobChange change, string action, CancellationToken ct)
    {
        switch (change)
        {
            case JobChange.NotFound:
                return Failure.NotFound($"No job {id}.");
            case JobChange.AlreadyFinished:
                return Failure.Conflict($"Job {id} has already finished.");
            case JobChange.Running when action == "job.retried":
                return Failure.Conflict($"Job {id} is running; cancel it first, or wait for it to finish.");
        }

        var job = await GetAsync(workspaceId, id, ct);
        if (job is null)
        {
            return Failure.NotFound($"No job {id}.");
        }

        await AuditAsync(job.WorkspaceId, actor, action, id.ToString(System.Globalization.CultureInfo.InvariantCulture), new { job.Kind, job.State, job.Attempt }, ct);
        return job;
    }

    /// <summary>Job actions on a workspace's jobs go to that workspace's audit log; installation jobs have none.</summary>
    private async Task AuditAsync(Guid? workspaceId, Actor actor, string action, string resourceId, object after, CancellationToken ct)
    {
        if (workspaceId is { } w)
        {
            audit.Record(db, w, actor, action, "job", resourceId, null, after);
            await db.SaveChangesAsync(ct);
        }
    }

    private static (string Sql, Action<DbCommand> Bind) Where(JobFilter filter)
    {
        var parts = new List<string> { "1 = 1" };
        if (filter.State is not null)
        {
            parts.Add("state = @f_state");
        }

        if (filter.Kind is not null)
        {
            parts.Add("kind = @f_kind");
        }

        if (filter.Queue is not null)
        {
            parts.Add("queue = @f_queue");
        }

        return (string.Join(" AND ", parts), command =>
        {
            if (filter.State is { } state)
            {
                command.AddParameter("f_state", state);
            }

            if (filter.Kind is { } kind)
            {
                command.AddParameter("f_kind", kind);
            }

            if (filter.Queue is { } queue)
            {
                command.AddParameter("f_queue", queue);
            }
        }
        );
    }

    private static JobDto ToDto(Job job) => new(
        job.Id, job.WorkspaceId, job.Kind, job.Queue, job.State, job.Priority, job.Attempt, job.MaxAttempts, ParseArgs(job.Args),
        job.RunAt, job.CreatedAt, job.AttemptedAt, job.FinalizedAt, job.LeaseOwner, job.LeaseExpiresAt, job.CancelRequestedAt, job.UniqueKey,
        ParseErrors(job.Errors));

    private static JsonElement ParseArgs(string args)
    {
        try
        {
            using var document = JsonDocument.Parse(args);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(args);
        }
    }

    private static List<JobError> ParseErrors(string? errors)
    {
        if (string.IsNullOrEmpty(errors))
        {
            return [];
        }

        using var document = JsonDocument.Parse(errors);
        return [.. document.RootElement.EnumerateArray().Select(e => new JobError(
            e.TryGetProperty("attempt", out var a) && a.TryGetInt32(out var attempt) ? attempt : 0,
            e.TryGetProperty("at", out var at) && at.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(at.GetString(), System.Globalization.CultureInfo.InvariantCulture, out var when) ? when : default,
            e.TryGetProperty("worker", out var w) && w.ValueKind == JsonValueKind.String ? w.GetString() : null,
            e.TryGetProperty("error", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() ?? string.Empty : string.Empty))];
    }
}
