using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Upswing.Data;

namespace Upswing.Flags;

/// <summary>
/// Carries "this workspace's flags changed" to every node: drops the SDK payload and experiment caches and wakes the open
/// SDK streams here, and on PostgreSQL sends a NOTIFY that <see cref="FlagChangeListener"/> turns into the
/// same on every other node.
/// </summary>
public sealed class FlagChangeFeed(SdkPayloadCache payloads, Experiments.ExperimentCatalogCache experiments, FlagChanges changes, SqlDialect dialect)
{
    public const string Channel = "upswing_flag_changes";

    /// <summary>
    /// Commits a flag or experiment change and publishes it. When <paramref name="conflict"/> is given, a unique-index
    /// violation (two writers racing for one key) becomes that conflict instead of an exception.
    /// </summary>
    internal async Task<Common.Failure?> CommitAsync(UpswingDb db, Guid workspaceId, string? conflict, CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (Microsoft.EntityFrameworkCore.DbUpdateException) when (conflict is not null)
        {
            db.ChangeTracker.Clear();
            return Common.Failure.Conflict(conflict);
        }

        await PublishAsync(workspaceId, ct);
        return null;
    }

    /// <summary>Call after the change has committed.</summary>
    public async Task PublishAsync(Guid workspaceId, CancellationToken ct)
    {
        ApplyLocally(workspaceId);
        await dialect.NotifyAsync(Channel, workspaceId.ToString(), ct);
    }

    internal void ApplyLocally(Guid workspaceId)
    {
        // Drop first, then wake: a woken stream must rebuild from the committed state.
        payloads.Drop(workspaceId);
        experiments.Drop(workspaceId);
        changes.Publish(workspaceId);
    }

    internal void ApplyEverywhereLocally(IEnumerable<Guid> workspaces)
    {
        payloads.DropAll();
        experiments.DropAll();
        foreach (var workspace in workspaces)
        {
            changes.Publish(workspace);
        }
    }
}

/// <summary>
/// On PostgreSQL, LISTENs for flag changes made by any node (one dedicated connection, reconnecting with
/// backoff). Needs a session-mode connection: LISTEN does not survive a transaction-pooling PgBouncer.
/// </summary>
internal sealed partial class FlagChangeListener(IServiceProvider services, FlagChangeFeed feed, FlagChanges changes, TimeProvider time, ILogger<FlagChangeListener> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (services.GetRequiredService<SqlDialect>().Provider != DatabaseProvider.Postgres)
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
                    if (Guid.TryParse(e.Payload, out var workspaceId))
                    {
                        feed.ApplyLocally(workspaceId);
                    }
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {FlagChangeFeed.Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // Changes made while we were not listening were missed: treat everything as changed.
                feed.ApplyEverywhereLocally(changes.Workspaces());
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
            catch (Exception ex) when (ex is NpgsqlException or System.IO.IOException or InvalidOperationException)
            {
                LogLost(logger, backoff.TotalSeconds, ex.GetType().Name);
                await Task.Delay(backoff, time, stoppingToken);
                backoff = TimeSpan.FromSeconds(Math.Min(backoff.TotalSeconds * 2, 30));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the flag change feed ({Reason}); reconnecting in {Seconds} s")]
    private static partial void LogLost(ILogger logger, double seconds, string reason);
}
