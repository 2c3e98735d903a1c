using Microsoft.AspNetCore.Builder;

namespace Upswing.Common.Http;

/// <summary>Upswing's own middleware, in the order the server adds it.</summary>
public static class HttpPipeline
{
    /// <summary>X-Request-Id on every response, the same id in logs and problem bodies.</summary>
    public static IApplicationBuilder UseRequestIds(this IApplicationBuilder app) => app.UseMiddleware<RequestIdMiddleware>();

    /// <summary>Malformed requests become 4xx ProblemDetails, logged at debug, never as server errors.</summary>
    public static IApplicationBuilder UseBadRequestProblems(this IApplicationBuilder app) => app.UseMiddleware<BadRequestMiddleware>();
}
