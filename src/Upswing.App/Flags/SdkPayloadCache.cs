using Microsoft.Extensions.DependencyInjection;
using Upswing.Access;
using Upswing.Common;

namespace Upswing.Flags;

/// <summary>
/// Built SDK payloads per workspace and environment, so /api/features/{clientKey} serves cached bytes; and, for
/// client keys with encrypted payloads, the encrypted form per key.
/// </summary>
public sealed class SdkPayloadCache(IServiceScopeFactory scopes, TimeProvider time)
{
    public static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(5);

    // A rebuild with the same bytes keeps the old instance, and with it the evaluation model already parsed for /api/eval.
    private readonly WorkspaceCache<Guid, SdkPayload> payloads = new(time, TimeToLive, static (a, b) => a.ETag == b.ETag);
    private readonly WorkspaceCache<(Guid Environment, Guid Key), SdkPayload> encrypted = new(time, TimeToLive);

    /// <summary>The payload of the environment, as SDKs read it (rules in the clear).</summary>
    public ValueTask<SdkPayload> GetAsync(Guid workspaceId, Guid environmentId, CancellationToken ct) =>
        payloads.GetAsync(workspaceId, environmentId, (scopes, workspaceId, environmentId), static async (s, token) =>
        {
            await using var scope = s.scopes.CreateAsyncScope();
            return await scope.ServiceProvider.GetRequiredService<SdkPayloadBuilder>().BuildAsync(s.workspaceId, s.environmentId, token);
        }, ct);

    /// <summary>The payload as this client key serves it: encrypted with its key when it has one.</summary>
    public ValueTask<SdkPayload> GetAsync(KeyIdentity key, Guid environmentId, CancellationToken ct) =>
        key.PayloadKey is null
            ? GetAsync(key.WorkspaceId, environmentId, ct)
            : encrypted.GetAsync(key.WorkspaceId, (environmentId, key.KeyId), (cache: this, key, environmentId), static async (s, token) =>
                PayloadEncryption.Encrypt(await s.cache.GetAsync(s.key.WorkspaceId, s.environmentId, token), s.key.PayloadKey!), ct);

    /// <summary>Forgets the workspace's payloads on this node; <see cref="FlagChangeFeed"/> calls it on every node.</summary>
    public void Drop(Guid workspaceId)
    {
        payloads.Drop(workspaceId);
        encrypted.Drop(workspaceId);
    }

    /// <summary>After a lost connection to the change feed anything may have changed: forget everything.</summary>
    public void DropAll()
    {
        payloads.DropAll();
        encrypted.DropAll();
    }
}
