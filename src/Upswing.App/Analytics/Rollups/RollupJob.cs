using Upswing.Jobs;
using Upswing.Workspaces;

namespace Upswing.Analytics;

/// <summary>Runs one rollup (by name, e.g. "daily") for every workspace: what the periodic <c>rollup-NAME</c> jobs enqueue.</summary>
public sealed record RollupJob(string Rollup) : IJobArgs
{
    public static string Kind => "analytics.rollup";
}

internal sealed class RollupJobHandler(RollupRunner runner, WorkspaceService workspaces) : IJobHandler<RollupJob>
{
    public async Task<JobResult> RunAsync(JobContext<RollupJob> job, CancellationToken ct)
    {
        if (!runner.Jobs.Contains(job.Args.Rollup))
        {
            return JobResult.Discard($"No rollup named '{job.Args.Rollup}'.");
        }

        // Every workspace is tried even when one fails (its failure is in rollup_runs); the job then fails so it shows.
        var failed = 0;
        foreach (var workspace in await workspaces.ListAllAsync(ct))
        {
            try
            {
                await runner.RunAsync(workspace.Id, job.Args.Rollup, null, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failed++;
            }
        }

        return failed == 0 ? JobResult.Done : throw new InvalidOperationException($"The {job.Args.Rollup} rollup failed for {failed} workspaces; see rollup_runs.");
    }
}

/// <summary>Deletes rollup runs older than Analytics:KeepRuns; the periodic <c>prune-rollup-runs</c> job enqueues it hourly.</summary>
public sealed record PruneRollupRuns : IJobArgs
{
    public static string Kind => "analytics.prune-rollup-runs";
}

internal sealed class PruneRollupRunsHandler(RollupRunner runner, Microsoft.Extensions.Options.IOptions<AnalyticsOptions> options, TimeProvider time) : IJobHandler<PruneRollupRuns>
{
    public async Task<JobResult> RunAsync(JobContext<PruneRollupRuns> job, CancellationToken ct)
    {
        await runner.PruneRunsAsync(time.GetUtcNow() - options.Value.KeepRuns, ct);
        return JobResult.Done;
    }
}
