using Upswing.Analytics;
using Upswing.Events;
using Upswing.Experiments;

namespace Upswing.Demo;

/// <summary>What seeding the demo's history stored, and how long it took.</summary>
public sealed record DemoEventsSummary(int Events, int Vitals, int Persons, int Users, TimeSpan Elapsed);

/// <summary>
/// Stores the demo workspace's generated history (<see cref="DemoHistory"/>) through the ingestion store, exposures first
/// (so the events after them are enriched with their variations, as live traffic would be), then runs every registered
/// rollup once so the dashboard shows data at once.
/// </summary>
internal sealed class DemoEvents(EventImport import, ExperimentCatalogCache catalogs, RollupRunner rollups, TimeProvider time)
{
    /// <summary>Fixed: the same day and clock give the same history.</summary>
    public const int Seed = 2026;

    public async Task<DemoEventsSummary> SeedAsync(Guid workspaceId, Guid? environmentId, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        // The experiments were started a moment ago: read them fresh rather than from a catalog cached before.
        catalogs.Drop(workspaceId);
        var catalog = await catalogs.GetAsync(workspaceId, ct);
        var now = time.GetUtcNow();
        var history = new DemoHistory(catalog, now, Seed);
        history.Generate();

        var ordered = history.Events.OrderBy(e => e.Timestamp).ToList();
        var exposures = ordered.Where(e => e.Name == ExposureRecorder.ExperimentViewed).ToList();
        var rest = ordered.Where(e => e.Name != ExposureRecorder.ExperimentViewed).ToList();
        var stored = await import.WriteAsync(workspaceId, environmentId, exposures, [], now, ct);
        stored += await import.WriteAsync(workspaceId, environmentId, rest, history.Vitals, now, ct);

        foreach (var job in rollups.Jobs)
        {
            await rollups.RunAsync(workspaceId, job, null, ct);
        }

        return new DemoEventsSummary(stored, history.Vitals.Count, history.Persons, history.Users, time.GetElapsedTime(started));
    }
}
