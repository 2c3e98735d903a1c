using System.Text.Json.Nodes;

namespace Upswing.Evaluation;

/// <summary>Per-variation metadata: a stable key, a display name, and whether the variation passes through to later rules.</summary>
public sealed record VariationMeta
{
    /// <summary>Stable variation key (defaults to the index as a string).</summary>
    public string? Key { get; init; }

    /// <summary>Display name.</summary>
    public string? Name { get; init; }

    /// <summary>When true, users assigned here fall through to the next rule (holdouts).</summary>
    public bool Passthrough { get; init; }
}

/// <summary>A hash-range filter: the user's hash of <see cref="Attribute"/> with <see cref="Seed"/> must land in one of <see cref="Ranges"/>.</summary>
public sealed record HashFilter
{
    /// <summary>Attribute to hash (default "id").</summary>
    public string? Attribute { get; init; }

    /// <summary>Hash seed.</summary>
    public required string Seed { get; init; }

    /// <summary>Hash version (default 2).</summary>
    public int? HashVersion { get; init; }

    /// <summary>Accepted ranges.</summary>
    public required IReadOnlyList<BucketRange> Ranges { get; init; }
}

/// <summary>A prerequisite: feature <see cref="Id"/>'s value must satisfy <see cref="Condition"/> (tested as {"value": ...}).</summary>
public sealed record ParentCondition
{
    /// <summary>The prerequisite feature key.</summary>
    public required string Id { get; init; }

    /// <summary>Condition over {"value": parentValue}.</summary>
    public JsonObject? Condition { get; init; }

    /// <summary>When true a failed prerequisite blocks the whole feature (value null) instead of skipping the rule.</summary>
    public bool Gate { get; init; }
}

/// <summary>Contextual-bandit routing attached to an experiment once a leaf was chosen.</summary>
public sealed record ContextualBanditAssignment(int LeafId, IReadOnlyList<double> VariationWeights, int? BanditVersion);

/// <summary>One leaf of a contextual bandit: users matching <see cref="Condition"/> get <see cref="Weights"/>.</summary>
public sealed record ContextualBanditLeaf(int LeafId, JsonObject Condition, IReadOnlyList<double> Weights);

/// <summary>A contextual bandit definition: ordered leaves (first match wins) and a version.</summary>
public sealed record ContextualBanditDefinition(int? BanditVersion, IReadOnlyList<ContextualBanditLeaf>? Contexts);

/// <summary>A URL targeting pattern for redirect experiments.</summary>
public sealed record UrlPattern(string Type, bool Include, string Pattern);

/// <summary>An experiment definition (inline, or built from a feature's experiment rule).</summary>
public sealed record Experiment
{
    /// <summary>Experiment key, the tracking id.</summary>
    public required string Key { get; init; }

    /// <summary>Variation values.</summary>
    public required IReadOnlyList<JsonNode?> Variations { get; init; }

    /// <summary>Traffic split (defaults to equal).</summary>
    public IReadOnlyList<double>? Weights { get; init; }

    /// <summary>Share of users included (default 1).</summary>
    public double? Coverage { get; init; }

    /// <summary>Explicit bucket ranges; override weights and coverage.</summary>
    public IReadOnlyList<BucketRange>? Ranges { get; init; }

    /// <summary>False stops the experiment (nobody is included).</summary>
    public bool? Active { get; init; }

    /// <summary>"draft", "running" or "stopped".</summary>
    public string? Status { get; init; }

    /// <summary>Attribute to bucket by (default "id").</summary>
    public string? HashAttribute { get; init; }

    /// <summary>Attribute used when the hash attribute is empty (sticky bucketing only).</summary>
    public string? FallbackAttribute { get; init; }

    /// <summary>Hash version (default 1).</summary>
    public int? HashVersion { get; init; }

    /// <summary>Hash seed (default the key).</summary>
    public string? Seed { get; init; }

    /// <summary>Mutual-exclusion namespace.</summary>
    public ExperimentNamespace? Namespace { get; init; }

    /// <summary>Per-variation metadata.</summary>
    public IReadOnlyList<VariationMeta>? Meta { get; init; }

    /// <summary>Hash filters (replace the namespace when present).</summary>
    public IReadOnlyList<HashFilter>? Filters { get; init; }

    /// <summary>Targeting condition.</summary>
    public JsonObject? Condition { get; init; }

    /// <summary>Prerequisite features.</summary>
    public IReadOnlyList<ParentCondition>? ParentConditions { get; init; }

