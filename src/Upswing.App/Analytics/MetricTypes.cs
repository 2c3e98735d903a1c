using System.Text.Json;

namespace Upswing.Analytics;

/// <summary>What a metric measures for each unit (user) of an experiment.</summary>
public enum MetricType
{
    /// <summary>Did the unit do the event within the conversion window after its first exposure (0 or 1).</summary>
    Binomial,

    /// <summary>How many times the unit did the event.</summary>
    Count,

    /// <summary>The total of a numeric event property over the unit's events.</summary>
    Sum,

    /// <summary>The mean of a numeric event property over the unit's events.</summary>
    Mean,

    /// <summary>One metric's total over another's (e.g. revenue per order), both non-ratio metrics of the workspace.</summary>
    Ratio,

    /// <summary>Did the unit do the event on day N after its first exposure (0 or 1).</summary>
    Retention,
}

/// <summary>Which way a metric should move for a change to count as good.</summary>
public enum MetricDirection
{
    Increase,
    Decrease,
}

/// <summary>How a metric's per-unit values are capped (winsorised) so a few extreme units cannot swamp the result.</summary>
public enum MetricCappingType
{
    /// <summary>Values above a fixed number count as that number.</summary>
    Absolute,

    /// <summary>Values above the given quantile (e.g. 0.99) of the experiment's units count as that quantile.</summary>
    Percentile,
}

/// <summary>How a metric filter compares an event property with its value.</summary>
public enum MetricFilterOperator
{
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
    Contains,
}

/// <summary>A condition on an event property: only events that match every filter count towards the metric.</summary>
public sealed record MetricFilter(string Property, MetricFilterOperator Operator, JsonElement Value);

/// <summary>A metric's cap: a fixed value (absolute) or a quantile of the units' values in (0, 1) (percentile).</summary>
public sealed record MetricCapping(MetricCappingType Type, double Value);

/// <summary>A metric definition as the API shows it; fields a type does not use are null.</summary>
public sealed record MetricDto(
    Guid Id, string Key, string Name, string? Description, MetricType Type, string? Event, string? ValueProperty,
    IReadOnlyList<MetricFilter> Filters, int? ConversionWindowHours, int? RetentionDay, string? Numerator, string? Denominator,
    MetricDirection Direction, bool Guardrail, MetricCapping? Capping, int? CupedPreDays, int Version,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    /// <summary>The statistics engine's metric kind for this definition: "proportion", "mean" or "ratio".</summary>
    public string StatisticsKind() => StatisticsKindOf(Type);

    /// <summary>
    /// The statistics engine's metric kind for a metric type: binomial and retention are proportions (0/1 per unit),
    /// count, sum and mean are means of per-unit values, and ratio is a ratio of two per-unit totals.
    /// </summary>
    public static string StatisticsKindOf(MetricType type) => type switch
    {
        MetricType.Binomial or MetricType.Retention => StatisticsMetricKinds.Proportion,
        MetricType.Count or MetricType.Sum or MetricType.Mean => StatisticsMetricKinds.Mean,
        MetricType.Ratio => StatisticsMetricKinds.Ratio,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown metric type."),
    };
}

/// <summary>The metric kinds the statistics engine (<c>Upswing.Statistics</c>) analyses, as its input document spells them.</summary>
public static class StatisticsMetricKinds
{
    public const string Proportion = "proportion";
    public const string Mean = "mean";
    public const string Ratio = "ratio";
}

/// <summary>A filter in a create or update request; <c>in</c> takes an array, the order comparisons a number.</summary>
public sealed record MetricFilterRequest(string? Property, string? Operator, JsonElement? Value);

/// <summary>
/// Body of POST and PATCH /api/v1/metrics. On PATCH only the fields present change and the key stays; fields the
/// (new) type does not use are dropped. <c>capping</c> is <c>"none"</c> or <c>{type: absolute|percentile, value}</c>;
/// <c>cupedPreDays</c> 0 turns CUPED off.
/// </summary>
public sealed record MetricRequest(
    string? Key, string? Name, string? Description, string? Type, string? Event, string? ValueProperty,
    IReadOnlyList<MetricFilterRequest?>? Filters, int? ConversionWindowHours, int? RetentionDay, string? Numerator, string? Denominator,
    string? Direction, bool? Guardrail, JsonElement? Capping, int? CupedPreDays);
