using Upswing.Access;
using Upswing.TestKit;

namespace Upswing.App.Tests.Access;

public sealed class ApiKeyCacheTests
{
    private static readonly KeyIdentity Identity = new(Guid.NewGuid(), Guid.NewGuid(), ApiKeyKind.Secret, "us_sk_abcdef", null);

    [Fact]
    public void Entry_IsTrustedForTheTimeToLive_ThenLooksUpAgain()
    {
        var clock = new FakeClock();
        var cache = new ApiKeyCache(clock);
        cache.Set("h", Identity, clock.GetUtcNow());
        Assert.Equal(Identity, cache.Get("h"));
        clock.Advance(ApiKeyCache.TimeToLive - TimeSpan.FromMilliseconds(1));
        Assert.Equal(Identity, cache.Get("h"));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Null(cache.Get("h"));
    }

    [Fact]
    public void Remove_ForgetsTheKeyAtOnce()
    {
        var cache = new ApiKeyCache(new FakeClock());
        cache.Set("h", Identity, DateTimeOffset.MinValue);
        cache.Remove("h");
        Assert.Null(cache.Get("h"));
    }

    [Fact]
    public void UseIsDue_OncePerResolution()
    {
        var clock = new FakeClock();
        var cache = new ApiKeyCache(clock);
        cache.Set("h", Identity, DateTimeOffset.MinValue);
        Assert.True(cache.UseIsDue("h", TimeSpan.FromMinutes(1)));
        Assert.False(cache.UseIsDue("h", TimeSpan.FromMinutes(1)));
        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.False(cache.UseIsDue("h", TimeSpan.FromMinutes(1)));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(cache.UseIsDue("h", TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public void UnknownKey_IsNeitherCachedNorDue()
    {
        var cache = new ApiKeyCache(new FakeClock());
        Assert.Null(cache.Get("unknown"));
        Assert.False(cache.UseIsDue("unknown", TimeSpan.FromMinutes(1)));
    }
}

public sealed class ApiKeyCacheHashTests
{
    [Fact]
    public void HashOf_IsTheStoredSha256_WhetherRememberedOrNot()
    {
        var cache = new ApiKeyCache(new FakeClock());
        const string key = "us_ck_0123456789abcdefghijklmnopqrstuvwxyzABCDE";
        Assert.Equal(Upswing.Common.Secrets.Sha256Hex(key), cache.HashOf(key));
        cache.RememberHash(key, Upswing.Common.Secrets.Sha256Hex(key));
        Assert.Equal(Upswing.Common.Secrets.Sha256Hex(key), cache.HashOf(key));
        // A key differing in its last character is not taken for the remembered one.
        var other = key[..^1] + "F";
        Assert.Equal(Upswing.Common.Secrets.Sha256Hex(other), cache.HashOf(other));
    }
}