    /// <summary>Forces every included user into this variation.</summary>
    public int? Force { get; init; }

    /// <summary>Display name.</summary>
    public string? Name { get; init; }

    /// <summary>Phase id.</summary>
    public string? Phase { get; init; }

    /// <summary>Opts this experiment out of sticky bucketing.</summary>
    public bool? DisableStickyBucketing { get; init; }

    /// <summary>Sticky bucket version; changing it re-buckets everyone.</summary>
    public int? BucketVersion { get; init; }

    /// <summary>Users with a sticky bucket from an older version are excluded.</summary>
    public int? MinBucketVersion { get; init; }

    /// <summary>Legacy URL targeting: a regex tested against the full URL and its path.</summary>
    public string? Url { get; init; }

    /// <summary>Legacy group targeting: the user must be in one of these context groups.</summary>
    public IReadOnlyList<string>? Groups { get; init; }

    /// <summary>URL targeting (redirect experiments).</summary>
    public IReadOnlyList<UrlPattern>? UrlPatterns { get; init; }

    /// <summary>Carry the current query string over to the redirect URL.</summary>
    public bool? PersistQueryString { get; init; }

    /// <summary>Contextual-bandit routing, set only on results bucketed by hash through a bandit leaf.</summary>
    public ContextualBanditAssignment? ContextualBandit { get; init; }
}

/// <summary>One rule of a feature: a force rule (rollout) or an experiment rule.</summary>
public sealed record FeatureRule
{
    /// <summary>Rule id, echoed in results.</summary>
    public string? Id { get; init; }

    /// <summary>Targeting condition.</summary>
    public JsonObject? Condition { get; init; }

    /// <summary>Prerequisite features.</summary>
    public IReadOnlyList<ParentCondition>? ParentConditions { get; init; }

    /// <summary>True when the rule forces a value (even null).</summary>
    public bool HasForce { get; init; }

    /// <summary>The forced value.</summary>
    public JsonNode? Force { get; init; }

    /// <summary>Experiment variations.</summary>
    public IReadOnlyList<JsonNode?>? Variations { get; init; }

    /// <summary>Contextual-bandit variations (used with <see cref="ContextualBanditRef"/>).</summary>
    public IReadOnlyList<JsonNode?>? ContextualVariations { get; init; }

    /// <summary>Key of the contextual bandit that routes this rule.</summary>
    public string? ContextualBanditRef { get; init; }

    /// <summary>Experiment weights.</summary>
    public IReadOnlyList<double>? Weights { get; init; }

    /// <summary>Experiment key (defaults to the feature key).</summary>
    public string? Key { get; init; }

    /// <summary>Attribute to bucket by.</summary>
    public string? HashAttribute { get; init; }

    /// <summary>Fallback attribute for sticky bucketing.</summary>
    public string? FallbackAttribute { get; init; }

    /// <summary>Opts out of sticky bucketing.</summary>
    public bool? DisableStickyBucketing { get; init; }

    /// <summary>Sticky bucket version.</summary>
    public int? BucketVersion { get; init; }

    /// <summary>Minimum sticky bucket version.</summary>
    public int? MinBucketVersion { get; init; }

    /// <summary>Coverage (force rules: inclusive n &lt;= coverage).</summary>
    public double? Coverage { get; init; }

    /// <summary>Force-rule hash range (overrides coverage).</summary>
    public BucketRange? Range { get; init; }

    /// <summary>Experiment namespace.</summary>
    public ExperimentNamespace? Namespace { get; init; }

    /// <summary>Variation metadata.</summary>
    public IReadOnlyList<VariationMeta>? Meta { get; init; }

    /// <summary>Experiment bucket ranges.</summary>
    public IReadOnlyList<BucketRange>? Ranges { get; init; }

    /// <summary>Experiment name.</summary>
    public string? Name { get; init; }

    /// <summary>Experiment phase.</summary>
    public string? Phase { get; init; }

    /// <summary>Hash seed.</summary>
    public string? Seed { get; init; }

    /// <summary>Hash version.</summary>
    public int? HashVersion { get; init; }

    /// <summary>Hash filters.</summary>
    public IReadOnlyList<HashFilter>? Filters { get; init; }
}

/// <summary>A feature: a default value and ordered rules.</summary>
public sealed record FeatureDefinition
{
    /// <summary>Value when no rule applies.</summary>
    public JsonNode? DefaultValue { get; init; }

    /// <summary>Rules, first match wins.</summary>
    public IReadOnlyList<FeatureRule> Rules { get; init; } = [];
}
