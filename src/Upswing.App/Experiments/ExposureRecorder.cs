using System.Data.Common;
using System.Globalization;
using Upswing.Data;
using Upswing.Evaluation;

namespace Upswing.Experiments;

/// <summary>
/// An exposure an SDK reported through its tracking callback (an "Experiment Viewed" event): which experiment and
/// variation, and the ids of the user it was sent for. <see cref="HashValue"/> is the hashed unit when the sender
/// said which it was.
/// </summary>
public sealed record SdkExposure(string ExperimentKey, string? VariationKey, int? VariationIndex, string? UserId, string? AnonymousId, string? HashValue, DateTimeOffset At);

/// <summary>
/// Puts SDK-reported exposures in the same store as <c>POST /v1/assignment</c>: a unit's first exposure to an
/// experiment becomes its stored (sticky) assignment, unless it already has one. Runs on the ingestion writer's
/// connection and transaction, so an exposure is recorded if and only if its event is.
/// </summary>
public sealed class ExposureRecorder(ExperimentCatalogCache catalogs, SqlDialect dialect)
{
    /// <summary>The event name GrowthBook SDKs and integrations send from their tracking callback.</summary>
    public const string ExperimentViewed = "Experiment Viewed";


    /// <summary>Records what it can; exposures to unknown or draft experiments, or whose unit or variation cannot be told, are skipped.</summary>
    public async Task<int> RecordAsync(DbConnection connection, DbTransaction transaction, Guid workspaceId, IReadOnlyList<SdkExposure> exposures, CancellationToken ct)
    {
        if (exposures.Count == 0)
        {
            return 0;
        }

        var catalog = await catalogs.GetAsync(workspaceId, ct);
        // The first exposure stays: a stored assignment never moves.
        await using var insert = new AssignmentInsert(connection, transaction, dialect);

        var recorded = 0;
        foreach (var exposure in exposures)
        {
            if (catalog.Experiments.GetValueOrDefault(exposure.ExperimentKey) is not { Status: not ExperimentStatus.Draft } entry
                || Unit(entry, exposure) is not { Length: > 0 and <= AssignmentService.MaxIdLength } unit
                || Variation(entry, exposure) is not { } index)
            {
                continue;
            }

            var row = new ExperimentAssignment
            {
                WorkspaceId = workspaceId,
                ExperimentId = entry.Id,
                UnitId = unit,
                VariationIndex = index,
                VariationKey = entry.VariationKeys[index],
                Bucket = Hashing.Hash(entry.Definition.Seed ?? entry.Key, unit, entry.Definition.HashVersion ?? 1) ?? 0,
                Phase = entry.Phase,
                Source = "sdk",
                FirstExposedAt = exposure.At,
            };
            if (await insert.TryAddAsync(row, ct))
            {
                recorded++;
                // The catalog may remember this unit as unassigned; it no longer is.
                catalog.ForgetUnassigned(entry.Id, unit);
            }
        }

        return recorded;
    }

    /// <summary>The hashed unit: as sent, else the id the experiment hashes (id is the user id, else the anonymous id, as in /v1/assignment).</summary>
    private static string? Unit(ExperimentEntry entry, SdkExposure exposure) =>
        exposure.HashValue ?? entry.HashAttribute switch
        {
            "id" => exposure.UserId ?? exposure.AnonymousId,
            "userId" or "user_id" => exposure.UserId,
            "anonymousId" or "anonymous_id" or "deviceId" or "device_id" => exposure.AnonymousId,
            _ => null,
        };

    /// <summary>The variation by index, by key, or by the index GrowthBook SDKs report as the key when variations have no meta keys.</summary>
    private static int? Variation(ExperimentEntry entry, SdkExposure exposure)
    {
        var count = entry.VariationKeys.Count;
        if (exposure.VariationIndex is { } i && i >= 0 && i < count)
        {
            return i;
        }

        if (exposure.VariationKey is { } key)
        {
            var byKey = entry.VariationKeys.ToList().IndexOf(key);
            if (byKey >= 0)
            {
                return byKey;
            }

            if (int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n < count)
            {
                return n;
            }
        }

        return null;
    }
}
