using System.Text;
using System.Text.Json;
using Upswing.Experiments;

namespace Upswing.App.Tests.Experiments;

public sealed class AssignmentRequestTests
{
    private static AssignmentRequest? Read(string body)
    {
        var json = new Utf8JsonReader(Encoding.UTF8.GetBytes(body));
        return AssignmentRequest.Read(ref json, false);
    }

    [Fact]
    public void Reads_EveryField_NamesInAnyCase_UnknownOnesSkipped()
    {
        var request = Read("""
            {"UserID":"u1","anonymousId":null,"extra":{"deep":[1,{"x":2}]},"experiments":["a","b"],
             "attributes":{"country":"FR","beta":true,"off":false,"age":41.50,"tags":["x"],"org":{"plan":"pro"},"none":null}}
            """)!;
        Assert.Equal("u1", request.UserId);
        Assert.Null(request.AnonymousId);
        Assert.Equal(["a", "b"], request.Experiments);
        var attributes = request.Attributes!;
        Assert.Equal("FR", attributes["country"]!.GetValue<string>());
        Assert.True(attributes["beta"]!.GetValue<bool>());
        Assert.False(attributes["off"]!.GetValue<bool>());
        Assert.Equal("41.50", attributes["age"]!.ToJsonString());
        Assert.Equal("""["x"]""", attributes["tags"]!.ToJsonString());
        Assert.Equal("pro", attributes["org"]!["plan"]!.GetValue<string>());
        Assert.True(attributes.ContainsKey("none"));
        Assert.False(attributes.ContainsKey("Country"));
    }

    [Fact]
    public void Null_IsNoRequest() => Assert.Null(Read("null"));

    [Theory]
    [InlineData("[]")]
    [InlineData("""{"userId":5}""")]
    [InlineData("""{"userId":"u","attributes":[1]}""")]
    [InlineData("""{"userId":"u","experiments":"a"}""")]
    [InlineData("""{"userId":"u","experiments":[1]}""")]
    [InlineData("""{"userId":""")]
    public void WrongShapes_AreJsonErrors(string body) => Assert.ThrowsAny<JsonException>(() => Read(body));
}
