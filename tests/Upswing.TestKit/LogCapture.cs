using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Upswing.TestKit;

/// <summary>One captured log line.</summary>
public sealed record CapturedLog(LogLevel Level, string Category, string Message, Exception? Exception, IReadOnlyDictionary<string, object?> Scope);

/// <summary>Keeps every log line a test server writes, so tests can assert on what was (not) logged.</summary>
public sealed class LogCapture : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<CapturedLog> entries = new();
    private IExternalScopeProvider scopes = new LoggerExternalScopeProvider();

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes = scopeProvider;

    public IReadOnlyList<CapturedLog> Entries => entries.ToArray();

    /// <summary>Errors and anything carrying an exception: what an operator would be paged for.</summary>
    public IReadOnlyList<CapturedLog> Problems => entries.Where(e => e.Level >= LogLevel.Error || e.Exception is not null).ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, entries, () => scopes);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<CapturedLog> entries, Func<IExternalScopeProvider> scopes) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => scopes().Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            // Scope values flattened the way the JSON console shows them (the last value of a name wins).
            var scope = new Dictionary<string, object?>(StringComparer.Ordinal);
            scopes().ForEachScope(static (value, bag) =>
            {
                if (value is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    foreach (var (key, item) in pairs)
                    {
                        bag[key] = item;
                    }
                }
            }, scope);
            entries.Enqueue(new CapturedLog(logLevel, category, formatter(state, exception), exception, scope));
        }
    }
}
