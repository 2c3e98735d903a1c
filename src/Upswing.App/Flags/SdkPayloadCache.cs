using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;

namespace Upswing.Flags;

/// <summary>
/// Built SDK payloads per workspace and environment, so /api/features/{clientKey} serves cached bytes.
/// Every flag write on this node drops the workspace's payloads at once; other nodes sharing PostgreSQL
/// rebuild within <see cref="TimeToLive"/>. A per-workspace generation keeps a build that raced a write
/// from storing a stale payload.
/// </summary>
public sealed class SdkPayloadCache(IServiceScopeFactory scopes, TimeProvider time)
{
    public static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(5);

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

    /// <summary>Called after every committed flag or saved-group change of the workspace.</summary>
    public void Invalidate(Guid workspaceId)
    {
        generations.AddOrUpdate(workspaceId, 1, (_, g) => g + 1);
        foreach (var key in payloads.Keys.Where(k => k.Workspace == workspaceId))
        {
            payloads.TryRemove(key, out _);
        }
    }
}
