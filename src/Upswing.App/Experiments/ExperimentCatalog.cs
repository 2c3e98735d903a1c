using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Upswing.Data;
using Upswing.Flags;

namespace Upswing.Experiments;

/// <summary>
/// One workspace's experiments and holdouts in the form SDKs and the assignment API evaluate. Both the SDK
/// payload (feature rules linked to an experiment) and <c>POST /v1/assignment</c> hash from the same
/// <see cref="ExperimentEntry.Rule"/>, so a GrowthBook SDK and the server always agree on a new user's variation.
/// </summary>
public sealed class ExperimentCatalog
{
    /// <summary>The value a holdout feature has for users outside the holdout.</summary>
    public const string GeneralPopulation = "general";

    internal ExperimentCatalog(IReadOnlyDictionary<string, ExperimentEntry> experiments, IReadOnlyDictionary<string, JsonObject> holdoutFeatures, JsonObject savedGroups, DateTimeOffset updated)
    {
        Updated = updated;
        Experiments = experiments;
        Started = [.. experiments.Values.Where(e => e.Status is ExperimentStatus.Running or ExperimentStatus.Paused).OrderBy(e => e.Key, StringComparer.Ordinal)];
        HoldoutFeatures = holdoutFeatures;
        SavedGroups = savedGroups;
        Context = new Evaluation.EvaluationContext
        {
            Features = holdoutFeatures.ToFrozenDictionary(h => h.Key, h => Evaluation.GrowthBookJson.ParseFeature(h.Value), StringComparer.Ordinal),
            SavedGroups = savedGroups,
        };
        Fingerprint = FingerprintOf(this);
    }

    /// <summary>
    /// Everything assignment answers depend on, as one string: a rebuild with the same fingerprint is the same
    /// catalog, so the cache keeps the old instance and what it learnt (<see cref="KnownUnassigned"/>).
    /// </summary>
    internal string Fingerprint { get; }

    internal static bool SameSettings(ExperimentCatalog a, ExperimentCatalog b) => a.Fingerprint == b.Fingerprint;

    private static string FingerprintOf(ExperimentCatalog catalog)
    {
        var text = new System.Text.StringBuilder();
        text.Append(catalog.Updated.UtcTicks).Append('\n');
        foreach (var e in catalog.Experiments.Values.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            text.Append(e.Id).Append(' ').Append(e.Status).Append(' ').Append(e.Winner).Append(' ').Append(e.Rule.ToJsonString()).Append('\n');
        }

        foreach (var (key, feature) in catalog.HoldoutFeatures.OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            text.Append(key).Append(' ').Append(feature.ToJsonString()).Append('\n');
        }

        return text.Append(catalog.SavedGroups.ToJsonString()).ToString();
    }

    /// <summary>The newest change to an experiment or holdout (SDK payloads' dateUpdated must move with it).</summary>
    public DateTimeOffset Updated { get; }

    /// <summary>Every experiment, by key (drafts too: rules linked to a draft serve nobody yet).</summary>
    public IReadOnlyDictionary<string, ExperimentEntry> Experiments { get; }

    /// <summary>Running and paused experiments in key order: what an assignment request that names none is answered for.</summary>
    public IReadOnlyList<ExperimentEntry> Started { get; }

    /// <summary>Holdouts as GrowthBook features (<c>$holdout:{key}</c>), which linked rules name as prerequisites.</summary>
    public IReadOnlyDictionary<string, JsonObject> HoldoutFeatures { get; }

    /// <summary>Values of the list saved groups the experiments' targeting uses.</summary>
    public JsonObject SavedGroups { get; }

    /// <summary>Holdout features and saved groups, ready for the evaluator; per-user contexts derive from it with `with`.</summary>
    public Evaluation.EvaluationContext Context { get; }

    public static string HoldoutFeatureKey(string holdoutKey) => "$holdout:" + holdoutKey;

    private const int UnassignedCapacity = 200_000;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(Guid Experiment, string Unit), bool> unassigned = new();

    /// <summary>
    /// Units the database had no assignment for while this catalog was current. A unit only gains one when the
    /// settings let it in, and any settings change replaces the catalog, so this saves a query per request for
    /// users outside an experiment (a row this node stores meanwhile is found in <see cref="AssignmentMemo"/> first).
    /// </summary>
    internal bool KnownUnassigned(Guid experiment, string unit) => unassigned.ContainsKey((experiment, unit));

    internal void ForgetUnassigned(Guid experiment, string unit) => unassigned.TryRemove((experiment, unit), out _);

    internal void RememberUnassigned(Guid experiment, string unit)
    {
        if (unassigned.Count >= UnassignedCapacity)
        {
            unassigned.Clear();
        }

        unassigned.TryAdd((experiment, unit), true);
    }
}

/// <summary>An experiment as the catalog holds it: its state, its arms, and its GrowthBook rule without variation values.</summary>
public sealed class ExperimentEntry
{
    internal ExperimentEntry(Guid id, string key, ExperimentStatus status, int? winner, IReadOnlyList<ExperimentVariation> variations, int phase, string hashAttribute, string? fallbackAttribute, JsonObject rule)
    {
        Id = id;
        Key = key;
        Status = status;
        Winner = winner;
        Variations = variations;
        Phase = phase;
        HashAttribute = hashAttribute;
        FallbackAttribute = fallbackAttribute;
        Rule = rule;
        VariationKeys = [.. variations.Select(v => v.Key)];
        Definition = Evaluation.GrowthBookJson.ParseExperiment(WithVariations(VariationKeys.Select(k => (JsonNode?)JsonValue.Create(k))));
    }

