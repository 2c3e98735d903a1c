using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Upswing.Events;

/// <summary>Why the writer did not take a request.</summary>
public enum WriteRefusal
{
    None,
    /// <summary>The queue holds <see cref="EventsOptions.QueueCapacity"/> rows already: try again shortly.</summary>
    QueueFull,
    /// <summary>The process is shutting down.</summary>
    Stopping,
}

/// <summary>
/// Group commit: requests put their events on one bounded in-process queue and wait; a loop takes everything
/// queued (up to <see cref="EventsOptions.MaxRowsPerCommit"/>) and commits it in a single transaction, then
/// releases the requests. A request is answered only after its events are committed, and many requests share
/// one commit (one fsync). When the queue is full, requests are refused at once instead of growing memory;
/// on shutdown the queue is drained before the process ends. SQLite has one writer loop (the database takes one
/// writer at a time); PostgreSQL several, each with its own connection, so one group is built while another commits.
/// </summary>
internal sealed partial class EventWriter(Func<EventStore> newStore, int writers, IngestionMetrics metrics, IMeterFactory meters, IOptions<EventsOptions> options, ILogger<EventWriter> logger) : IHostedService, IAsyncDisposable
{
    private readonly Channel<PendingWrite> queue = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = writers == 1 });
    private readonly EventsOptions settings = options.Value;
    private readonly List<EventStore> stores = [];
    private long queuedRows;
    private volatile bool stopping;
    private Task? loop;

    /// <summary>Rows waiting for a commit.</summary>
    public long QueuedRows => Interlocked.Read(ref queuedRows);

    public WriteRefusal TryEnqueue(PendingWrite write)
    {
        if (stopping)
        {
            return WriteRefusal.Stopping;
        }

        // Reserve first, then check: concurrent requests cannot together overshoot the capacity.
        if (Interlocked.Add(ref queuedRows, write.Size) > settings.QueueCapacity && write.Size <= settings.QueueCapacity)
        {
            Interlocked.Add(ref queuedRows, -write.Size);
            return WriteRefusal.QueueFull;
        }

        if (!queue.Writer.TryWrite(write))
        {
            Interlocked.Add(ref queuedRows, -write.Size);
            return WriteRefusal.Stopping;
        }

        return WriteRefusal.None;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        metrics.ObserveQueue(meters, () => QueuedRows);
        for (var i = 0; i < Math.Max(1, writers); i++)
        {
            stores.Add(newStore());
        }

        loop = Task.WhenAll(stores.Select(RunAsync));
        return Task.CompletedTask;
    }

    /// <summary>Stops taking requests and commits everything already queued (within the host's shutdown timeout).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        stopping = true;
        queue.Writer.TryComplete();
        if (loop is not null)
        {
            await loop.WaitAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }
    }

    private async Task RunAsync(EventStore store)
    {
        var group = new List<PendingWrite>();
        // No cancellation: the loop ends when the queue is completed and empty, so nothing queued is dropped.
        while (await queue.Reader.WaitToReadAsync(CancellationToken.None))
        {
            group.Clear();
            var rows = 0;
            while (rows < settings.MaxRowsPerCommit && queue.Reader.TryRead(out var write))
            {
                group.Add(write);
                rows += write.Size;
            }

            await CommitAsync(store, group);
            Interlocked.Add(ref queuedRows, -rows);
        }
    }

    private async Task CommitAsync(EventStore store, List<PendingWrite> group)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await store.WriteAsync(group, CancellationToken.None);
            metrics.Committed(group, Stopwatch.GetElapsedTime(started));
            foreach (var write in group)
            {
                write.Succeed();
            }

            return;
        }
        catch (Exception ex) when (group.Count > 1)
        {
            // One bad request must not fail the others it shared a transaction with: commit each on its own.
            LogGroupFailed(logger, ex, group.Count);
        }
        catch (Exception ex)
        {
            LogWriteFailed(logger, ex);
            group[0].Fail(ex);
            return;
        }

        foreach (var write in group)
        {
            try
            {
                started = Stopwatch.GetTimestamp();
                await store.WriteAsync([write], CancellationToken.None);
                metrics.Committed([write], Stopwatch.GetElapsedTime(started));
                write.Succeed();
            }
            catch (Exception ex)
            {
                LogWriteFailed(logger, ex);
                write.Fail(ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A group commit of {RequestCount} requests failed; committing them one by one")]
    private static partial void LogGroupFailed(ILogger logger, Exception error, int requestCount);

    [LoggerMessage(Level = LogLevel.Error, Message = "Events could not be committed; the request is answered 503 so the sender retries")]
    private static partial void LogWriteFailed(ILogger logger, Exception error);
}
