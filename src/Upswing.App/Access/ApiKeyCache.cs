using System.Collections.Concurrent;

namespace Upswing.Access;

/// <summary>
/// Recently verified keys, by hash, so an authenticated request costs a hash and a dictionary lookup instead
/// of a DI scope and a database query (about 120 µs and 84 KB per request without it, see docs/benchmarks.md).
/// A revocation on this node removes the entry at once; another node sharing the PostgreSQL database sees it
/// within <see cref="TimeToLive"/>. Unknown keys are never cached, so guessing cannot fill memory.
/// </summary>
internal sealed class ApiKeyCache(TimeProvider time)
{
    public static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(10);
    private const int MaxEntries = 50_000;

    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);

    /// <summary>A verified key: who it is, until when the entry may be trusted, and when its use was last written.</summary>
    private sealed record Entry(KeyIdentity Identity, DateTimeOffset Expires, DateTimeOffset LastUseRecorded);

    /// <summary>
    /// The cached identity when nothing needs the database: the entry is fresh and its last-use write is not
    /// due. Null sends the caller to <see cref="ApiKeyService.AuthenticateAsync"/>, which does both.
    /// </summary>
    public KeyIdentity? GetWithoutDatabase(string hash, TimeSpan useResolution)
    {
        var now = time.GetUtcNow();
        return entries.TryGetValue(hash, out var entry) && entry.Expires > now && entry.LastUseRecorded > now - useResolution ? entry.Identity : null;
    }

    public KeyIdentity? Get(string hash) =>
        entries.TryGetValue(hash, out var entry) && entry.Expires > time.GetUtcNow() ? entry.Identity : null;

    /// <summary>True once per <paramref name="resolution"/> per key: the caller should write the key's last use.</summary>
    public bool UseIsDue(string hash, TimeSpan resolution)
    {
        var now = time.GetUtcNow();
        return entries.TryGetValue(hash, out var entry) && entry.LastUseRecorded <= now - resolution
            && entries.TryUpdate(hash, entry with { LastUseRecorded = now }, entry);
    }

    public void Set(string hash, KeyIdentity identity, DateTimeOffset lastUseRecorded)
    {
        if (entries.Count >= MaxEntries)
        {
            // Rare (tens of thousands of keys in use within seconds); dropping everything is simple and safe.
            entries.Clear();
        }

        entries[hash] = new Entry(identity, time.GetUtcNow() + TimeToLive, lastUseRecorded);
    }

    public void Remove(string hash) => entries.TryRemove(hash, out _);
}