    public Guid Id { get; }
    public string Key { get; }
    public ExperimentStatus Status { get; }
    public int? Winner { get; }
    public IReadOnlyList<ExperimentVariation> Variations { get; }
    public IReadOnlyList<string> VariationKeys { get; }
    /// <summary>The current phase's index (0 before the first start).</summary>
    public int Phase { get; }
    public string HashAttribute { get; }
    public string? FallbackAttribute { get; }

    /// <summary>GrowthBook experiment-rule fields: key, seed, hashing, weights, coverage, condition, namespace, holdout, meta.</summary>
    public JsonObject Rule { get; }

    /// <summary>The experiment with the variation keys as values, for the assignment API.</summary>
    public Evaluation.Experiment Definition { get; }

    /// <summary>The rule with these variation values (a feature's values, or the variation keys).</summary>
    public JsonObject WithVariations(IEnumerable<JsonNode?> values)
    {
        var rule = (JsonObject)Rule.DeepClone();
        rule["variations"] = new JsonArray([.. values.Select(v => v?.DeepClone())]);
        return rule;
    }
}

/// <summary>Reads a workspace's experiments into an <see cref="ExperimentCatalog"/>.</summary>
public sealed class ExperimentCatalogBuilder(UpswingDb db)
{
    public async Task<ExperimentCatalog> BuildAsync(Guid workspaceId, CancellationToken ct)
    {
        var experiments = await db.Set<Experiment>().AsNoTracking()
            .Where(e => e.WorkspaceId == workspaceId).ToListAsync(ct);
        var holdouts = await db.Set<Holdout>().AsNoTracking().Where(h => h.WorkspaceId == workspaceId).ToDictionaryAsync(h => h.Id, ct);
        var groups = await db.Set<SavedGroup>().AsNoTracking().Where(g => g.WorkspaceId == workspaceId).ToDictionaryAsync(g => g.Key, StringComparer.Ordinal, ct);

        var usedListGroups = new SortedSet<string>(StringComparer.Ordinal);
        var entries = new Dictionary<string, ExperimentEntry>(StringComparer.Ordinal);
        var holdoutFeatures = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var e in experiments)
        {
            var holdout = e.HoldoutId is { } id ? holdouts.GetValueOrDefault(id) : null;
            if (holdout is not null)
            {
                holdoutFeatures[ExperimentCatalog.HoldoutFeatureKey(holdout.Key)] = HoldoutFeature(holdout);
            }

            var variations = ExperimentService.VariationsOf(e);
            var phase = Math.Max(0, (JsonSerializer.Deserialize<JsonArray>(e.Phases)?.Count ?? 1) - 1);
            entries[e.Key] = new ExperimentEntry(e.Id, e.Key, e.Status, e.WinnerIndex, variations, phase, e.HashAttribute, e.FallbackAttribute, Rule(e, variations, phase, holdout, groups, usedListGroups));
        }

        var savedGroups = new JsonObject();
        foreach (var key in usedListGroups)
        {
            savedGroups[key] = JsonNode.Parse(groups[key].Values);
        }

        var updated = experiments.Select(e => e.UpdatedAt).Concat(holdouts.Values.Select(h => h.UpdatedAt)).DefaultIfEmpty(DateTimeOffset.UnixEpoch).Max();
        return new ExperimentCatalog(entries, holdoutFeatures, savedGroups, updated);
    }

    private static JsonObject Rule(Experiment e, List<ExperimentVariation> variations, int phase, Holdout? holdout, Dictionary<string, SavedGroup> groups, ISet<string> usedListGroups)
    {
        var rule = new JsonObject
        {
            ["key"] = e.Key,
            ["name"] = e.Name,
            ["seed"] = e.Seed,
            ["hashAttribute"] = e.HashAttribute,
            ["hashVersion"] = e.HashVersion,
            ["coverage"] = e.Coverage,
            ["weights"] = new JsonArray([.. variations.Select(v => (JsonNode?)JsonValue.Create(v.Weight))]),
            ["meta"] = new JsonArray([.. variations.Select(v => (JsonNode?)new JsonObject { ["key"] = v.Key, ["name"] = v.Name })]),
            ["phase"] = phase.ToString(CultureInfo.InvariantCulture),
        };
        if (e.FallbackAttribute is { } fallback)
        {
            rule["fallbackAttribute"] = fallback;
        }

        var condition = e.Condition is null ? null : JsonNode.Parse(e.Condition);
        if (SavedGroupConditions.Combine([condition], JsonSerializer.Deserialize<List<string>>(e.SavedGroups), groups, usedListGroups) is { } combined)
        {
            rule["condition"] = combined;
        }

        if (e.Namespace is { } ns)
        {
            rule["namespace"] = new JsonArray(ns, e.NamespaceStart, e.NamespaceEnd);
        }

        if (holdout is not null)
        {
            // Users in the holdout skip the experiment: the holdout feature must say they are in the general population.
            rule["parentConditions"] = new JsonArray(new JsonObject
            {
                ["id"] = ExperimentCatalog.HoldoutFeatureKey(holdout.Key),
                ["condition"] = new JsonObject { ["value"] = ExperimentCatalog.GeneralPopulation },
            });
        }

        return rule;
    }

    /// <summary>A holdout as a feature: "holdout" for a stable hashed share of users, "general" for the rest.</summary>
    private static JsonObject HoldoutFeature(Holdout holdout) => new()
    {
        ["defaultValue"] = ExperimentCatalog.GeneralPopulation,
        ["rules"] = new JsonArray(new JsonObject
        {
            ["id"] = "holdout",
            ["force"] = "holdout",
            ["coverage"] = holdout.Percentage,
            ["hashAttribute"] = holdout.HashAttribute,
            ["seed"] = "holdout:" + holdout.Key,
            ["hashVersion"] = 2,
        }),
    };
}
