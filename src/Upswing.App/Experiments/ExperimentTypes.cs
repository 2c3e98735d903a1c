using System.Text.Json;

namespace Upswing.Experiments;

/// <summary>
/// Where an experiment is in its life. Draft: editable, nobody assigned. Running: users are assigned and stay.
/// Paused: assigned users keep their variation, nobody new enters. Stopped: over; a chosen winner is served to everyone.
/// </summary>
public enum ExperimentStatus
{
    Draft,
    Running,
    Paused,
    Stopped,
}

/// <summary>One arm of an experiment: a stable key (what SDKs report), a display name, and its share of traffic.</summary>
public sealed record ExperimentVariation(string Key, string Name, double Weight);

/// <summary>The metrics an experiment is judged on, by metric key.</summary>
public sealed record ExperimentMetrics(IReadOnlyList<string>? Primary = null, IReadOnlyList<string>? Secondary = null, IReadOnlyList<string>? Guardrail = null)
{
    /// <summary>Every metric key once, primary before secondary before guardrail (a key listed twice keeps its first place).</summary>
    public IReadOnlyList<string> Keys() => [.. (Primary ?? []).Concat(Secondary ?? []).Concat(Guardrail ?? []).Distinct(StringComparer.Ordinal)];
}

/// <summary>A mutual-exclusion namespace and the slice [start, end) of it an experiment takes.</summary>
public sealed record ExperimentNamespaceRange(string Name, double Start, double End);

/// <summary>
/// A stretch of time with unchanged traffic settings. A new phase starts when a running experiment's weights,
/// coverage, targeting or namespace change; analysis compares users within a phase.
/// </summary>
public sealed record ExperimentPhase(
    DateTimeOffset StartedAt, DateTimeOffset? EndedAt, double Coverage, IReadOnlyList<double> Weights, JsonElement? Condition,
    ExperimentNamespaceRange? Namespace, string? Reason);

/// <summary>An experiment as the API shows it.</summary>
public sealed record ExperimentDto(
    Guid Id, string Key, string Name, string? Hypothesis, string HashAttribute, string? FallbackAttribute, int HashVersion, string Seed,
    IReadOnlyList<ExperimentVariation> Variations, double Coverage, JsonElement? Condition, IReadOnlyList<string> SavedGroups,
    ExperimentNamespaceRange? Namespace, string? Holdout, ExperimentMetrics Metrics, ExperimentStatus Status, string? Winner,
    IReadOnlyList<ExperimentPhase> Phases, int Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>A variation in a create or update request; the weight defaults to an equal split.</summary>
public sealed record ExperimentVariationRequest(string? Key, string? Name, double? Weight);

/// <summary>Body of POST /api/v1/experiments. A new experiment is a draft.</summary>
public sealed record CreateExperimentRequest(
    string? Key, string? Name, string? Hypothesis, string? HashAttribute, string? FallbackAttribute, int? HashVersion, string? Seed,
    IReadOnlyList<ExperimentVariationRequest>? Variations, double? Coverage, JsonElement? Condition, IReadOnlyList<string>? SavedGroups,
    ExperimentNamespaceRange? Namespace, string? Holdout, ExperimentMetrics? Metrics);

/// <summary>
/// Body of PATCH /api/v1/experiments/{key}: only the fields present change. Once started, the hash attribute,
/// seed, hash version and the variation keys are fixed; traffic changes (weights, coverage, targeting,
/// namespace) start a new phase, with <see cref="Reason"/> recorded on it.
/// </summary>
public sealed record UpdateExperimentRequest(
    string? Name, string? Hypothesis, string? HashAttribute, string? FallbackAttribute, int? HashVersion, string? Seed,
    IReadOnlyList<ExperimentVariationRequest>? Variations, double? Coverage, JsonElement? Condition, IReadOnlyList<string>? SavedGroups,
    ExperimentNamespaceRange? Namespace, string? Holdout, ExperimentMetrics? Metrics, string? Reason);

/// <summary>Body of POST /api/v1/experiments/{key}/stop: the winning variation's key to roll out, or none.</summary>
public sealed record StopExperimentRequest(string? Winner, string? Reason);

/// <summary>How many users are assigned to each variation.</summary>
public sealed record ExperimentAssignmentCounts(string Experiment, IReadOnlyList<VariationCount> Variations, long Total);

/// <summary>Assigned users of one variation.</summary>
public sealed record VariationCount(string Key, int Index, long Users);

/// <summary>A holdout as the API shows it.</summary>
public sealed record HoldoutDto(Guid Id, string Key, string Name, double Percentage, string HashAttribute, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>Body of POST and PATCH /api/v1/holdouts.</summary>
public sealed record HoldoutRequest(string? Key, string? Name, double? Percentage, string? HashAttribute);
