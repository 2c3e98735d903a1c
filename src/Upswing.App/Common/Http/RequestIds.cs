using Microsoft.AspNetCore.Http;

namespace Upswing.Common.Http;

/// <summary>
/// Gives every request an id that appears in the X-Request-Id response header, in every log line
/// of the request (the hosting log scope carries TraceIdentifier), in audit entries and in problem bodies.
/// A well-formed incoming X-Request-Id is kept so ids can follow a call across services.
/// </summary>
internal sealed class RequestIdMiddleware(RequestDelegate next)
{
    public const string Header = "X-Request-Id";

    public Task InvokeAsync(HttpContext context)
    {
        var incoming = context.Request.Headers[Header].ToString();
        context.TraceIdentifier = IsAcceptable(incoming) ? incoming : Guid.CreateVersion7().ToString("N");
        // Set as the response starts, so error handlers that clear the response cannot drop it.
        context.Response.OnStarting(static state =>
        {
            var http = (HttpContext)state;
            http.Response.Headers[Header] = http.TraceIdentifier;
            return Task.CompletedTask;
        }, context);
        return next(context);
    }

    internal static bool IsAcceptable(string value) =>
        value.Length is > 0 and <= 64 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
