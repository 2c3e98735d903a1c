using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Upswing.Analytics;

/// <summary>One step of a funnel: an event name and the filters its events must match (the same filters metrics take).</summary>
public sealed record FunnelStep(string Event, IReadOnlyList<MetricFilter> Filters);

/// <summary>A funnel definition as the API shows it.</summary>
public sealed record FunnelDto(
    Guid Id, string Key, string Name, string? Description, IReadOnlyList<FunnelStep> Steps, int ConversionWindowHours, string? BreakdownProperty,
    int Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>A step in a create or update request.</summary>
public sealed record FunnelStepRequest(string? Event, IReadOnlyList<MetricFilterRequest?>? Filters);

/// <summary>
/// Body of POST and PATCH /api/v1/funnels. On PATCH only the fields present change and the key stays; <c>steps</c>
/// replaces all steps; an empty <c>description</c> or <c>breakdownProperty</c> clears it.
/// </summary>
public sealed record FunnelRequest(
    string? Key, string? Name, string? Description, IReadOnlyList<FunnelStepRequest?>? Steps, int? ConversionWindowHours, string? BreakdownProperty);

/// <summary>A funnel definition of a workspace: ordered steps, a conversion window and an optional breakdown property of the first step's event.</summary>
internal sealed class FunnelDefinition
{
    public Guid Id { get; set; }
    public Guid WorkspaceId { get; set; }
    public required string Key { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    /// <summary>JSON array of <see cref="FunnelStep"/>.</summary>
    public string Steps { get; set; } = "[]";
    public int ConversionWindowHours { get; set; }
    public string? BreakdownProperty { get; set; }
    /// <summary>1, and +1 per change; <c>funnel_rollups</c> rows remember the version they were computed with.</summary>
    public int Version { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// Persons of one funnel, UTC entry day and breakdown value who reached one step, and the sum of their seconds from
/// entry to that step. Written and read through hand-written SQL (<see cref="FunnelRollups"/>); the entity exists for the migration.
/// </summary>
internal sealed class FunnelRollup
{
    public Guid WorkspaceId { get; set; }
    public required string FunnelKey { get; set; }
    public DateOnly Day { get; set; }
    /// <summary>The environment of the persons' events' keys; <see cref="RollupEnvironment.None"/> for keys bound to none.</summary>
    public Guid EnvironmentId { get; set; }
    public required string Breakdown { get; set; }
    public int Step { get; set; }
    public long Persons { get; set; }
    public double SecondsToStepSum { get; set; }
    public int FunnelVersion { get; set; }
    public DateTimeOffset ComputedAt { get; set; }
}

internal sealed class FunnelDefinitionConfiguration : IEntityTypeConfiguration<FunnelDefinition>
{
    public void Configure(EntityTypeBuilder<FunnelDefinition> builder)
    {
        builder.ToTable("funnels");
        builder.HasKey(f => f.Id);
        builder.Property(f => f.Id).HasColumnName("id");
        builder.Property(f => f.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(f => f.Key).HasColumnName("key").HasMaxLength(100);
        builder.Property(f => f.Name).HasColumnName("name").HasMaxLength(MetricService.MaxNameLength);
        builder.Property(f => f.Description).HasColumnName("description").HasMaxLength(MetricService.MaxDescriptionLength);
        builder.Property(f => f.Steps).HasColumnName("steps");
        builder.Property(f => f.ConversionWindowHours).HasColumnName("conversion_window_hours");
        builder.Property(f => f.BreakdownProperty).HasColumnName("breakdown_property").HasMaxLength(FunnelService.MaxBreakdownPropertyLength);
        builder.Property(f => f.Version).HasColumnName("version");
        builder.Property(f => f.CreatedAt).HasColumnName("created_at");
        builder.Property(f => f.UpdatedAt).HasColumnName("updated_at");
        builder.HasIndex(f => new { f.WorkspaceId, f.Key }).IsUnique();
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(f => f.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class FunnelRollupConfiguration : IEntityTypeConfiguration<FunnelRollup>
{
    public void Configure(EntityTypeBuilder<FunnelRollup> builder)
    {
        builder.ToTable("funnel_rollups");
        // The key is the only index: reads are one funnel's day range, a re-run replaces one funnel's day range.
        builder.HasKey(r => new { r.WorkspaceId, r.FunnelKey, r.Day, r.EnvironmentId, r.Breakdown, r.Step });
        builder.Property(r => r.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(r => r.FunnelKey).HasColumnName("funnel_key").HasMaxLength(100);
        builder.Property(r => r.Day).HasColumnName("day");
        builder.Property(r => r.EnvironmentId).HasColumnName("environment_id");
        builder.Property(r => r.Breakdown).HasColumnName("breakdown").HasMaxLength(FunnelMatcher.MaxBreakdownLength);
        builder.Property(r => r.Step).HasColumnName("step");
        builder.Property(r => r.Persons).HasColumnName("persons");
        builder.Property(r => r.SecondsToStepSum).HasColumnName("seconds_to_step_sum");
        builder.Property(r => r.FunnelVersion).HasColumnName("funnel_version");
        builder.Property(r => r.ComputedAt).HasColumnName("computed_at");
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(r => r.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}
