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

    /// <summary>
    /// Stores <paramref name="scale"/> histories (the first from <see cref="Seed"/>, each next one from the next seed, with
    /// its own persons and ids), then runs every rollup once. One history is in memory at a time, so a large scale (the
    /// rollup benchmark's ten million events) needs no more memory than the demo. <paramref name="progress"/> hears
    /// of each history stored.
    /// </summary>
    public async Task<DemoEventsSummary> SeedAsync(Guid workspaceId, Guid? environmentId, int scale, IProgress<int>? progress, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(scale, DemoData.MaxScale);
        var started = time.GetTimestamp();
        // The experiments were started a moment ago: read them fresh rather than from a catalog cached before.
        catalogs.Drop(workspaceId);
        var catalog = await catalogs.GetAsync(workspaceId, ct);
        var now = time.GetUtcNow();
        var (stored, vitals, persons, users) = (0, 0, 0, 0);
        for (var part = 0; part < scale; part++)
        {
            var history = new DemoHistory(catalog, now, Seed + part, part == 0 ? "" : $"{part}-");
            history.Generate();

            var ordered = history.Events.OrderBy(e => e.Timestamp).ToList();
            var exposures = ordered.Where(e => e.Name == ExposureRecorder.ExperimentViewed).ToList();
            var rest = ordered.Where(e => e.Name != ExposureRecorder.ExperimentViewed).ToList();
            stored += await import.WriteAsync(workspaceId, environmentId, exposures, [], now, ct);
            stored += await import.WriteAsync(workspaceId, environmentId, rest, history.Vitals, now, ct);
            (vitals, persons, users) = (vitals + history.Vitals.Count, persons + history.Persons, users + history.Users);
            progress?.Report(part + 1);
        }

        await import.AnalyzeAsync(ct);
        foreach (var job in rollups.Jobs)
        {
            await rollups.RunAsync(workspaceId, job, null, ct);
        }

        return new DemoEventsSummary(stored, vitals, persons, users, time.GetElapsedTime(started));
    }
}
