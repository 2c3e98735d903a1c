using System.Diagnostics.Metrics;

namespace Upswing.Jobs;

/// <summary>
/// The queue's meters on /metrics (upswing.jobs.*). Tags are bounded sets: queue and kind names come from code and
/// configuration, outcome and state from fixed lists.
/// </summary>
internal sealed class JobMetrics
{
    private readonly Counter<long> finished;
    private readonly Histogram<double> pickup;
    private readonly Histogram<double> duration;
    private volatile IReadOnlyList<QueueDepth> depths = [];

    public JobMetrics(IMeterFactory meters)
    {
        var meter = meters.Create("Upswing");
        finished = meter.CreateCounter<long>("upswing.jobs.finished", "{attempt}", "Attempts run on this node, by kind and outcome (succeeded, retry, discarded, snoozed, cancelled, released).");
        pickup = meter.CreateHistogram<double>("upswing.jobs.pickup.latency", "s", "From a job's run time to its claim, by queue.");
        duration = meter.CreateHistogram<double>("upswing.jobs.duration", "s", "How long attempts ran, by kind.");
        meter.CreateObservableGauge("upswing.jobs.queued", ObserveDepths, "{job}", "Jobs per queue and state (available, retryable, running), refreshed every few seconds.");
    }

    public void PickedUp(string queue, TimeSpan latency) =>
        pickup.Record(Math.Max(0, latency.TotalSeconds), new KeyValuePair<string, object?>("queue", queue));

    public void Ran(string kind, OutcomeKind outcome, TimeSpan took)
    {
        var tags = new KeyValuePair<string, object?>("kind", kind);
        finished.Add(1, tags, new KeyValuePair<string, object?>("outcome", outcome.ToString().ToLowerInvariant()));
        duration.Record(took.TotalSeconds, tags);
    }

    /// <summary>Publishes the latest depth snapshot (the maintenance loop reads it from the database).</summary>
    public void SetDepths(IReadOnlyList<QueueDepth> snapshot) => depths = snapshot;

    private IEnumerable<Measurement<long>> ObserveDepths() =>
        depths.Select(d => new Measurement<long>(d.Count, new KeyValuePair<string, object?>("queue", d.Queue), new KeyValuePair<string, object?>("state", d.State)));
}

/// <summary>How many jobs of a queue are in a state.</summary>
public sealed record QueueDepth(string Queue, string State, long Count);
