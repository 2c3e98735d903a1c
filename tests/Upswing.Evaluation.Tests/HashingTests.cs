namespace Upswing.Evaluation.Tests;

public sealed class HashingTests
{
    [Fact]
    public void Fnv1a32_EmptyString_IsTheOffsetBasis() => Assert.Equal(2166136261u, Hashing.Fnv1a32(""));

    [Fact]
    public void Fnv1a32_HashesUtf16CodeUnits_NotUtf8Bytes()
    {
        // "é" is one UTF-16 code unit (0xE9) but two UTF-8 bytes; the spec hashes code units.
        var expected = unchecked((2166136261u ^ 0xE9u) * 16777619u);
        Assert.Equal(expected, Hashing.Fnv1a32("é"));
    }

    [Fact]
    public void Hash_Version1_MatchesTheSpec() => Assert.Equal(0.22, Hashing.Hash("", "a", 1));

    [Fact]
    public void Hash_Version2_MatchesTheSpec() => Assert.Equal(0.0505, Hashing.Hash("seed", "a", 2));

    [Fact]
    public void Hash_UnknownVersion_IsNull() => Assert.Null(Hashing.Hash("abc", "def", 99));

    [Fact]
    public void Hash_Version2_IsTheHashOfTheDecimalStringOfTheFirstHash()
    {
        var first = Hashing.Fnv1a32("seed" + "a");
        var expected = Hashing.Fnv1a32(first.ToString(System.Globalization.CultureInfo.InvariantCulture)) % 10000 / 10000.0;
        Assert.Equal(expected, Hashing.Hash("seed", "a", 2));
    }
}
