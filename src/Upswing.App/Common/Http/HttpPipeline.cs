using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Upswing.Common.Http;

/// <summary>Upswing's own middleware, in the order the server adds it.</summary>
public static class HttpPipeline
{
    /// <summary>The request's id, path and client id in the scope of every log line written while it is served.</summary>
    public static IServiceCollection AddRequestLogScopes(this IServiceCollection services)
    {
        // LoggerFactory takes the scope provider from the container when one is registered.
        services.AddHttpContextAccessor();
        services.AddSingleton<IExternalScopeProvider, RequestLogScopes>();
        return services;
    }

    /// <summary>X-Request-Id on every response, the same id in logs and problem bodies.</summary>
    public static IApplicationBuilder UseRequestIds(this IApplicationBuilder app) => app.UseMiddleware<RequestIdMiddleware>();

    /// <summary>Malformed requests become 4xx ProblemDetails, logged at debug, never as server errors.</summary>
    public static IApplicationBuilder UseBadRequestProblems(this IApplicationBuilder app) => app.UseMiddleware<BadRequestMiddleware>();

    /// <summary>
    /// The framework's CORS middleware, given its policy provider once. <c>UseCors</c> asks the request's services
    /// for that provider on every request, which creates the request's DI scope even for calls that need nothing
    /// scoped (SDK and assignment calls without an Origin header). The default provider only reads the CORS options,
    /// so one instance serves every request.
    /// </summary>
    public static IApplicationBuilder UseCorsWithoutRequestScope(this IApplicationBuilder app)
    {
        var services = app.ApplicationServices;
        var policies = services.GetRequiredService<ICorsPolicyProvider>();
        return app.Use(next =>
        {
            var cors = new CorsMiddleware(next, services.GetRequiredService<ICorsService>(), services.GetRequiredService<ILoggerFactory>());
            return context => cors.Invoke(context, policies);
        });
    }

    /// <summary>
    /// Runs <paramref name="configure"/>'s middleware (sessions, authorization, antiforgery) for every endpoint except
    /// those marked <see cref="KeyInRequestExtensions.AuthenticatesByKeyInRequest"/>. Goes after routing, so the
    /// endpoint is known.
    /// </summary>
    public static IApplicationBuilder UseUnlessKeyInRequest(this IApplicationBuilder app, Action<IApplicationBuilder> configure)
    {
        app.UseWhen(static context => context.GetEndpoint()?.Metadata.GetMetadata<KeyInRequestMetadata>() is null, configure);
        // UseAuthentication and UseAuthorization mark only the branch's copy of the properties. Unmarked, WebApplication
        // would add both again at the very start of the pipeline, and every request (SDK ones included) would read
        // its cookies twice.
        foreach (var marker in BranchedMiddlewareMarkers)
        {
            app.Properties[marker] = true;
        }

        return app;
    }

    /// <summary>The properties WebApplication checks before adding authentication and authorization on its own.</summary>
    private static readonly string[] BranchedMiddlewareMarkers = ["__AuthenticationMiddlewareSet", "__AuthorizationMiddlewareSet"];
}

/// <summary>Marks an endpoint whose handler authenticates the caller itself, from a key in the path or a header.</summary>
public sealed class KeyInRequestMetadata
{
    internal static readonly KeyInRequestMetadata Instance = new();

    private KeyInRequestMetadata()
    {
    }
}

/// <summary>Endpoint conventions for <see cref="KeyInRequestMetadata"/>.</summary>
public static class KeyInRequestExtensions
{
    /// <summary>
    /// The handler checks the key in the request itself (SDK and OFREP endpoints), so cookie authentication,
    /// authorization and antiforgery have nothing to do and are skipped: on the SDK hot path they cost more than the
    /// handler. An endpoint that also asks for authorization or antiforgery fails loudly at its first request
    /// (the endpoint middleware refuses metadata whose middleware did not run), never silently open.
    /// </summary>
    public static TBuilder AuthenticatesByKeyInRequest<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(KeyInRequestMetadata.Instance);
}
