using System.Data.Common;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Upswing.Jobs;

/// <summary>
/// Runs on every node with workers, once a second: enqueues the periodic jobs whose tick has come (one job per tick
/// across all nodes, by unique key), rescues jobs whose lease expired, and refreshes the queue-depth gauges. Each
/// step is idempotent, so nodes need no leader.
/// </summary>
internal sealed partial class JobMaintenance(
    JobStore store, JobQueue queue, PeriodicJobs periodic, JobMetrics metrics, IOptions<JobsOptions> options, TimeProvider time, ILogger<JobMaintenance> logger) : BackgroundService
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan DepthEvery = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.RunWorkers)
        {
            return;
        }

        var start = time.GetUtcNow();
        var next = periodic.Jobs.ToDictionary(j => j.Name, j => j.Schedule.Next(start), StringComparer.Ordinal);
        var nextRescue = start;
        var nextDepth = start;
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            try
            {
                foreach (var job in periodic.Jobs)
                {
                    var due = DueTicks(job.Schedule, next[job.Name], now);
                    foreach (var tick in due)
                    {
                        await EnqueueTickAsync(job, tick, stoppingToken);
                    }

                    if (due.Count > 0)
                    {
                        next[job.Name] = job.Schedule.Next(due[^1]);
                    }
                }

                if (now >= nextRescue)
                {
                    var rescued = await store.RescueAsync(now, stoppingToken);
                    if (rescued > 0)
                    {
                        LogRescued(logger, rescued);
                    }

                    nextRescue = now + options.Value.RescueInterval;
                }

                if (now >= nextDepth)
                {
                    metrics.SetDepths(await store.DepthsAsync(stoppingToken));
                    nextDepth = now + DepthEvery;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (DbException ex)
            {
                LogFailed(logger, ex.GetType().Name, ex.Message);
            }

            // Wake for the next tick on time (a fixed one-second sleep would drift past ticks), at least once a second.
            var wake = next.Values.OfType<DateTimeOffset>().Append(time.GetUtcNow() + Tick).Min() - time.GetUtcNow();
            try
            {
                await Task.Delay(wake < TimeSpan.Zero ? TimeSpan.Zero : wake, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// The ticks to enqueue now: every tick from the scheduled one up to now, so a late wake-up loses none, but at
    /// most the latest <see cref="MaxCatchUp"/> (a node that was stopped for a long time does not replay them all;
    /// ticks from before the process started are never enqueued, as with cron).
    /// </summary>
    internal static IReadOnlyList<DateTimeOffset> DueTicks(CronSchedule schedule, DateTimeOffset? scheduled, DateTimeOffset now)
    {
        var due = new List<DateTimeOffset>();
        for (var tick = scheduled; tick is { } t && t <= now; tick = schedule.Next(t))
        {
            due.Add(t);
        }

        return due.Count <= MaxCatchUp ? due : due[^MaxCatchUp..];
    }

    internal const int MaxCatchUp = 10;

    private async Task EnqueueTickAsync(PeriodicJob job, DateTimeOffset tick, CancellationToken ct)
    {
        var result = await queue.EnqueueRawAsync(job.Kind, job.Args, new EnqueueOptions
        {
            Queue = job.Queue,
            AllowUnknownKind = true,
            Unique = new JobUnique(job.UniqueKey(tick), UniqueScope.ForPeriod),
        }, ct);
        LogTick(logger, job.Name, tick, result.Duplicate);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Periodic job {Name}: tick {Tick:O} enqueued; already enqueued by another node: {Duplicate}")]
    private static partial void LogTick(ILogger logger, string name, DateTimeOffset tick, bool duplicate);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rescued {Count} jobs whose lease expired")]
    private static partial void LogRescued(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job maintenance failed ({Error}: {Message}); trying again")]
    private static partial void LogFailed(ILogger logger, string error, string message);
}
