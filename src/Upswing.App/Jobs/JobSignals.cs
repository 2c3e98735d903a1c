namespace Upswing.Jobs;

/// <summary>
/// This node's wake-ups: "a queue has new work" and "cancel this running job". Raised locally after a commit, and on
/// PostgreSQL also by <see cref="JobWakeNotifications"/> and <see cref="JobCancelNotifications"/> for changes other nodes made. Losing one is harmless: workers
/// poll, and heartbeats carry cancel requests.
/// </summary>
internal sealed class JobSignals
{
    public event Action<string>? QueueWoken;

    public event Action<long>? CancelRequested;

    public void Wake(string queue) => QueueWoken?.Invoke(queue);

    public void Cancel(long id) => CancelRequested?.Invoke(id);
}
