using Upswing.Data;

namespace Upswing.Flags;

/// <summary>
/// Carries "this workspace's flags changed" to every node: drops the SDK payload and experiment caches and wakes the open
/// SDK streams here, and on PostgreSQL sends a NOTIFY that <see cref="FlagChangeNotifications"/> turns into the
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

/// <summary>Flag changes other nodes made (their NOTIFYs), applied here.</summary>
internal sealed class FlagChangeNotifications(FlagChangeFeed feed, FlagChanges changes) : IDatabaseNotificationHandler
{
    public string Channel => FlagChangeFeed.Channel;

    public void OnNotification(string payload)
    {
        if (Guid.TryParse(payload, out var workspaceId))
        {
            feed.ApplyLocally(workspaceId);
        }
    }

    // Changes made while we were not listening were missed: treat everything as changed.
    public void OnListening() => feed.ApplyEverywhereLocally(changes.Workspaces());
}
