using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Nodes;
using Upswing.Experiments;

namespace Upswing.Events;

/// <summary>
/// Commits a group of requests in one transaction: their events (each once per message id), quarantined events,
/// daily counts, users and identity links. One implementation per provider; this base holds what they share.
/// </summary>
internal abstract class EventStore(AssignmentHistory assignments, ExposureRecorder exposures) : IAsyncDisposable
{
    public abstract Task WriteAsync(IReadOnlyList<PendingWrite> group, CancellationToken ct);

    protected LinkMemo KnownLinks { get; } = new();

    public abstract ValueTask DisposeAsync();

    /// <summary>
    /// Sets each event's <see cref="IncomingEvent.Experiments"/>: the variations its user id or anonymous id had
    /// been assigned by the event's time (the user id's assignment wins when both have one).
    /// </summary>
    protected async Task EnrichAsync(DbConnection connection, DbTransaction? transaction, IReadOnlyList<PendingWrite> group, CancellationToken ct)
    {
        foreach (var workspace in group.GroupBy(w => w.WorkspaceId))
        {
            var units = new HashSet<string>(StringComparer.Ordinal);
            foreach (var e in workspace.SelectMany(w => w.Events))
            {
                if (e.UserId is not null)
                {
                    units.Add(e.UserId);
                }

                if (e.AnonymousId is not null)
                {
                    units.Add(e.AnonymousId);
                }
            }

            var found = await assignments.RecallAsync(connection, transaction, workspace.Key, units, ct);
            if (found.Count == 0)
            {
                continue;
            }

            var byUnit = found.ToLookup(a => a.UnitId, StringComparer.Ordinal);
            foreach (var e in workspace.SelectMany(w => w.Events))
            {
                e.Experiments = ExperimentsAt(e, byUnit);
            }
        }
    }

    /// <summary>Records the exposures that stored "Experiment Viewed" events report (an SDK's tracking callback).</summary>
    protected async Task RecordExposuresAsync(DbConnection connection, DbTransaction transaction, Summary summary, CancellationToken ct)
    {
        foreach (var (workspace, reported) in summary.Exposures)
        {
            // In key order (a stable sort keeps each unit's first exposure first): concurrent writers lock rows alike.
            await exposures.RecordAsync(connection, transaction, workspace,
                [.. reported.OrderBy(e => e.ExperimentKey, StringComparer.Ordinal).ThenBy(e => e.HashValue ?? e.UserId ?? e.AnonymousId, StringComparer.Ordinal)], ct);
        }
    }

    private static string? ExperimentsAt(IncomingEvent e, ILookup<string, UnitAssignment> byUnit)
    {
        SortedDictionary<string, string>? variations = null;
        // Anonymous first, so that the user id's assignment overwrites it.
        foreach (var unit in new[] { e.AnonymousId, e.UserId })
        {
            if (unit is null)
            {
                continue;
            }

            foreach (var a in byUnit[unit])
            {
                if (a.FirstExposedAt <= e.Timestamp)
                {
                    (variations ??= new(StringComparer.Ordinal))[a.ExperimentKey] = a.VariationKey;
                }
            }
        }

        return variations is null ? null : JsonSerializer.Serialize(variations);
    }

    /// <summary>What the stored (new) events of a group add to the daily counts, users and identity links.</summary>
    protected sealed class Summary(LinkMemo links)
    {
        public Dictionary<(Guid Workspace, DateOnly Day, string Type, string Name), long> Counts { get; } = [];

        public Dictionary<(Guid Workspace, string UserId), UserSighting> Users { get; } = [];

        public Dictionary<(Guid Workspace, string AnonymousId), (string UserId, DateTimeOffset At)> Links { get; } = [];

        public Dictionary<Guid, List<SdkExposure>> Exposures { get; } = [];

