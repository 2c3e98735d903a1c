using Upswing.Common;

namespace Upswing.App.Tests.Common;

public sealed class SlugsTests
{
    [Theory]
    [InlineData("Acme Growth Team!", "acme-growth-team")]
    [InlineData("  Café  Olé ", "cafe-ole")]
    [InlineData("a__b..c", "a-b-c")]
    [InlineData("!!!", "workspace")]
    [InlineData("Demo — Calicritters", "demo-calicritters")]
    public void From_Text_GivesReadableSlug(string text, string expected) => Assert.Equal(expected, Slugs.From(text));

    [Theory]
    [InlineData("demo", true)]
    [InlineData("a-b-c1", true)]
    [InlineData("-demo", false)]
    [InlineData("demo-", false)]
    [InlineData("de--mo", false)]
    [InlineData("Demo", false)]
    [InlineData("", false)]
    [InlineData("dé", false)]
    public void IsValid_ChecksTheUrlAlphabet(string slug, bool valid) => Assert.Equal(valid, Slugs.IsValid(slug));

    [Fact]
    public void From_LongText_StaysWithinTheLimitWithRoomForASuffix()
    {
        var slug = Slugs.From(new string('x', 300));
        Assert.True(slug.Length <= Slugs.MaxLength - 4);
        Assert.True(Slugs.IsValid(slug + "-99"));
    }
}
