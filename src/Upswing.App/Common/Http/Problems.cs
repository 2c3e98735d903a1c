using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;

namespace Upswing.Common.Http;

/// <summary>
/// Stable problem types, one per kind of error. Clients switch on <c>type</c>, never on the title text.
/// </summary>
public static class Problems
{
    public const string Validation = "urn:upswing:problem:validation";
    public const string BadRequest = "urn:upswing:problem:bad-request";
    public const string Unauthorized = "urn:upswing:problem:unauthorized";
    public const string Forbidden = "urn:upswing:problem:forbidden";
    public const string NotFound = "urn:upswing:problem:not-found";
    public const string MethodNotAllowed = "urn:upswing:problem:method-not-allowed";
    public const string NotAcceptable = "urn:upswing:problem:not-acceptable";
    public const string Conflict = "urn:upswing:problem:conflict";
    public const string PayloadTooLarge = "urn:upswing:problem:payload-too-large";
    public const string UnsupportedMediaType = "urn:upswing:problem:unsupported-media-type";
    public const string RateLimited = "urn:upswing:problem:rate-limited";
    public const string Internal = "urn:upswing:problem:internal";
    public const string Unavailable = "urn:upswing:problem:unavailable";
    public const string Other = "urn:upswing:problem:http";

    public static string TypeFor(int status) => status switch
    {
        400 => BadRequest,
        401 => Unauthorized,
        403 => Forbidden,
        404 => NotFound,
        405 => MethodNotAllowed,
        406 => NotAcceptable,
        409 => Conflict,
        413 => PayloadTooLarge,
        415 => UnsupportedMediaType,
        429 => RateLimited,
        500 => Internal,
        503 => Unavailable,
        _ => Other,
    };

    public static string TitleFor(int status) => status switch
    {
        400 => "The request is malformed",
        401 => "Authentication required",
        403 => "Not allowed",
        404 => "Not found",
        405 => "Method not allowed",
        406 => "Not acceptable",
        409 => "Conflict",
        413 => "The request body is too large",
        415 => "Unsupported media type",
        429 => "Too many requests",
        500 => "Something went wrong on our side",
        503 => "Temporarily unavailable",
        _ => "Request failed",
    };

    /// <summary>Fills type, title and request id on every problem the framework or a handler writes.</summary>
    public static IServiceCollection AddUpswingProblemDetails(this IServiceCollection services) =>
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            var status = problem.Status ?? context.HttpContext.Response.StatusCode;
            problem.Status = status;
            if (problem.Type is null || problem.Type.StartsWith("https://tools.ietf.org/", StringComparison.Ordinal))
            {
                problem.Type = problem is HttpValidationProblemDetails { Errors.Count: > 0 } ? Validation : TypeFor(status);
            }

            problem.Title ??= TitleFor(status);
            if (status == 500)
            {
                // Never leak internals; the request id lets an operator find the logged exception.
                problem.Detail = "The error has been logged. Quote the request id when reporting it.";
            }

            problem.Extensions["requestId"] = context.HttpContext.TraceIdentifier;
        });

    /// <summary>Maps an expected failure to its problem response.</summary>
    public static ProblemHttpResult ToProblem(this Failure failure) => failure.Kind switch
    {
        FailureKind.Invalid => TypedResults.Problem(new HttpValidationProblemDetails(failure.Errors?.ToDictionary() ?? [])
        {
            Status = 400,
            Type = Validation,
            Title = "One or more fields are invalid",
            Detail = failure.Message,
        }),
        FailureKind.NotFound => TypedResults.Problem(statusCode: 404, type: NotFound, title: TitleFor(404), detail: failure.Message),
        FailureKind.Conflict => TypedResults.Problem(statusCode: 409, type: Conflict, title: TitleFor(409), detail: failure.Message),
        FailureKind.Forbidden => TypedResults.Problem(statusCode: 403, type: Forbidden, title: TitleFor(403), detail: failure.Message),
        _ => TypedResults.Problem(statusCode: 400, type: BadRequest, detail: failure.Message),
    };

    /// <summary>200 with the value, or the failure's problem response.</summary>
    public static Results<Ok<T>, ProblemHttpResult> ToOkOrProblem<T>(this Result<T> result) =>
        result.Succeeded ? TypedResults.Ok(result.Value!) : result.Failure!.ToProblem();

    public static ProblemHttpResult NotFoundProblem(string detail) =>
        TypedResults.Problem(statusCode: 404, type: NotFound, title: TitleFor(404), detail: detail);

    public static ProblemHttpResult UnauthorizedProblem(string detail) =>
        TypedResults.Problem(statusCode: 401, type: Unauthorized, title: TitleFor(401), detail: detail);

    public static ProblemHttpResult ForbiddenProblem(string detail) =>
        TypedResults.Problem(statusCode: 403, type: Forbidden, title: TitleFor(403), detail: detail);

    public static ProblemHttpResult Invalid(string field, string message) => Failure.Invalid(field, message).ToProblem();
}