        public void Add(Guid workspace, IncomingEvent e)
        {
            if (e is { Type: EventTypes.Track, Name: ExposureRecorder.ExperimentViewed } && Exposure(e) is { } exposure)
            {
                if (!Exposures.TryGetValue(workspace, out var list))
                {
                    Exposures[workspace] = list = [];
                }

                list.Add(exposure);
            }

            var key = (workspace, DateOnly.FromDateTime(e.Timestamp.UtcDateTime), e.Type, e.Name ?? "");
            Counts[key] = Counts.GetValueOrDefault(key) + 1;
            if (e.UserId is { } userId)
            {
                // Only identify calls write the user's row (its traits): a per-event upsert would double the writes.
                if (e.Type == EventTypes.Identify)
                {
                    if (!Users.TryGetValue((workspace, userId), out var user))
                    {
                        Users[(workspace, userId)] = user = new UserSighting(e.Timestamp);
                    }

                    user.Seen(e.Timestamp);
                    if (e.Traits is not null)
                    {
                        user.Merge(e.Traits);
                    }
                }

                var anonymous = e.Type == EventTypes.Alias ? e.PreviousId : e.AnonymousId;
                if (anonymous is not null && anonymous != userId && !links.IsKnown(workspace, anonymous))
                {
                    Links.TryAdd((workspace, anonymous), (userId, e.Timestamp));
                }
            }
        }
    }

    /// <summary>
    /// The exposure an "Experiment Viewed" event reports, in the spellings SDKs and Segment integrations use
    /// (experimentId / experiment_id, variationId / variation_id, variationIndex, hashValue).
    /// </summary>
    private static SdkExposure? Exposure(IncomingEvent e)
    {
        if (e.Properties is null)
        {
            return null;
        }

        var properties = JsonNode.Parse(e.Properties) as JsonObject;
        var experiment = Text(properties, "experimentId") ?? Text(properties, "experiment_id");
        if (experiment is null)
        {
            return null;
        }

        var index = (properties!["variationIndex"] ?? properties["variation_index"]) is JsonValue value && value.TryGetValue<int>(out var i) ? i : (int?)null;
        return new SdkExposure(experiment, Text(properties, "variationId") ?? Text(properties, "variation_id"), index, e.UserId, e.AnonymousId,
            Text(properties, "hashValue") ?? Text(properties, "hash_value"), e.Timestamp);

        static string? Text(JsonObject? o, string name) => o?[name] is JsonValue v
            ? v.GetValueKind() switch
            {
                JsonValueKind.String => v.GetValue<string>(),
                JsonValueKind.Number => v.ToJsonString(),
                _ => null,
            }
            : null;
    }

    /// <summary>
    /// Anonymous ids this node has linked (or found linked) already. Browsers send both ids on every event after
    /// sign-up; without this each of those events would cost an insert that changes nothing. Bounded: forgetting only
    /// costs that insert again.
    /// </summary>
    protected internal sealed class LinkMemo
    {
        private const int Capacity = 200_000;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<(Guid, string), bool> known = new();

        public bool IsKnown(Guid workspace, string anonymousId) => known.ContainsKey((workspace, anonymousId));

        /// <summary>Call after the transaction that wrote the links committed.</summary>
        public void Remember(IEnumerable<(Guid Workspace, string AnonymousId)> linked)
        {
            if (known.Count >= Capacity)
            {
                known.Clear();
            }

            foreach (var key in linked)
            {
                known.TryAdd(key, true);
            }
        }
    }

    /// <summary>A user seen in a group: first and last event time, and the traits its identify calls set (later ones win per key).</summary>
    protected sealed class UserSighting(DateTimeOffset at)
    {
        public DateTimeOffset First { get; private set; } = at;

        public DateTimeOffset Last { get; private set; } = at;

        public JsonObject? Traits { get; private set; }

        public void Seen(DateTimeOffset at)
        {
            First = at < First ? at : First;
            Last = at > Last ? at : Last;
        }

        public void Merge(string traits)
        {
            Traits ??= [];
            foreach (var (key, value) in JsonNode.Parse(traits)!.AsObject())
            {
                Traits[key] = value?.DeepClone();
            }
        }
    }

    /// <summary>Shallow merge: the newer traits replace the older ones key by key, as in Segment.</summary>
    protected static string MergeTraits(string? existing, JsonObject newer)
    {
        var merged = existing is null ? [] : JsonNode.Parse(existing) as JsonObject ?? [];
        foreach (var (key, value) in newer)
        {
            merged[key] = value?.DeepClone();
        }

        return merged.ToJsonString();
    }
}
