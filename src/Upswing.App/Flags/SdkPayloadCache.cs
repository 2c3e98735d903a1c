using Microsoft.Extensions.DependencyInjection;

namespace Upswing.Flags;

/// <summary>Built SDK payloads per workspace and environment, so /api/features/{clientKey} serves cached bytes.</summary>
public sealed class SdkPayloadCache(IServiceScopeFactory scopes, TimeProvider time)
{
    public static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(5);

    private readonly WorkspaceCache<Guid, SdkPayload> payloads = new(time, TimeToLive);

    public ValueTask<SdkPayload> GetAsync(Guid workspaceId, Guid environmentId, CancellationToken ct) =>
        payloads.GetAsync(workspaceId, environmentId, (scopes, workspaceId, environmentId), static async (s, token) =>
        {
            await using var scope = s.scopes.CreateAsyncScope();
            return await scope.ServiceProvider.GetRequiredService<SdkPayloadBuilder>().BuildAsync(s.workspaceId, s.environmentId, token);
        }, ct);

    /// <summary>Forgets the workspace's payloads on this node; <see cref="FlagChangeFeed"/> calls it on every node.</summary>
    public void Drop(Guid workspaceId) => payloads.Drop(workspaceId);

    /// <summary>After a lost connection to the change feed anything may have changed: forget everything.</summary>
    public void DropAll() => payloads.DropAll();
}
