namespace Upswing.Jobs;

/// <summary>
/// The arguments of one kind of job. The kind is the stable name stored with every job of this type: renaming the
/// class is safe, renaming the kind orphans queued jobs.
/// </summary>
public interface IJobArgs
{
    static abstract string Kind { get; }
}

/// <summary>Runs jobs of one kind. One handler per kind; it is resolved from a fresh DI scope for every attempt.</summary>
public interface IJobHandler<TArgs>
    where TArgs : IJobArgs
{
    /// <summary>
    /// Does the work. Return <see cref="JobResult.Done"/> on success; throw to fail the attempt (it is retried with
    /// backoff until its attempts run out). <paramref name="ct"/> fires when the job is cancelled, its lease is lost,
    /// it runs past its kind's timeout, or the node stops.
    /// </summary>
    Task<JobResult> RunAsync(JobContext<TArgs> job, CancellationToken ct);
}

/// <summary>One attempt of a job as its handler sees it.</summary>
public sealed record JobContext<TArgs>(long Id, TArgs Args, int Attempt, int MaxAttempts, Guid? WorkspaceId, DateTimeOffset RunAt);

/// <summary>How an attempt ended, when it did not throw.</summary>
public readonly record struct JobResult
{
    private JobResult(JobResultKind kind, TimeSpan delay, string? reason)
    {
        Kind = kind;
        Delay = delay;
        Reason = reason;
    }

    internal JobResultKind Kind { get; }

    internal TimeSpan Delay { get; }

    internal string? Reason { get; }

    /// <summary>The work is done.</summary>
    public static JobResult Done { get; } = new(JobResultKind.Done, TimeSpan.Zero, null);

    /// <summary>Not now: run again after <paramref name="delay"/>. A snooze does not use up an attempt.</summary>
    public static JobResult Snooze(TimeSpan delay) => new(JobResultKind.Snooze, delay < TimeSpan.Zero ? TimeSpan.Zero : delay, null);

    /// <summary>The job can never succeed (bad arguments, a deleted resource): discard it now, without retries.</summary>
    public static JobResult Discard(string reason) => new(JobResultKind.Discard, TimeSpan.Zero, reason);
}

internal enum JobResultKind
{
    Done,
    Snooze,
    Discard,
}

/// <summary>The states of a job. Stored as these words, so SQL against the table reads naturally.</summary>
public static class JobStates
{
    /// <summary>Waiting for its run_at (now or later).</summary>
    public const string Available = "available";

    /// <summary>Held by a worker under a lease.</summary>
    public const string Running = "running";

    public const string Succeeded = "succeeded";

    /// <summary>Failed an attempt; waits for its backoff to pass.</summary>
    public const string Retryable = "retryable";

    /// <summary>Out of attempts, or discarded by its handler: a dead letter, kept with its error history.</summary>
    public const string Discarded = "discarded";

    public const string Cancelled = "cancelled";

    public static IReadOnlyList<string> All { get; } = [Available, Running, Succeeded, Retryable, Discarded, Cancelled];

    public static bool IsFinal(string state) => state is Succeeded or Discarded or Cancelled;
}

/// <summary>How long a unique key keeps a second job with the same key out.</summary>
public enum UniqueScope
{
    /// <summary>While a job with the key is available or retryable: once it runs, another may be queued.</summary>
    WhileQueued,

    /// <summary>While a job with the key is queued or running.</summary>
    WhileActive,

    /// <summary>
    /// Once per period: the key is taken for the period the job was enqueued in (periods count from the Unix epoch),
    /// whatever becomes of the job. Without a period, the key is taken for as long as the job is kept.
    /// </summary>
    ForPeriod,
}

/// <summary>A unique key and its scope. The key is per kind and workspace; a database unique index enforces it.</summary>
public sealed record JobUnique(string Key, UniqueScope Scope, TimeSpan? Period = null)
{
    public static JobUnique WhileQueued(string key) => new(key, UniqueScope.WhileQueued);

    public static JobUnique WhileActive(string key) => new(key, UniqueScope.WhileActive);

    public static JobUnique For(string key, TimeSpan period) => new(key, UniqueScope.ForPeriod, period);
}

/// <summary>Where and when a job runs. Anything left null comes from its kind's registration.</summary>
public sealed record EnqueueOptions
{
    public string? Queue { get; init; }

    /// <summary>1 (first) to 4 (last); 1 by default.</summary>
    public int? Priority { get; init; }

    /// <summary>Not before this time; now when null.</summary>
    public DateTimeOffset? RunAt { get; init; }

    public int? MaxAttempts { get; init; }

    /// <summary>The workspace the job works for; null for installation-wide work.</summary>
    public Guid? WorkspaceId { get; init; }

    public JobUnique? Unique { get; init; }

    /// <summary>Accept a kind this node has no handler for (another node, or a newer version, runs it).</summary>
    public bool AllowUnknownKind { get; init; }
}

/// <summary>The outcome of an enqueue: the job's id, and whether an existing job with the same unique key took its place.</summary>
public readonly record struct EnqueueResult(long Id, bool Duplicate);

/// <summary>What happened to a batch: how many jobs were inserted and how many unique keys were already taken.</summary>
public readonly record struct EnqueueManyResult(int Inserted, int Duplicates);
