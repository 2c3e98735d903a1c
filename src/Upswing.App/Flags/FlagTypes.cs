using System.Text.Json;
using System.Text.Json.Serialization;

namespace Upswing.Flags;

/// <summary>The type of a feature's value; every default, forced and variation value must have it.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "The names are GrowthBook's value types, as users write them.")]
public enum FeatureValueType
{
    Boolean,
    String,
    Number,
    Json,
}

/// <summary>How a saved group picks people: by a list of attribute values, or by a condition.</summary>
public enum SavedGroupType
{
    List,
    Condition,
}

/// <summary>What a rule does when it matches.</summary>
public enum FeatureRuleType
{
    /// <summary>Serve <see cref="FeatureRule.Value"/> to everyone the condition matches.</summary>
    Force,

    /// <summary>Serve <see cref="FeatureRule.Value"/> to a stable <see cref="FeatureRule.Coverage"/> share, hashed on an attribute.</summary>
    Rollout,

    /// <summary>Split traffic between <see cref="FeatureRule.Variations"/> by weight.</summary>
    Experiment,
}

/// <summary>One rule of a feature in one environment, in the order it is evaluated.</summary>
public sealed record FeatureRule
{
    /// <summary>Stable id, reported as ruleId by evaluation; generated when omitted.</summary>
    public string? Id { get; init; }

    public FeatureRuleType Type { get; init; }

    public string? Description { get; init; }

    /// <summary>A GrowthBook condition (MongoDB-like JSON object) on user attributes.</summary>
    public JsonElement? Condition { get; init; }

    /// <summary>Keys of saved groups the user must be in (all of them).</summary>
    public IReadOnlyList<string>? SavedGroups { get; init; }

    /// <summary>The value served by force and rollout rules.</summary>
    public JsonElement? Value { get; init; }

    /// <summary>Share of users (0–1) a rollout or experiment includes; 1 when omitted.</summary>
    public double? Coverage { get; init; }

    /// <summary>The attribute hashed for rollouts and experiments; "id" when omitted.</summary>
    public string? HashAttribute { get; init; }

    /// <summary>Used when <see cref="HashAttribute"/> is missing on a user.</summary>
    public string? FallbackAttribute { get; init; }

    /// <summary>Experiment key (tracking key); the feature key when omitted.</summary>
    public string? ExperimentKey { get; init; }

    /// <summary>Experiment arms' values, of the feature's type.</summary>
    public IReadOnlyList<JsonElement>? Variations { get; init; }

    /// <summary>Experiment arms' weights, summing to 1; equal when omitted.</summary>
    public IReadOnlyList<double>? Weights { get; init; }

    /// <summary>A disabled rule is kept but skipped.</summary>
    public bool Enabled { get; init; } = true;

    [JsonIgnore]
    public bool HasCondition => Condition is { ValueKind: not JsonValueKind.Undefined and not JsonValueKind.Null };
}
