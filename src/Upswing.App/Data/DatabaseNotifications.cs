using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Upswing.Data;

/// <summary>Receives one PostgreSQL LISTEN channel's notifications on every node. Register as a singleton.</summary>
internal interface IDatabaseNotificationHandler
{
    string Channel { get; }

    void OnNotification(string payload);

    /// <summary>Called each time listening (re)starts: whatever was sent while nobody listened was missed.</summary>
    void OnListening();
}

/// <summary>
/// On PostgreSQL, one dedicated connection LISTENs to every registered channel and hands notifications to their
/// handlers, reconnecting with backoff. Needs a session-mode connection: LISTEN does not survive a transaction-pooling
/// PgBouncer, which is why every user of it also has a fallback (cache expiry, polling).
/// </summary>
internal sealed partial class DatabaseNotificationListener(IServiceProvider services, IEnumerable<IDatabaseNotificationHandler> handlers, TimeProvider time, ILogger<DatabaseNotificationListener> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var byChannel = handlers.GroupBy(h => h.Channel, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        if (byChannel.Count == 0 || services.GetRequiredService<SqlDialect>().Provider != DatabaseProvider.Postgres)
        {
            return;
        }

        var dataSource = services.GetRequiredService<NpgsqlDataSource>();
        var backoff = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) =>
                {
                    if (byChannel.TryGetValue(e.Channel, out var receivers))
                    {
                        foreach (var receiver in receivers)
                        {
                            receiver.OnNotification(e.Payload);
                        }
                    }
                };
                // Channel names are constants of the code, never user input.
                await using (var listen = new NpgsqlCommand(string.Concat(byChannel.Keys.Select(c => $"LISTEN {c};")), connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                foreach (var handler in byChannel.Values.SelectMany(h => h))
                {
                    handler.OnListening();
                }

                backoff = TimeSpan.FromSeconds(1);
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or InvalidOperationException)
            {
                LogLost(logger, backoff.TotalSeconds, ex.GetType().Name);
                await Task.Delay(backoff, time, stoppingToken);
                backoff = TimeSpan.FromSeconds(Math.Min(backoff.TotalSeconds * 2, 30));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the database notification connection ({Reason}); reconnecting in {Seconds} s")]
    private static partial void LogLost(ILogger logger, double seconds, string reason);
}
