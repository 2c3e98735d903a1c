using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Upswing.Events;

namespace Upswing.Analytics;

/// <summary>
/// A metric definition of a workspace: what is measured per unit, from which event, and how the result is read.
/// Experiments name metrics by key, so the key never changes. Fields the type does not use are null.
/// </summary>
internal sealed class MetricDefinition
{
    public Guid Id { get; set; }
    public Guid WorkspaceId { get; set; }
    public required string Key { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public MetricType Type { get; set; }
    /// <summary>The event name; null for ratio metrics.</summary>
    public string? Event { get; set; }
    /// <summary>The numeric event property summed or averaged (sum and mean metrics).</summary>
    public string? ValueProperty { get; set; }
    /// <summary>JSON array of <see cref="MetricFilter"/>.</summary>
    public string Filters { get; set; } = "[]";
    public int? ConversionWindowHours { get; set; }
    public int? RetentionDay { get; set; }
    /// <summary>Key of the numerator metric (ratio metrics).</summary>
    public string? Numerator { get; set; }
    /// <summary>Key of the denominator metric (ratio metrics).</summary>
    public string? Denominator { get; set; }
    public MetricDirection Direction { get; set; }
    public bool Guardrail { get; set; }
    public MetricCappingType? CappingType { get; set; }
    public double? CappingValue { get; set; }
    /// <summary>Days before first exposure used as CUPED's covariate; null when CUPED is off.</summary>
    public int? CupedPreDays { get; set; }
    public int Version { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// One day's increment of a metric's sufficient statistics in one variation of one experiment: the units first counted
/// that day (UTC) and their per-unit values. Summing the rows of days ≤ D gives the statistics of everyone counted by D.
/// Written and read through hand-written SQL (<see cref="ExperimentMetricRollups"/>); the entity exists for the migration.
/// </summary>
internal sealed class ExperimentMetricRollup
{
    public Guid WorkspaceId { get; set; }
    public required string ExperimentKey { get; set; }
    public required string MetricKey { get; set; }
    /// <summary>The variation's index; 0 is control.</summary>
    public int Variation { get; set; }
    public DateOnly Day { get; set; }
    public long Units { get; set; }
    public double Sum { get; set; }
    public double SumSquares { get; set; }
    public double? DenominatorSum { get; set; }
    public double? DenominatorSumSquares { get; set; }
    public double? SumProducts { get; set; }
    public double? PreSum { get; set; }
    public double? PreSumSquares { get; set; }
    public double? SumProductsPre { get; set; }
    public DateTimeOffset ComputedAt { get; set; }
}

internal sealed class MetricDefinitionConfiguration : IEntityTypeConfiguration<MetricDefinition>
{
    public void Configure(EntityTypeBuilder<MetricDefinition> builder)
    {
        builder.ToTable("metric_definitions");
        builder.HasKey(m => m.Id);
        builder.Property(m => m.Id).HasColumnName("id");
        builder.Property(m => m.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(m => m.Key).HasColumnName("key").HasMaxLength(100);
        builder.Property(m => m.Name).HasColumnName("name").HasMaxLength(200);
        builder.Property(m => m.Description).HasColumnName("description").HasMaxLength(MetricService.MaxDescriptionLength);
        builder.Property(m => m.Type).HasColumnName("type").HasConversion<string>().HasMaxLength(16);
        builder.Property(m => m.Event).HasColumnName("event").HasMaxLength(EventLimits.MaxNameLength);
        builder.Property(m => m.ValueProperty).HasColumnName("value_property").HasMaxLength(MetricService.MaxPropertyLength);
        builder.Property(m => m.Filters).HasColumnName("filters");
        builder.Property(m => m.ConversionWindowHours).HasColumnName("conversion_window_hours");
        builder.Property(m => m.RetentionDay).HasColumnName("retention_day");
        builder.Property(m => m.Numerator).HasColumnName("numerator").HasMaxLength(100);
        builder.Property(m => m.Denominator).HasColumnName("denominator").HasMaxLength(100);
        builder.Property(m => m.Direction).HasColumnName("direction").HasConversion<string>().HasMaxLength(16);
        builder.Property(m => m.Guardrail).HasColumnName("guardrail");
        builder.Property(m => m.CappingType).HasColumnName("capping_type").HasConversion<string>().HasMaxLength(16);
        builder.Property(m => m.CappingValue).HasColumnName("capping_value");
        builder.Property(m => m.CupedPreDays).HasColumnName("cuped_pre_days");
        builder.Property(m => m.Version).HasColumnName("version");
        builder.Property(m => m.CreatedAt).HasColumnName("created_at");
        builder.Property(m => m.UpdatedAt).HasColumnName("updated_at");
        // Experiments and ratio metrics refer to metrics by key: unique within a workspace.
        builder.HasIndex(m => new { m.WorkspaceId, m.Key }).IsUnique();
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(m => m.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ExperimentMetricRollupConfiguration : IEntityTypeConfiguration<ExperimentMetricRollup>
{
    public void Configure(EntityTypeBuilder<ExperimentMetricRollup> builder)
    {
        builder.ToTable("experiment_metric_rollups");
        // The key is also the only index: the results endpoint reads one experiment's rows in key order (metric,
        // variation, day), a re-run deletes a day range of one experiment, and an upsert conflicts on the whole key.
        // Experiments are named by key, not id, like everywhere else metrics and experiments meet (SDK tracking ids).
        builder.HasKey(r => new { r.WorkspaceId, r.ExperimentKey, r.MetricKey, r.Variation, r.Day });
        builder.Property(r => r.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(r => r.ExperimentKey).HasColumnName("experiment_key").HasMaxLength(100);
        builder.Property(r => r.MetricKey).HasColumnName("metric_key").HasMaxLength(100);
        builder.Property(r => r.Variation).HasColumnName("variation");
        builder.Property(r => r.Day).HasColumnName("day");
        builder.Property(r => r.Units).HasColumnName("units");
        builder.Property(r => r.Sum).HasColumnName("sum");
        builder.Property(r => r.SumSquares).HasColumnName("sum_squares");
        builder.Property(r => r.DenominatorSum).HasColumnName("denominator_sum");
        builder.Property(r => r.DenominatorSumSquares).HasColumnName("denominator_sum_squares");
        builder.Property(r => r.SumProducts).HasColumnName("sum_products");
        builder.Property(r => r.PreSum).HasColumnName("pre_sum");
        builder.Property(r => r.PreSumSquares).HasColumnName("pre_sum_squares");
        builder.Property(r => r.SumProductsPre).HasColumnName("sum_products_pre");
        builder.Property(r => r.ComputedAt).HasColumnName("computed_at");
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(r => r.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}
