using System.Collections.Concurrent;

namespace Upswing.Flags;

/// <summary>
/// Values built from one workspace's flag data, kept until that workspace changes. Every flag write drops the
/// workspace's entries on every node (<see cref="FlagChangeFeed"/>); <paramref name="timeToLive"/> bounds
/// staleness should a notification be lost. A per-workspace generation keeps a build that raced a write from
/// storing a stale value.
/// </summary>
public sealed class WorkspaceCache<TKey, TValue>(TimeProvider time, TimeSpan timeToLive)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<(Guid Workspace, TKey Key), (TValue Value, DateTimeOffset Expires)> entries = new();
    private readonly ConcurrentDictionary<Guid, long> generations = new();

    /// <summary>The cached value, or a fresh one from <paramref name="build"/> (given <paramref name="state"/>, so callers need no closure).</summary>
    public async ValueTask<TValue> GetAsync<TState>(Guid workspaceId, TKey key, TState state, Func<TState, CancellationToken, Task<TValue>> build, CancellationToken ct)
    {
        if (entries.TryGetValue((workspaceId, key), out var cached) && cached.Expires > time.GetUtcNow())
        {
            return cached.Value;
        }

        var generation = generations.GetValueOrDefault(workspaceId);
        var value = await build(state, ct);
        if (generations.GetValueOrDefault(workspaceId) == generation)
        {
            entries[(workspaceId, key)] = (value, time.GetUtcNow() + timeToLive);
        }

        return value;
    }

    /// <summary>Forgets the workspace's entries on this node.</summary>
    public void Drop(Guid workspaceId)
    {
        generations.AddOrUpdate(workspaceId, 1, (_, g) => g + 1);
        foreach (var key in entries.Keys.Where(k => k.Workspace == workspaceId))
        {
            entries.TryRemove(key, out _);
        }
    }

    /// <summary>After a lost connection to the change feed anything may have changed: forget everything.</summary>
    public void DropAll()
    {
        foreach (var workspace in entries.Keys.Select(k => k.Workspace).Distinct().ToList())
        {
            Drop(workspace);
        }
    }
}
