using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Upswing.Access;

/// <summary>Finds the key behind presented text the cheap way first: the node's cache, then the database.</summary>
public static class KeyLookup
{
    /// <summary>The identity of a valid, unrevoked key, or null.</summary>
    public static async ValueTask<KeyIdentity?> FindAsync(HttpContext context, string presented)
    {
        KeyIdentity? cached = null;
        if (ApiKeyService.LooksLikeKey(presented))
        {
            var cache = context.RequestServices.GetRequiredService<ApiKeyCache>();
            cached = cache.GetWithoutDatabase(cache.HashOf(presented), ApiKeyService.LastUsedResolution);
        }

        return cached ?? await context.RequestServices.GetRequiredService<ApiKeyService>().AuthenticateAsync(presented, context.RequestAborted);
    }
}
