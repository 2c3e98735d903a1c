using Microsoft.Extensions.DependencyInjection;
using Upswing.Common;
using Upswing.Flags;

namespace Upswing.Experiments;

/// <summary>Each workspace's <see cref="ExperimentCatalog"/>, dropped with the SDK payloads on every flag or experiment change.</summary>
public sealed class ExperimentCatalogCache(IServiceScopeFactory scopes, TimeProvider time)
{
    private readonly WorkspaceCache<bool, ExperimentCatalog> catalogs = new(time, SdkPayloadCache.TimeToLive, ExperimentCatalog.SameSettings);

    public ValueTask<ExperimentCatalog> GetAsync(Guid workspaceId, CancellationToken ct) =>
        catalogs.GetAsync(workspaceId, true, (scopes, workspaceId), static async (s, token) =>
        {
            await using var scope = s.scopes.CreateAsyncScope();
            return await scope.ServiceProvider.GetRequiredService<ExperimentCatalogBuilder>().BuildAsync(s.workspaceId, token);
        }, ct);

    public void Drop(Guid workspaceId) => catalogs.Drop(workspaceId);

    public void DropAll() => catalogs.DropAll();
}
