using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Upswing.Access;

/// <summary>Finds the key behind presented text the cheap way first: the node's cache, then the database.</summary>
public static class KeyLookup
{
    /// <summary>The identity of a valid, unrevoked key, or null.</summary>
    public static ValueTask<KeyIdentity?> FindAsync(HttpContext context, string presented) =>
        FindAsync(context.RequestServices, presented, context.RequestAborted);

    /// <summary>
    /// The same, with the singletons taken from <paramref name="services"/>: hot endpoints pass the application's
    /// provider, so a request that touches nothing scoped never creates its request scope.
    /// </summary>
    public static ValueTask<KeyIdentity?> FindAsync(IServiceProvider services, string presented, CancellationToken ct)
    {
        if (!ApiKeyService.LooksLikeKey(presented))
        {
            return ValueTask.FromResult<KeyIdentity?>(null);
        }

        var cache = services.GetRequiredService<ApiKeyCache>();
        var hash = cache.HashOf(presented);
        if (cache.Get(hash) is { } cached)
        {
            services.GetRequiredService<KeyUseRecorder>().UsedNow(hash, cached.KeyId);
            return ValueTask.FromResult<KeyIdentity?>(cached);
        }

        return new ValueTask<KeyIdentity?>(VerifyOnceAsync(services, cache, hash, presented, ct));
    }

    private static async Task<KeyIdentity?> VerifyOnceAsync(IServiceProvider services, ApiKeyCache cache, string hash, string presented, CancellationToken ct)
    {
        // One database check per key at a time: when a busy key's entry expires, every request in flight would
        // otherwise open its own scope and query (tens at once, every TimeToLive). The check runs in a scope of
        // its own, so a waiter that leaves early cannot dispose what the others wait on.
        var scopes = services.GetRequiredService<IServiceScopeFactory>();
        var check = cache.Verifications.GetOrAdd(hash, _ => new Lazy<Task<KeyIdentity?>>(() => VerifyAsync(scopes, presented)));
        try
        {
            return await check.Value.WaitAsync(ct);
        }
        finally
        {
            cache.Verifications.TryRemove(KeyValuePair.Create(hash, check));
        }
    }

    private static async Task<KeyIdentity?> VerifyAsync(IServiceScopeFactory scopes, string presented)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ApiKeyService>().AuthenticateAsync(presented, CancellationToken.None);
    }
}
