using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Upswing.Data;

namespace Upswing.Access;

/// <summary>
/// Writes when keys were last used, off the request path. The write used to run inside the key check that every
/// request with the key joins, so once a minute all of a key's requests waited on a database write, which waits for
/// any other writer (a rollup, an ingestion commit): stalls of up to a second under load. Uses are coalesced per key;
/// a bounded queue drops uses rather than grow (the next minute records the key again), and shutdown writes what is left.
/// </summary>
internal sealed class KeyUseRecorder(ApiKeyCache cache, TimeProvider time, IServiceScopeFactory scopes, ILogger<KeyUseRecorder> logger) : BackgroundService
{
    private readonly Channel<(Guid KeyId, DateTimeOffset At)> uses = Channel.CreateBounded<(Guid, DateTimeOffset)>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    /// <summary>The key was just used: queues its last-use write when one is due (once per <see cref="ApiKeyService.LastUsedResolution"/>).</summary>
    public void UsedNow(string hash, Guid keyId)
    {
        if (cache.UseIsDue(hash, ApiKeyService.LastUsedResolution))
        {
            uses.Writer.TryWrite((keyId, time.GetUtcNow()));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await uses.Reader.WaitToReadAsync(stoppingToken))
            {
                await WriteAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await WriteAsync();
    }

    private async Task WriteAsync()
    {
        var latest = new Dictionary<Guid, DateTimeOffset>();
        while (uses.Reader.TryRead(out var use))
        {
            latest[use.KeyId] = latest.TryGetValue(use.KeyId, out var seen) && seen > use.At ? seen : use.At;
        }

        if (latest.Count == 0)
        {
            return;
        }

        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<UpswingDb>();
            foreach (var (keyId, at) in latest)
            {
                var threshold = at - ApiKeyService.LastUsedResolution;
                await db.ApiKeys.Where(k => k.Id == keyId && (k.LastUsedAt == null || k.LastUsedAt < threshold))
                    .ExecuteUpdateAsync(s => s.SetProperty(k => k.LastUsedAt, at), CancellationToken.None);
            }
        }
        catch (Exception ex)
        {
            // Bookkeeping only: the keys' next use records them again.
            logger.LogWarning(ex, "Could not record the last use of {Count} API keys.", latest.Count);
        }
    }
}
