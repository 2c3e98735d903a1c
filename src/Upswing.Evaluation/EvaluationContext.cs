using System.Collections.Frozen;
using System.Text.Json.Nodes;

namespace Upswing.Evaluation;

/// <summary>Everything an evaluation needs about one user and one payload; treat its JSON as read-only.</summary>
public sealed record EvaluationContext
{
    /// <summary>User attributes (targeting and hashing).</summary>
    public JsonObject Attributes { get; init; } = [];

    /// <summary>Current URL, for query-string overrides and URL targeting.</summary>
    public string? Url { get; init; }

    /// <summary>Feature definitions by key.</summary>
    public IReadOnlyDictionary<string, FeatureDefinition> Features { get; init; } = FrozenDictionary<string, FeatureDefinition>.Empty;

    /// <summary>Inline (auto) experiments, e.g. URL redirects.</summary>
    public IReadOnlyList<Experiment> Experiments { get; init; } = [];

    /// <summary>Experiment key to forced variation index.</summary>
    public IReadOnlyDictionary<string, int> ForcedVariations { get; init; } = FrozenDictionary<string, int>.Empty;

    /// <summary>Feature key to forced value (source "override").</summary>
    public IReadOnlyDictionary<string, JsonNode?> ForcedFeatures { get; init; } = FrozenDictionary<string, JsonNode?>.Empty;

    /// <summary>Saved groups for $inGroup / $notInGroup: id to list of values.</summary>
    public JsonObject? SavedGroups { get; init; }

    /// <summary>Contextual bandits by key.</summary>
    public IReadOnlyDictionary<string, ContextualBanditDefinition> ContextualBandits { get; init; } = FrozenDictionary<string, ContextualBanditDefinition>.Empty;

    /// <summary>Legacy groups the user belongs to (group name to membership).</summary>
    public IReadOnlyDictionary<string, bool> Groups { get; init; } = FrozenDictionary<string, bool>.Empty;

    /// <summary>False turns every experiment off.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>QA mode: nobody is hashed into experiments (forced variations still apply).</summary>
    public bool QaMode { get; init; }

    /// <summary>Sticky bucket assignments; null disables sticky bucketing. Evaluation records new assignments here.</summary>
    public StickyBucketStore? StickyBuckets { get; init; }
}
