using System.Collections;
using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Upswing.Common.Http;

/// <summary>
/// Every response carries the server's request id (HttpContext.TraceIdentifier) in X-Request-Id. The same
/// id is the RequestId of every log line of the request (<see cref="RequestLogScopes"/>), the requestId of problem
/// bodies and the request_id of audit entries. A well-formed X-Request-Id sent by the client is kept as
/// ClientRequestId in the log scope, so a call can be followed across services.
/// </summary>
internal sealed class RequestIdMiddleware(RequestDelegate next)
{
    public const string Header = "X-Request-Id";

    public Task InvokeAsync(HttpContext context)
    {
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

/// <summary>
/// The loggers' scope provider: a log line written while a request is served gets the request's
/// <see cref="RequestLogScope"/> first, then any scopes opened with BeginScope. The request's scope is built only when
/// a line is written, from the request the <see cref="IHttpContextAccessor"/> sees, so requests that log nothing pay
/// nothing (pushing a scope on every request cost several allocations and two async-local writes).
/// </summary>
internal sealed class RequestLogScopes(IHttpContextAccessor http) : IExternalScopeProvider
{
    private readonly AsyncLocal<Pushed?> current = new();

    public void ForEachScope<TState>(Action<object?, TState> callback, TState state)
    {
        if (http.HttpContext is { } context)
        {
            var incoming = context.Request.Headers[RequestIdMiddleware.Header];
            var clientId = incoming.Count == 0 ? null : incoming.ToString();
            callback(new RequestLogScope(context, clientId is not null && RequestIdMiddleware.IsAcceptable(clientId) ? clientId : null), state);
        }

        Report(current.Value, callback, state);
    }

    public IDisposable Push(object? state) => current.Value = new Pushed(this, state, current.Value);

    // Outermost first, as the framework's provider reports them.
    private static void Report<TState>(Pushed? scope, Action<object?, TState> callback, TState state)
    {
        if (scope is not null)
        {
            Report(scope.Parent, callback, state);
            callback(scope.State, state);
        }
    }

    private sealed class Pushed(RequestLogScopes owner, object? state, Pushed? parent) : IDisposable
    {
        public object? State { get; } = state;

        public Pushed? Parent { get; } = parent;

        public void Dispose()
        {
            if (owner.current.Value == this)
            {
                owner.current.Value = Parent;
            }
        }
    }
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
