using System.Globalization;
using Upswing.Data;

namespace Upswing.Jobs;

/// <summary>PostgreSQL: new work on a queue, enqueued by any node (payload: the queue).</summary>
internal sealed class JobWakeNotifications(JobSignals signals, Microsoft.Extensions.Options.IOptions<JobsOptions> options) : IDatabaseNotificationHandler
{
    public string Channel => JobStore.WakeChannel;

    public void OnNotification(string payload) => signals.Wake(payload);

    // Anything enqueued while we were not listening is found by the next claim: wake every queue once.
    public void OnListening()
    {
        foreach (var queue in options.Value.Queues.Keys)
        {
            signals.Wake(queue);
        }
    }
}

/// <summary>PostgreSQL: a cancel request for a running job (payload: its id); the node running it cancels its token.</summary>
internal sealed class JobCancelNotifications(JobSignals signals) : IDatabaseNotificationHandler
{
    public string Channel => JobStore.CancelChannel;

    public void OnNotification(string payload)
    {
        if (long.TryParse(payload, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            signals.Cancel(id);
        }
    }

    // Missed requests are still delivered: every heartbeat reads cancel_requested_at.
    public void OnListening()
    {
    }
}
