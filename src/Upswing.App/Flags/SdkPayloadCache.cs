using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;

namespace Upswing.Flags;

/// <summary>
/// Built SDK payloads per workspace and environment, so /api/features/{clientKey} serves cached bytes.
/// Every flag write drops the workspace's payloads on every node (<see cref="FlagChangeFeed"/>); the
/// short <see cref="TimeToLive"/> bounds staleness should a notification be lost. A per-workspace
/// generation keeps a build that raced a write from storing a stale payload.
/// </summary>
public sealed class SdkPayloadCache(IServiceScopeFactory scopes, TimeProvider time)
{
    public static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(5);

    /// <summary>After a lost connection to the change feed anything may have changed: forget everything.</summary>
    public void DropAll()
    {
        foreach (var workspace in payloads.Keys.Select(k => k.Workspace).Distinct().ToList())
        {
            Drop(workspace);
        }
    }

    private readonly ConcurrentDictionary<(Guid Workspace, Guid Environment), (SdkPayload Payload, DateTimeOffset Expires)> payloads = new();
    private readonly ConcurrentDictionary<Guid, long> generations = new();

    // One build per payload at a time: when an entry expires under load, every request in flight would otherwise
    // run its own build (tens of queries at once every TimeToLive, the p99 spikes of the load test).
    private readonly ConcurrentDictionary<(Guid Workspace, Guid Environment), Lazy<Task<SdkPayload>>> builds = new();

    public ValueTask<SdkPayload> GetAsync(Guid workspaceId, Guid environmentId, CancellationToken ct)
    {
        var key = (workspaceId, environmentId);
        if (payloads.TryGetValue(key, out var cached))
        {
            // An entry still here has only aged (a change removes it at once): while one request rebuilds it,
            // the others keep answering with it instead of queueing behind the build.
            if (cached.Expires > time.GetUtcNow() || builds.ContainsKey(key))
            {
                return ValueTask.FromResult(cached.Payload);
            }
        }

        return new ValueTask<SdkPayload>(JoinBuildAsync(key, ct));
    }

    private async Task<SdkPayload> JoinBuildAsync((Guid Workspace, Guid Environment) key, CancellationToken ct)
    {
        var build = builds.GetOrAdd(key, k => new Lazy<Task<SdkPayload>>(() => BuildAsync(k)));
        try
        {
            // The shared build is not cancelled with the request that happened to start it; each waiter can leave.
            return await build.Value.WaitAsync(ct);
        }
        finally
        {
            builds.TryRemove(KeyValuePair.Create(key, build));
        }
    }

    private async Task<SdkPayload> BuildAsync((Guid Workspace, Guid Environment) key)
    {
        var generation = generations.GetValueOrDefault(key.Workspace);
        await using var scope = scopes.CreateAsyncScope();
        var payload = await scope.ServiceProvider.GetRequiredService<SdkPayloadBuilder>().BuildAsync(key.Workspace, key.Environment, CancellationToken.None);
        if (payloads.TryGetValue(key, out var previous) && previous.Payload.ETag == payload.ETag)
        {
            // Same bytes: keep the instance, and with it the evaluation model already parsed for /api/eval.
            payload = previous.Payload;
        }

        if (generations.GetValueOrDefault(key.Workspace) == generation)
        {
            payloads[key] = (payload, time.GetUtcNow() + TimeToLive);
        }

        return payload;
    }

    /// <summary>Forgets the workspace's payloads on this node; <see cref="FlagChangeFeed"/> calls it on every node.</summary>
    public void Drop(Guid workspaceId)
    {
        generations.AddOrUpdate(workspaceId, 1, (_, g) => g + 1);
        foreach (var key in payloads.Keys.Where(k => k.Workspace == workspaceId))
        {
            payloads.TryRemove(key, out _);
        }

        // A build that started before the change must not be joined by requests made after it.
        foreach (var key in builds.Keys.Where(k => k.Workspace == workspaceId))
        {
            builds.TryRemove(key, out _);
        }
    }
}
