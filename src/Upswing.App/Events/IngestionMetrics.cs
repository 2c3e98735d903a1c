using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Upswing.Events;

/// <summary>
/// Ingestion's meters on /metrics (upswing.events.*) and the same totals for the dashboard's health view.
/// Tags are bounded sets (outcome, reason), never workspaces or event names.
/// </summary>
public sealed class IngestionMetrics
{
    private readonly Counter<long> written;
    private readonly Counter<long> refused;
    private readonly Histogram<double> commitSeconds;
    private readonly Histogram<double> lagSeconds;
    private long lastLagTicks;
    private readonly ConcurrentDictionary<string, long> refusedByReason = new(StringComparer.Ordinal);
    private readonly TimeProvider time;
    private readonly EventRate rate = new();
    private Func<long>? queuedRows;
    private long stored;
    private long duplicates;
    private long quarantined;
    private long commits;

    public IngestionMetrics(IMeterFactory meters, TimeProvider? time = null)
    {
        this.time = time ?? TimeProvider.System;
        StartedAt = this.time.GetUtcNow();
        var meter = meters.Create("Upswing");
        written = meter.CreateCounter<long>("upswing.events.written", "{event}", "Events committed, by outcome: stored, duplicate (already stored) or quarantined.");
        refused = meter.CreateCounter<long>("upswing.events.refused", "{request}", "Ingestion requests answered with an error, by reason.");
        commitSeconds = meter.CreateHistogram<double>("upswing.events.commit.duration", "s", "Time to commit one group of requests.");
        lagSeconds = meter.CreateHistogram<double>("upswing.events.lag", "s", "From a request's receipt to the commit of its events (the oldest request of each group).");
    }

    /// <summary>Publishes the queue depth; called once by the writer.</summary>
    internal void ObserveQueue(IMeterFactory meters, Func<long> queuedRows)
    {
        this.queuedRows = queuedRows;
        meters.Create("Upswing").CreateObservableGauge("upswing.events.queue.rows", queuedRows, "{row}", "Rows waiting for a commit.");
    }

    /// <summary>When this node started counting: every total here is since then.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>Rows waiting in this node's writer queue for a commit (0 before the writer starts).</summary>
    public long QueuedRows => queuedRows?.Invoke() ?? 0;

    /// <summary>Events committed per second (stored, duplicate or quarantined), averaged over the last minute.</summary>
    public double EventsPerSecond => rate.PerSecond(time.GetUtcNow());

    /// <summary>How long the oldest request of the last commit waited, from its receipt to the commit.</summary>
    public TimeSpan LastLag => TimeSpan.FromTicks(Interlocked.Read(ref lastLagTicks));

    public long Stored => Interlocked.Read(ref stored);

    public long Duplicates => Interlocked.Read(ref duplicates);

    public long Quarantined => Interlocked.Read(ref quarantined);

    public long Commits => Interlocked.Read(ref commits);

    public IReadOnlyDictionary<string, long> RefusedByReason => refusedByReason;

    internal void Committed(IReadOnlyList<PendingWrite> group, TimeSpan elapsed)
    {
        long newRows = 0, sent = 0, held = 0;
        var oldest = DateTimeOffset.MaxValue;
        foreach (var write in group)
        {
            oldest = write.ReceivedAt < oldest ? write.ReceivedAt : oldest;
            newRows += write.Stored;
            sent += write.Events.Count;
            held += write.Quarantined.Count;
        }

        Interlocked.Add(ref stored, newRows);
        Interlocked.Add(ref duplicates, sent - newRows);
        Interlocked.Add(ref quarantined, held);
        Interlocked.Increment(ref commits);
        rate.Add(time.GetUtcNow(), sent + held);
        written.Add(newRows, new KeyValuePair<string, object?>("outcome", "stored"));
        written.Add(sent - newRows, new KeyValuePair<string, object?>("outcome", "duplicate"));
        written.Add(held, new KeyValuePair<string, object?>("outcome", "quarantined"));
        commitSeconds.Record(elapsed.TotalSeconds);
        if (group.Count > 0)
        {
            var lag = time.GetUtcNow() - oldest;
            Interlocked.Exchange(ref lastLagTicks, Math.Max(0, lag.Ticks));
            lagSeconds.Record(Math.Max(0, lag.TotalSeconds));
        }
    }

    /// <summary>Counts a refused request; <paramref name="reason"/> is one of a fixed set (queue_full, too_large, unauthorized…).</summary>
    public void Refused(string reason)
    {
        refusedByReason.AddOrUpdate(reason, 1, static (_, n) => n + 1);
        refused.Add(1, new KeyValuePair<string, object?>("reason", reason));
    }
}
