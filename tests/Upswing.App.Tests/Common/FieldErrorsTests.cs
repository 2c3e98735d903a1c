using Upswing.Common;
using Upswing.Common.Http;

namespace Upswing.App.Tests.Common;

public sealed class FieldErrorsTests
{
    [Fact]
    public void Require_MissingAndTooLong_ListsEachField()
    {
        var errors = new FieldErrors().Require("name", null, 10).Require("slug", new string('x', 11), 10);
        var failure = errors.ToFailure();
        Assert.Equal(FailureKind.Invalid, failure.Kind);
        Assert.Equal(["name", "slug"], failure.Errors!.Keys.Order());
    }

    [Theory]
    [InlineData(FailureKind.NotFound, 404, Problems.NotFound)]
    [InlineData(FailureKind.Conflict, 409, Problems.Conflict)]
    [InlineData(FailureKind.Forbidden, 403, Problems.Forbidden)]
    [InlineData(FailureKind.Invalid, 400, Problems.Validation)]
    public void ToProblem_MapsEachKindToItsStatusAndType(FailureKind kind, int status, string type)
    {
        var failure = kind == FailureKind.Invalid ? Failure.Invalid("f", "bad") : new Failure(kind, "message");
        var problem = failure.ToProblem();
        Assert.Equal(status, problem.StatusCode);
        Assert.Equal(type, problem.ProblemDetails.Type);
    }

    [Theory]
    [InlineData(400, Problems.BadRequest)]
    [InlineData(401, Problems.Unauthorized)]
    [InlineData(405, Problems.MethodNotAllowed)]
    [InlineData(413, Problems.PayloadTooLarge)]
    [InlineData(415, Problems.UnsupportedMediaType)]
    [InlineData(429, Problems.RateLimited)]
    [InlineData(500, Problems.Internal)]
    [InlineData(418, Problems.Other)]
    public void TypeFor_EveryStatusHasAStableType(int status, string type) => Assert.Equal(type, Problems.TypeFor(status));
}
