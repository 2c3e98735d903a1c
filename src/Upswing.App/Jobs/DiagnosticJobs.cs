namespace Upswing.Jobs;

/// <summary>A job that does nothing: for checking that workers run, and for measuring the queue itself.</summary>
public sealed record NoopJob : IJobArgs
{
    public static string Kind => "upswing.noop";
}

/// <summary>A job that waits (honouring cancellation): for checking leases, heartbeats, cancellation and shutdown.</summary>
public sealed record SleepJob(int Milliseconds) : IJobArgs
{
    public static string Kind => "upswing.sleep";
}

internal sealed class NoopJobHandler : IJobHandler<NoopJob>
{
    public Task<JobResult> RunAsync(JobContext<NoopJob> job, CancellationToken ct) => Task.FromResult(JobResult.Done);
}

internal sealed class SleepJobHandler(TimeProvider time) : IJobHandler<SleepJob>
{
    public async Task<JobResult> RunAsync(JobContext<SleepJob> job, CancellationToken ct)
    {
        if (job.Args.Milliseconds is < 0 or > 86_400_000)
        {
            return JobResult.Discard("milliseconds must be between 0 and 86400000.");
        }

        await Task.Delay(TimeSpan.FromMilliseconds(job.Args.Milliseconds), time, ct);
        return JobResult.Done;
    }
}

/// <summary>Deletes finished jobs past their retention (Jobs:KeepSucceeded, Jobs:KeepFailed), in batches.</summary>
public sealed record PruneJobs : IJobArgs
{
    public static string Kind => "upswing.prune-jobs";
}

internal sealed class PruneJobsHandler(JobStore store, Microsoft.Extensions.Options.IOptions<JobsOptions> options, TimeProvider time) : IJobHandler<PruneJobs>
{
    private const int Batch = 1000;

    public async Task<JobResult> RunAsync(JobContext<PruneJobs> job, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        // Small batches: each is a short transaction, so pruning never holds locks the workers wait for.
        while (await store.PruneAsync(now - options.Value.KeepSucceeded, now - options.Value.KeepFailed, Batch, ct) == Batch)
        {
        }

        return JobResult.Done;
    }
}
