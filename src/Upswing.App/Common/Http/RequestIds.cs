using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Upswing.Common.Http;

/// <summary>
/// Every response carries the server's request id (HttpContext.TraceIdentifier) in X-Request-Id. The same
/// id is the RequestId of every log line of the request (ASP.NET's hosting log scope), the requestId of
/// problem bodies and the request_id of audit entries. A well-formed X-Request-Id sent by the client is
/// kept as ClientRequestId in the log scope, so a call can be followed across services.
/// </summary>
internal sealed class RequestIdMiddleware(RequestDelegate next, ILogger<RequestIdMiddleware> logger)
{
    public const string Header = "X-Request-Id";

    // Not async itself: most requests send no request id, and they pass through without a state machine.
    public Task InvokeAsync(HttpContext context)
    {
        // Set as the response starts, so error handlers that clear the response cannot drop it.
        context.Response.OnStarting(static state =>
        {
            var http = (HttpContext)state;
            http.Response.Headers[Header] = http.TraceIdentifier;
            return Task.CompletedTask;
        }, context);

        var incoming = context.Request.Headers[Header];
        return incoming.Count == 0 ? next(context) : WithClientIdAsync(context, incoming.ToString());
    }

    private async Task WithClientIdAsync(HttpContext context, string incoming)
    {
        if (!IsAcceptable(incoming))
        {
            await next(context);
            return;
        }

        using (logger.BeginScope(new KeyValuePair<string, object>[] { new("ClientRequestId", incoming) }))
        {
            await next(context);
        }
    }

    internal static bool IsAcceptable(string value) =>
        value.Length is > 0 and <= 64 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
