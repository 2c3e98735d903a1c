using System.Collections;
using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Upswing.Common.Http;

/// <summary>
/// Every response carries the server's request id (HttpContext.TraceIdentifier) in X-Request-Id. The same
/// id is the RequestId of every log line of the request (the <see cref="RequestLogScope"/> opened here), the
/// requestId of problem bodies and the request_id of audit entries. A well-formed X-Request-Id sent by the client
/// is kept as ClientRequestId in the log scope, so a call can be followed across services.
/// </summary>
internal sealed class RequestIdMiddleware(RequestDelegate next, ILogger<RequestIdMiddleware> logger)
{
    public const string Header = "X-Request-Id";

    public async Task InvokeAsync(HttpContext context)
    {
        // Set as the response starts, so error handlers that clear the response cannot drop it.
        context.Response.OnStarting(static state =>
        {
            var http = (HttpContext)state;
            http.Response.Headers[Header] = http.TraceIdentifier;
            return Task.CompletedTask;
        }, context);

        var incoming = context.Request.Headers[Header];
        var clientId = incoming.Count == 0 ? null : incoming.ToString();
        using (logger.BeginScope(new RequestLogScope(context, clientId is not null && IsAcceptable(clientId) ? clientId : null)))
        {
            await next(context);
        }
    }

    internal static bool IsAcceptable(string value) =>
        value.Length is > 0 and <= 64 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}

/// <summary>
/// The log scope of a request: RequestId, RequestPath, the client's ClientRequestId when it sent one, and TraceId and
/// SpanId when the request is traced. Ours rather than ASP.NET's hosting scope, which comes only with the hosting
/// diagnostics logger, and that logger also starts an <see cref="Activity"/> for every request, traced or not
/// (appsettings.json turns it off; see docs/benchmarks.md).
/// </summary>
internal sealed class RequestLogScope : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly KeyValuePair<string, object?>[] items;

    public RequestLogScope(HttpContext context, string? clientRequestId)
    {
        var activity = Activity.Current;
        var count = 2 + (clientRequestId is null ? 0 : 1) + (activity is null ? 0 : 2);
        items = new KeyValuePair<string, object?>[count];
        var i = 0;
        items[i++] = new("RequestId", context.TraceIdentifier);
        items[i++] = new("RequestPath", context.Request.Path.Value);
        if (clientRequestId is not null)
        {
            items[i++] = new("ClientRequestId", clientRequestId);
        }

        if (activity is not null)
        {
            items[i++] = new("TraceId", activity.TraceId.ToHexString());
            items[i] = new("SpanId", activity.SpanId.ToHexString());
        }
    }

    public int Count => items.Length;

    public KeyValuePair<string, object?> this[int index] => items[index];

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    // What text formatters print for the scope.
    public override string ToString() => string.Join(", ", items.Select(item => $"{item.Key}:{item.Value}"));
}
