using Microsoft.Extensions.DependencyInjection;
using Upswing.Data;

namespace Upswing.Events;

/// <summary>
/// Writes events and web-vitals measurements that were made in the past (the demo's generated history) through an event
/// store of its own: the code the ingestion writer commits with, so message-id dedup, identity links, users, daily counts,
/// experiment enrichment, SDK-reported exposures and vitals storage behave as for <c>/v1/batch</c> and <c>/v1/vitals</c>.
/// It does not go through the writer's queue: it also runs where the writer is not started (the CLI, startup tasks).
/// </summary>
internal sealed class EventImport(IServiceProvider services)
{
    /// <summary>Events (or vitals) per transaction.</summary>
    public const int Chunk = 10_000;

    /// <summary>Stores the events in order, then the vitals; returns how many events were new (the rest were stored already).</summary>
    public async Task<int> WriteAsync(Guid workspaceId, Guid? environmentId, IReadOnlyList<IncomingEvent> events, IReadOnlyList<IncomingVital> vitals, DateTimeOffset receivedAt, CancellationToken ct)
    {
        var postgres = services.GetRequiredService<SqlDialect>().Provider == DatabaseProvider.Postgres;
        await using var store = EventsModule.NewStore(services, postgres);
        var stored = 0;
        foreach (var chunk in events.Chunk(Chunk))
        {
            var write = new PendingWrite(workspaceId, environmentId, receivedAt, chunk, []);
            await store.WriteAsync([write], ct);
            stored += write.Stored;
        }

        foreach (var chunk in vitals.Chunk(Chunk))
        {
            await store.WriteAsync([new PendingWrite(workspaceId, environmentId, receivedAt, [], [], chunk)], ct);
        }

        return stored;
    }

    /// <summary>
    /// Refreshes PostgreSQL's planner statistics after a bulk import, so that the rollups that follow are planned for the
    /// rows now there rather than for the empty tables autovacuum last saw (which turns their joins into nested loops).
    /// SQLite plans from its indexes alone: nothing to do there.
    /// </summary>
    public async Task AnalyzeAsync(CancellationToken ct)
    {
        var dialect = services.GetRequiredService<SqlDialect>();
        if (dialect.Provider != DatabaseProvider.Postgres)
        {
            return;
        }

        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "ANALYZE";
        command.CommandTimeout = 0;
        await command.ExecuteNonQueryAsync(ct);
    }
}
