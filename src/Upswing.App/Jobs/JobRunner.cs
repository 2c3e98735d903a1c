using System.Collections.Concurrent;
using System.Data.Common;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Upswing.Jobs;

/// <summary>
/// This node's workers. Per queue, one producer claims as many due jobs as it has free workers, in one statement,
/// and starts each on the thread pool; one heartbeat extends the leases of everything running here; one completer
/// writes finished attempts in batches. On stop: no more claims, running jobs get <see cref="JobsOptions.ShutdownTimeout"/>
/// to finish, then their tokens fire and what still runs is released back to the queue.
/// </summary>
internal sealed partial class JobRunner : BackgroundService
{
    private readonly JobStore store;
    private readonly JobKinds kinds;
    private readonly JobSignals signals;
    private readonly JobMetrics metrics;
    private readonly IServiceProvider services;
    private readonly JobsOptions options;
    private readonly TimeProvider time;
    private readonly ILogger<JobRunner> logger;
    private readonly ConcurrentDictionary<long, RunningJob> running = new();
    private readonly Channel<JobOutcome> outcomes = Channel.CreateUnbounded<JobOutcome>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, QueueWorkers> queues;
    private readonly CancellationTokenSource hardStop = new();
    private readonly string queueList;

    public JobRunner(JobStore store, JobKinds kinds, JobSignals signals, JobMetrics metrics, IServiceProvider services, IOptions<JobsOptions> options, TimeProvider time, ILogger<JobRunner> logger)
    {
        this.store = store;
        this.kinds = kinds;
        this.signals = signals;
        this.metrics = metrics;
        this.services = services;
        this.options = options.Value;
        this.time = time;
        this.logger = logger;
        queues = this.options.Queues.ToDictionary(q => q.Key, q => new QueueWorkers(q.Key, q.Value.Workers), StringComparer.Ordinal);
        queueList = string.Join(", ", queues.Values.Select(q => $"{q.Name}×{q.Workers}"));
        // Unique per process start: a restarted node never mistakes its predecessor's leases for its own.
        Owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";
    }

    /// <summary>The lease owner this node writes on the jobs it claims.</summary>
    public string Owner { get; }

