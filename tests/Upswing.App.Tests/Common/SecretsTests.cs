using Upswing.Common;

namespace Upswing.App.Tests.Common;

public sealed class SecretsTests
{
    [Fact]
    public void RandomToken_IsAlphanumericAndUnique()
    {
        var tokens = Enumerable.Range(0, 200).Select(_ => Secrets.RandomToken()).ToList();
        Assert.All(tokens, t => Assert.Matches("^[A-Za-z0-9]{43}$", t));
        Assert.Equal(tokens.Count, tokens.Distinct().Count());
    }

    [Fact]
    public void Sha256Hex_MatchesTheKnownDigest() =>
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Secrets.Sha256Hex("abc"));

    [Fact]
    public void FixedTimeEquals_ComparesWholeValues()
    {
        Assert.True(Secrets.FixedTimeEquals("abc", "abc"));
        Assert.False(Secrets.FixedTimeEquals("abc", "abd"));
        Assert.False(Secrets.FixedTimeEquals("abc", "abcd"));
    }
}

public sealed class IdsTests
{
    [Fact]
    public void New_InOneMillisecond_IncreasesStrictly_AsBytesAndAsText()
    {
        var clock = new Upswing.TestKit.FakeClock();
        var ids = Enumerable.Range(0, 5000).Select(_ => Ids.New(clock)).ToList();
        Assert.Equal(ids, ids.OrderBy(g => g.ToString(), StringComparer.Ordinal));
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Equal(7, id.Version));
        Assert.All(ids, id => Assert.Equal(0x80, id.ToByteArray(bigEndian: true)[8] & 0xC0));
    }

    [Fact]
    public void New_CarriesTheClockTime()
    {
        var clock = new Upswing.TestKit.FakeClock(new DateTimeOffset(2030, 5, 1, 0, 0, 0, TimeSpan.Zero));
        var bytes = Ids.New(clock).ToByteArray(bigEndian: true);
        var ms = System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(bytes) >> 16;
        Assert.True(ms >= clock.GetUtcNow().ToUnixTimeMilliseconds());
    }
}
