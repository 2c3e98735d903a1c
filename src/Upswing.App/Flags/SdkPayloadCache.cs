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

    public async ValueTask<SdkPayload> GetAsync(Guid workspaceId, Guid environmentId, CancellationToken ct)
    {
        var key = (workspaceId, environmentId);
        if (payloads.TryGetValue(key, out var cached) && cached.Expires > time.GetUtcNow())
        {
            return cached.Payload;
        }

        var generation = generations.GetValueOrDefault(workspaceId);
        await using var scope = scopes.CreateAsyncScope();
        var payload = await scope.ServiceProvider.GetRequiredService<SdkPayloadBuilder>().BuildAsync(workspaceId, environmentId, ct);
        if (generations.GetValueOrDefault(workspaceId) == generation)
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
    }
}