    /// <summary>Jobs running on this node now.</summary>
    public int Running => running.Count;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.RunWorkers || queues.Count == 0)
        {
            return;
        }

        signals.QueueWoken += OnQueueWoken;
        signals.CancelRequested += OnCancelRequested;
        using var heartbeatStop = new CancellationTokenSource();
        var completer = CompleteAsync();
        var heartbeat = HeartbeatAsync(heartbeatStop.Token);
        LogStarted(logger, Owner, queueList);
        try
        {
            await Task.WhenAll(queues.Values.Select(q => ProduceAsync(q, stoppingToken)));
        }
        finally
        {
            await DrainAsync();
            await heartbeatStop.CancelAsync();
            await heartbeat;
            outcomes.Writer.TryComplete();
            await completer;
            signals.QueueWoken -= OnQueueWoken;
            signals.CancelRequested -= OnCancelRequested;
        }
    }

    private void OnQueueWoken(string queue)
    {
        if (queues.TryGetValue(queue, out var workers))
        {
            workers.Notify();
        }
    }

    private void OnCancelRequested(long id)
    {
        if (running.TryGetValue(id, out var job))
        {
            job.Stop(StopReason.Cancelled);
        }
    }

    private async Task ProduceAsync(QueueWorkers queue, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var free = queue.Free;
            var filled = false;
            if (free > 0)
            {
                try
                {
                    var now = time.GetUtcNow();
                    var claimed = await store.ClaimAsync(queue.Name, Math.Min(free, 500), Owner, now, now + options.Lease, stop);
                    foreach (var job in claimed)
                    {
                        queue.Take();
                        metrics.PickedUp(job.Queue, now - job.RunAt);
                        var entry = new RunningJob(job, hardStop.Token);
                        running[job.Id] = entry;
                        entry.Task = Task.Run(() => RunAsync(entry, queue), CancellationToken.None);
                    }

                    filled = claimed.Count == free;
                    queue.Hungry = filled;
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (DbException ex)
                {
                    LogClaimFailed(logger, queue.Name, ex.GetType().Name, ex.Message);
                }
            }

            if (filled && queue.Free > 0)
            {
                continue;
            }

            try
            {
                await queue.WaitAsync(options.PollInterval, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task RunAsync(RunningJob entry, QueueWorkers queue)
    {
        var job = entry.Job;
        var kind = kinds.Find(job.Kind);
        if (kind is not null)
        {
            entry.TimeoutAfter(kind.Options.Timeout);
        }

        var started = time.GetTimestamp();
        JobOutcome? outcome;
        try
        {
            if (kind is null)
            {
                outcome = Failed(job, null, $"No handler for the job kind '{job.Kind}' on this node ({Owner}).");
            }
            else
            {
                await using var scope = services.CreateAsyncScope();
                var result = await kind.Run(scope.ServiceProvider, job, entry.Token);
                var now = time.GetUtcNow();
                outcome = result.Kind switch
                {
                    JobResultKind.Snooze => new JobOutcome(job.Id, job.Attempt, OutcomeKind.Snoozed, now, RunAt: now + result.Delay),
                    JobResultKind.Discard => new JobOutcome(job.Id, job.Attempt, OutcomeKind.Discarded, now, "Discarded by its handler: " + result.Reason),
                    _ => new JobOutcome(job.Id, job.Attempt, OutcomeKind.Succeeded, now),
                };
            }
        }
        catch (OperationCanceledException) when (entry.Token.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            outcome = entry.Reason switch
            {
                StopReason.Cancelled => new JobOutcome(job.Id, job.Attempt, OutcomeKind.Cancelled, now, "Cancelled while running."),
                // Someone else holds the job now; whatever we wrote would be refused.
                StopReason.LeaseLost => null,
                StopReason.Shutdown => new JobOutcome(job.Id, job.Attempt, OutcomeKind.Released, now, "Interrupted: the node stopped before the attempt finished.", now),
                _ => Failed(job, kind, $"Timed out after {kind?.Options.Timeout.TotalSeconds ?? 0:0.#} s."),
            };
        }
        catch (Exception ex)
        {
            outcome = Failed(job, kind, Describe(ex));
        }
        finally
        {
            running.TryRemove(job.Id, out _);
            entry.Dispose();
        }

        if (outcome is not null)
        {
            metrics.Ran(job.Kind, outcome.Kind, time.GetElapsedTime(started));
            outcomes.Writer.TryWrite(outcome);
        }

        queue.Release();
    }

    private JobOutcome Failed(ClaimedJob job, JobKind? kind, string error)
    {
        var now = time.GetUtcNow();
        if (job.Attempt >= job.MaxAttempts)
        {
            return new JobOutcome(job.Id, job.Attempt, OutcomeKind.Discarded, now, error);
        }

        var wait = kind?.BackoffAfter(job.Attempt) ?? JobKinds.DefaultBackoff(job.Attempt, Random.Shared.NextDouble());
        return new JobOutcome(job.Id, job.Attempt, OutcomeKind.Retry, now, error, now + wait);
    }

    /// <summary>The error as kept in the job's history: type, message and the top of the stack, bounded.</summary>
    internal static string Describe(Exception ex)
    {
        var text = $"{ex.GetType().FullName}: {ex.Message}";
        if (ex.StackTrace is { } stack)
        {
            text += "\n" + string.Join('\n', stack.Split('\n').Take(8).Select(l => l.TrimEnd()));
        }

        return text.Length <= 4000 ? text : text[..4000];
    }

    private async Task HeartbeatAsync(CancellationToken stop)
    {
        var interval = options.Lease / 3;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, time, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var held = running.Values.Select(r => (r.Job.Id, r.Job.Attempt)).ToList();
            if (held.Count == 0)
            {
                continue;
            }

            try
            {
                var now = time.GetUtcNow();
                var alive = await store.HeartbeatAsync(Owner, held, now, now + options.Lease, CancellationToken.None);
                var stillHeld = new HashSet<long>(alive.Select(a => a.Id));
                foreach (var (id, cancelRequested) in alive)
                {
                    if (cancelRequested && running.TryGetValue(id, out var job))
                    {
                        job.Stop(StopReason.Cancelled);
                    }
                }

                foreach (var (id, _) in held.Where(h => !stillHeld.Contains(h.Id)))
                {
                    if (running.TryGetValue(id, out var job))
                    {
                        LogLeaseLost(logger, id, job.Job.Kind);
                        job.Stop(StopReason.LeaseLost);
                    }
                }
            }
            catch (DbException ex)
            {
                LogHeartbeatFailed(logger, ex.GetType().Name, ex.Message);
            }
        }
    }

    private async Task CompleteAsync()
    {
        var reader = outcomes.Reader;
        var batch = new List<JobOutcome>(256);
        while (await reader.WaitToReadAsync())
        {
            while (batch.Count < 1000 && reader.TryRead(out var outcome))
            {
                batch.Add(outcome);
            }

            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    var applied = await store.ApplyAsync(Owner, batch, CancellationToken.None);
                    if (applied.Count < batch.Count)
                    {
                        LogLateCompletions(logger, batch.Count - applied.Count);
                    }

                    break;
                }
                catch (DbException ex) when (attempt < 30)
                {
                    // Keep the outcomes and try again: the leases are still ours until they expire.
                    LogCompletionFailed(logger, batch.Count, ex.GetType().Name, ex.Message);
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 100 * attempt)), time);
                }
                catch (DbException ex)
                {
                    // Give up: the jobs stay running until their leases expire, then they are rescued and run again.
                    LogCompletionAbandoned(logger, batch.Count, ex.GetType().Name, ex.Message);
                    break;
                }
            }

            batch.Clear();
        }
    }

    private async Task DrainAsync()
    {
        if (!running.IsEmpty)
        {
            LogDraining(logger, running.Count, options.ShutdownTimeout.TotalSeconds);
            await WaitForRunningAsync(options.ShutdownTimeout);
        }

        if (!running.IsEmpty)
        {
            foreach (var job in running.Values)
            {
                job.Stop(StopReason.Shutdown);
            }

            await hardStop.CancelAsync();
            await WaitForRunningAsync(TimeSpan.FromSeconds(2));
        }

        // Handlers that ignore their token: hand their jobs back now rather than after the lease expires.
        foreach (var job in running.Values)
        {
            var now = time.GetUtcNow();
            outcomes.Writer.TryWrite(new JobOutcome(job.Job.Id, job.Job.Attempt, OutcomeKind.Released, now, "Interrupted: the node stopped and the handler did not return.", now));
        }
    }

    private async Task WaitForRunningAsync(TimeSpan timeout)
    {
        var tasks = running.Values.Select(r => r.Task).OfType<Task>().ToList();
        if (tasks.Count > 0)
        {
            await Task.WhenAny(Task.WhenAll(tasks), Task.Delay(timeout, time));
        }
    }

    public override void Dispose()
    {
        hardStop.Dispose();
        foreach (var queue in queues.Values)
        {
            queue.Dispose();
        }

        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job workers started as {Owner}: {Queues}")]
    private static partial void LogStarted(ILogger logger, string owner, string queues);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Claiming from queue {Queue} failed ({Error}: {Message}); polling again")]
    private static partial void LogClaimFailed(ILogger logger, string queue, string error, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the lease of job {JobId} ({Kind}); its handler is cancelled")]
    private static partial void LogLeaseLost(ILogger logger, long jobId, string kind);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat failed ({Error}: {Message})")]
    private static partial void LogHeartbeatFailed(ILogger logger, string error, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} job outcomes were not written: their leases had passed to another attempt")]
    private static partial void LogLateCompletions(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing {Count} job outcomes failed ({Error}: {Message}); retrying")]
    private static partial void LogCompletionFailed(ILogger logger, int count, string error, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Gave up writing {Count} job outcomes ({Error}: {Message}); the jobs will be rescued when their leases expire")]
    private static partial void LogCompletionAbandoned(ILogger logger, int count, string error, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: waiting up to {Seconds} s for {Count} running jobs")]
    private static partial void LogDraining(ILogger logger, int count, double seconds);

    private enum StopReason
    {
        None,
        Cancelled,
        LeaseLost,
        Shutdown,
    }

    /// <summary>One attempt running here, with the token its handler sees and why that token fired.</summary>
    private sealed class RunningJob(ClaimedJob job, CancellationToken hardStop) : IDisposable
    {
        private readonly CancellationTokenSource cancellation = CancellationTokenSource.CreateLinkedTokenSource(hardStop);
        private int reason;

        public ClaimedJob Job { get; } = job;

        public Task? Task { get; set; }

        public CancellationToken Token => cancellation.Token;

        public StopReason Reason => (StopReason)Volatile.Read(ref reason);

        public void TimeoutAfter(TimeSpan timeout)
        {
            // Infinite.TotalMilliseconds is -1: no timeout. Beyond a timer's range (about 49 days) there is none either.
            if (timeout > TimeSpan.Zero && timeout.TotalMilliseconds < uint.MaxValue - 1)
            {
                cancellation.CancelAfter(timeout);
            }
        }

        public void Stop(StopReason why)
        {
            // The first reason wins: a job cancelled by an admin stays cancelled even if the node then stops.
            if (Interlocked.CompareExchange(ref reason, (int)why, (int)StopReason.None) == (int)StopReason.None)
            {
                try
                {
                    cancellation.Cancel();
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }

        public void Dispose() => cancellation.Dispose();
    }

    /// <summary>A queue's worker slots on this node and the signal its producer waits on.</summary>
    private sealed class QueueWorkers(string name, int workers) : IDisposable
    {
        private readonly SemaphoreSlim signal = new(0, 1);
        private int active;

        public string Name { get; } = name;

        public int Workers { get; } = workers;

        public int Free => Workers - Volatile.Read(ref active);

        /// <summary>The last claim filled every free slot, so more jobs are probably due.</summary>
        public bool Hungry { get; set; }

        public void Take() => Interlocked.Increment(ref active);

        public void Release()
        {
            var now = Interlocked.Decrement(ref active);
            // Claim again once a quarter of the slots is free, not after every job: fewer, fuller claims.
            if (Hungry && Workers - now >= Math.Max(1, Workers / 4))
            {
                Notify();
            }
        }

        public void Notify()
        {
            lock (signal)
            {
                if (signal.CurrentCount == 0)
                {
                    signal.Release();
                }
            }
        }

        public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => signal.WaitAsync(timeout, ct);

        public void Dispose() => signal.Dispose();
    }
}
