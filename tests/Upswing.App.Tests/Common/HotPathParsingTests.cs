using Upswing.Access;
using Upswing.Common.Http;

namespace Upswing.App.Tests.Common;

public sealed class HotPathParsingTests
{
    [Theory]
    [InlineData("application/json", true)]
    [InlineData("Application/JSON; charset=utf-8", true)]
    [InlineData(" application/json ;charset=utf-8", true)]
    [InlineData("application/problem+json", true)]
    [InlineData("application/vnd.api+JSON; v=2", true)]
    [InlineData("text/plain", false)]
    [InlineData("application/jsonp", false)]
    [InlineData("+json", false)]
    [InlineData("application/+json", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsJson_AcceptsWhatTheFrameworksCheckAccepts(string? contentType, bool json) =>
        Assert.Equal(json, JsonBody.IsJson(contentType));

    [Theory]
    [InlineData("Bearer us_ck_abc", "us_ck_abc")]
    [InlineData("bearer   us_ck_abc  ", "us_ck_abc")]
    [InlineData("BEARER us_sk_x", "us_sk_x")]
    public void Bearer_TheKeyIsTheToken(string header, string key) =>
        Assert.Equal((key, null), ApiKeyAuthenticationHandler.KeyFromAuthorization(header));

    [Theory]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Token us_ck_abc")]
    public void Malformed_OrOtherSchemes_AreRefusedWithAReason(string header)
    {
        var (key, error) = ApiKeyAuthenticationHandler.KeyFromAuthorization(header);
        Assert.Null(key);
        Assert.False(string.IsNullOrEmpty(error));
    }
}
