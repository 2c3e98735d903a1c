using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Common;

namespace Upswing.Access;

/// <summary>Finds the key behind presented text the cheap way first: the node's cache, then the database.</summary>
public static class KeyLookup
{
    /// <summary>The identity of a valid, unrevoked key, or null.</summary>
    public static async ValueTask<KeyIdentity?> FindAsync(HttpContext context, string presented)
    {
        var cached = ApiKeyService.LooksLikeKey(presented)
            ? context.RequestServices.GetRequiredService<ApiKeyCache>().GetWithoutDatabase(Secrets.Sha256Hex(presented), ApiKeyService.LastUsedResolution)
            : null;
        return cached ?? await context.RequestServices.GetRequiredService<ApiKeyService>().AuthenticateAsync(presented, context.RequestAborted);
    }
}
