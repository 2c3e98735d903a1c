using System.Threading.Channels;

namespace Upswing.Flags;

/// <summary>
/// Tells this node's open SDK streams that a workspace's flags changed. Each subscriber gets a one-slot
/// channel: several changes in a row coalesce into one wake-up, and a slow client never holds memory.
/// </summary>
public sealed class FlagChanges
{
    private readonly Lock gate = new();
    private readonly Dictionary<Guid, List<Channel<bool>>> subscribers = [];

    public Subscription Subscribe(Guid workspaceId)
    {
        var channel = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        lock (gate)
        {
            if (!subscribers.TryGetValue(workspaceId, out var list))
            {
                subscribers[workspaceId] = list = [];
            }

            list.Add(channel);
        }

        return new Subscription(this, workspaceId, channel);
    }

    public void Publish(Guid workspaceId)
    {
        Channel<bool>[] targets;
        lock (gate)
        {
            targets = subscribers.TryGetValue(workspaceId, out var list) ? [.. list] : [];
        }

        foreach (var channel in targets)
        {
            channel.Writer.TryWrite(true);
        }
    }

    /// <summary>The workspaces that have open streams on this node.</summary>
    public IReadOnlyList<Guid> Workspaces()
    {
        lock (gate)
        {
            return [.. subscribers.Keys];
        }
    }

    public int SubscriberCount
    {
        get
        {
            lock (gate)
            {
                return subscribers.Values.Sum(l => l.Count);
            }
        }
    }

    private void Unsubscribe(Guid workspaceId, Channel<bool> channel)
    {
        lock (gate)
        {
            if (subscribers.TryGetValue(workspaceId, out var list) && list.Remove(channel) && list.Count == 0)
            {
                subscribers.Remove(workspaceId);
            }
        }
    }

    /// <summary>One open stream's registration; dispose it when the client goes away.</summary>
    public sealed class Subscription(FlagChanges owner, Guid workspaceId, Channel<bool> channel) : IDisposable
    {
        /// <summary>Completes with true when a change arrives, false when <paramref name="timeout"/> passes first.</summary>
        public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct)
        {
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timer.CancelAfter(timeout);
            try
            {
                await channel.Reader.ReadAsync(timer.Token);
                return true;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return false;
            }
        }

        public void Dispose() => owner.Unsubscribe(workspaceId, channel);
    }
}
