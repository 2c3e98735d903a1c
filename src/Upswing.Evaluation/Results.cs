using System.Text.Json.Nodes;

namespace Upswing.Evaluation;

/// <summary>Why a feature has its value.</summary>
public enum FeatureSource
{
    /// <summary>The feature key is not defined.</summary>
    UnknownFeature,

    /// <summary>No rule applied.</summary>
    DefaultValue,

    /// <summary>A force (rollout) rule applied.</summary>
    Force,

    /// <summary>The context forced the value.</summary>
    Override,

    /// <summary>An experiment rule assigned the user.</summary>
    Experiment,

    /// <summary>A gating prerequisite failed.</summary>
    Prerequisite,

    /// <summary>Prerequisites form a cycle.</summary>
    CyclicPrerequisite,
}

/// <summary>
/// The outcome of running an experiment for one user. A struct: evaluation hands it out without allocating
/// (every reference in it points into the parsed model or the user's attributes).
/// </summary>
public readonly record struct ExperimentResult
{
    /// <summary>True when the user is in the experiment.</summary>
    public required bool InExperiment { get; init; }

    /// <summary>Assigned variation index (0 when not in the experiment).</summary>
    public required int VariationId { get; init; }

    /// <summary>Assigned variation value.</summary>
    public required JsonNode? Value { get; init; }

    /// <summary>True when the assignment came from hashing (not forced).</summary>
    public required bool HashUsed { get; init; }

    /// <summary>Attribute used for hashing.</summary>
    public required string HashAttribute { get; init; }

    /// <summary>Value of the hash attribute, as the string that is hashed.</summary>
    public required string HashValue { get; init; }

    /// <summary>
    /// The hash attribute's value as the attributes held it, when it is a number: GrowthBook's JSON reports
    /// <c>"hashValue": 123</c> for <c>{"id": 123}</c>, not the string.
    /// </summary>
    public JsonNode? NumericHashValue { get; init; }

    /// <summary>The feature that ran the experiment, if any.</summary>
    public string? FeatureId { get; init; }

    /// <summary>Variation key (meta key, or the index).</summary>
    public required string Key { get; init; }

    /// <summary>Variation name, when given.</summary>
    public string? Name { get; init; }

    /// <summary>The user's hash bucket, when hashed.</summary>
    public double? Bucket { get; init; }

    /// <summary>True for a passthrough variation.</summary>
    public bool Passthrough { get; init; }

    /// <summary>True when a sticky bucket decided the variation.</summary>
    public bool StickyBucketUsed { get; init; }

    /// <summary>Contextual-bandit leaf that routed the user.</summary>
    public int? LeafId { get; init; }

    /// <summary>Contextual-bandit weights used.</summary>
    public IReadOnlyList<double>? VariationWeights { get; init; }

    /// <summary>Contextual-bandit version.</summary>
    public int? BanditVersion { get; init; }
}

/// <summary>
/// The outcome of evaluating a feature for one user. A struct, so evaluating a typical flag allocates nothing:
/// the value, rule id and experiment are the parsed model's own objects.
/// </summary>
public readonly record struct FeatureResult
{
    private readonly string? ruleId;

    /// <summary>The feature's value.</summary>
    public required JsonNode? Value { get; init; }

    /// <summary>JavaScript truthiness of the value.</summary>
    public bool On => JsValues.Truthy(Value);

    /// <summary>Negation of <see cref="On"/>.</summary>
    public bool Off => !On;

    /// <summary>Why the feature has this value.</summary>
    public required FeatureSource Source { get; init; }

    /// <summary>Id of the rule that applied ("" when none).</summary>
    public string RuleId { get => ruleId ?? ""; init => ruleId = value; }

    /// <summary>The experiment that assigned the value, for experiment results.</summary>
    public Experiment? Experiment { get; init; }

    /// <summary>The experiment assignment, for experiment results.</summary>
    public ExperimentResult? ExperimentResult { get; init; }
}
