using System.Globalization;

namespace Upswing.Evaluation;

/// <summary>GrowthBook's deterministic hashing: FNV-1a 32-bit over UTF-16 code units, versions 1 and 2.</summary>
public static class Hashing
{
    private const uint OffsetBasis = 2166136261;
    private const uint Prime = 16777619;

    /// <summary>FNV-1a 32-bit hash of the UTF-16 code units of <paramref name="value"/>.</summary>
    public static uint Fnv1a32(ReadOnlySpan<char> value) => Continue(OffsetBasis, value);

    /// <summary>
    /// Hashes <paramref name="value"/> with <paramref name="seed"/> into [0, 1): version 1 is
    /// fnv(value + seed) % 1000 / 1000, version 2 is fnv(decimal of fnv(seed + value)) % 10000 / 10000.
    /// Returns null for an unknown version.
    /// </summary>
    public static double? Hash(ReadOnlySpan<char> seed, ReadOnlySpan<char> value, int version)
    {
        switch (version)
        {
            case 1:
                return Continue(Continue(OffsetBasis, value), seed) % 1000 / 1000.0;
            case 2:
                var first = Continue(Continue(OffsetBasis, seed), value);
                // uint.MaxValue has 10 digits; formatting into a stack buffer keeps this allocation-free.
                Span<char> digits = stackalloc char[10];
                first.TryFormat(digits, out var written, default, CultureInfo.InvariantCulture);
                return Fnv1a32(digits[..written]) % 10000 / 10000.0;
            default:
                return null;
        }
    }

    // Hashing a concatenation is the same as continuing the hash over the second part.
    private static uint Continue(uint hash, ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            hash ^= c;
            hash *= Prime;
        }

        return hash;
    }
}
