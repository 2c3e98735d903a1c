using System.Collections.Concurrent;

namespace Upswing.Common;

/// <summary>
/// Values built from one workspace's flag data, kept until that workspace changes. Every flag write drops the
/// workspace's entries on every node (<see cref="Flags.FlagChangeFeed"/>); the time to live bounds staleness should a
/// notification be lost. A per-workspace generation keeps a build that raced a write from storing a stale value,
/// and one build per entry runs at a time: when an entry expires under load, the requests in flight join it
/// instead of each running its own.
/// </summary>
public sealed class WorkspaceCache<TKey, TValue>(TimeProvider time, TimeSpan timeToLive, Func<TValue, TValue, bool>? sameContent = null)
    where TKey : notnull
    where TValue : class
{
    private readonly ConcurrentDictionary<(Guid Workspace, TKey Key), (TValue Value, DateTimeOffset Expires)> entries = new();
    private readonly ConcurrentDictionary<(Guid Workspace, TKey Key), Lazy<Task<TValue>>> builds = new();
    private readonly ConcurrentDictionary<Guid, long> generations = new();

    /// <summary>The cached value, or a fresh one from <paramref name="build"/> (given <paramref name="state"/>, so callers need no closure).</summary>
    public ValueTask<TValue> GetAsync<TState>(Guid workspaceId, TKey key, TState state, Func<TState, CancellationToken, Task<TValue>> build, CancellationToken ct)
    {
        // An entry still here has only aged (a change removes it at once): while one request rebuilds it, the
        // others keep answering with it instead of queueing behind the build.
        if (entries.TryGetValue((workspaceId, key), out var cached) && (cached.Expires > time.GetUtcNow() || builds.ContainsKey((workspaceId, key))))
        {
            return ValueTask.FromResult(cached.Value);
        }

        return new ValueTask<TValue>(JoinBuildAsync((workspaceId, key), state, build, ct));
    }

    private async Task<TValue> JoinBuildAsync<TState>((Guid Workspace, TKey Key) entry, TState state, Func<TState, CancellationToken, Task<TValue>> build, CancellationToken ct)
    {
        var shared = builds.GetOrAdd(entry, e => new Lazy<Task<TValue>>(() => BuildAsync(e, state, build)));
        try
        {
            // The shared build is not cancelled with the request that happened to start it; each waiter can leave.
            return await shared.Value.WaitAsync(ct);
        }
        finally
        {
            builds.TryRemove(KeyValuePair.Create(entry, shared));
        }
    }

    private async Task<TValue> BuildAsync<TState>((Guid Workspace, TKey Key) entry, TState state, Func<TState, CancellationToken, Task<TValue>> build)
    {
        var generation = generations.GetValueOrDefault(entry.Workspace);
        var value = await build(state, CancellationToken.None);
        if (sameContent is not null && entries.TryGetValue(entry, out var previous) && sameContent(previous.Value, value))
        {
            // Same content: keep the instance, and whatever was derived from it lazily (a parsed model).
            value = previous.Value;
        }

        if (generations.GetValueOrDefault(entry.Workspace) == generation)
        {
            entries[entry] = (value, time.GetUtcNow() + timeToLive);
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

        // A build that started before the change must not be joined by requests made after it.
        foreach (var key in builds.Keys.Where(k => k.Workspace == workspaceId))
        {
            builds.TryRemove(key, out _);
        }
    }

    /// <summary>After a lost connection to the change feed anything may have changed: forget everything.</summary>
    public void DropAll()
    {
        foreach (var workspace in entries.Keys.Select(k => k.Workspace).Concat(builds.Keys.Select(k => k.Workspace)).Distinct().ToList())
        {
            Drop(workspace);
        }
    }
}
