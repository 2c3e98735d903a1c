using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Upswing.Common;

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

    // Presented key to its SHA-256 hex, so a request with a known key skips hashing (about half a microsecond and
    // two allocations). Only keys the database confirmed are remembered, so guessing cannot fill it; the hash of a
    // text never changes, so entries need no expiry, and revocation works through `entries` as before.
    private const int MaxRememberedHashes = 10_000;
    private readonly ConcurrentDictionary<string, string> hashes = new(FixedTimeComparer.Instance);

    /// <summary>Database checks in flight, by key hash, so concurrent requests with one key share one (see <see cref="KeyLookup"/>).</summary>
    public ConcurrentDictionary<string, Lazy<Task<KeyIdentity?>>> Verifications { get; } = new(StringComparer.Ordinal);

    /// <summary>A verified key: who it is, until when the entry may be trusted, and when its use was last written.</summary>
    private sealed record Entry(KeyIdentity Identity, DateTimeOffset Expires, DateTimeOffset LastUseRecorded);

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

    /// <summary>The stored form of <paramref name="presented"/>: remembered for confirmed keys, computed otherwise.</summary>
    public string HashOf(string presented) => hashes.TryGetValue(presented, out var hash) ? hash : Secrets.Sha256Hex(presented);

    /// <summary>Remembers the hash of a key the database has just confirmed.</summary>
    public void RememberHash(string presented, string hash)
    {
        if (hashes.Count >= MaxRememberedHashes)
        {
            hashes.Clear();
        }

        hashes[presented] = hash;
    }

    /// <summary>
    /// Keys are secrets: equality compares every character whatever the first difference, so the lookup's time
    /// does not tell a guesser how much of a key was right. The bucket hash is the runtime's per-process randomised one.
    /// </summary>
    private sealed class FixedTimeComparer : IEqualityComparer<string>
    {
        public static readonly FixedTimeComparer Instance = new();

        public bool Equals(string? x, string? y) =>
            x is not null && y is not null && x.Length == y.Length
            && CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(x.AsSpan()), MemoryMarshal.AsBytes(y.AsSpan()));

        public int GetHashCode(string obj) => obj.GetHashCode(StringComparison.Ordinal);
    }
}
