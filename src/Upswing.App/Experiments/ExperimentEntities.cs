using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Upswing.Experiments;

/// <summary>
/// An experiment: variations with weights over a hashed attribute, a targeting condition, an optional namespace
/// range and holdout, the metrics it is judged on, and its lifecycle. Feature rules link to it by key.
/// </summary>
internal sealed class Experiment
{
    public Guid Id { get; set; }
    public Guid WorkspaceId { get; set; }
    public required string Key { get; set; }
    public required string Name { get; set; }
    public string? Hypothesis { get; set; }
    public required string HashAttribute { get; set; }
    public string? FallbackAttribute { get; set; }
    public int HashVersion { get; set; }
    /// <summary>Hash seed; the key unless set. Never changes while users are assigned.</summary>
    public required string Seed { get; set; }
    /// <summary>JSON array of <see cref="ExperimentVariation"/>.</summary>
    public required string Variations { get; set; }
    public double Coverage { get; set; }
    /// <summary>Targeting condition (JSON object), or null for everyone.</summary>
    public string? Condition { get; set; }
    /// <summary>JSON array of saved-group keys the user must be in.</summary>
    public string SavedGroups { get; set; } = "[]";
    public string? Namespace { get; set; }
    public double NamespaceStart { get; set; }
    public double NamespaceEnd { get; set; }
    public Guid? HoldoutId { get; set; }
    /// <summary>JSON <see cref="ExperimentMetrics"/>.</summary>
    public string Metrics { get; set; } = "{}";
    public ExperimentStatus Status { get; set; }
    /// <summary>Set when stopped with a winner: the index of the variation rolled out to everyone.</summary>
    public int? WinnerIndex { get; set; }
    /// <summary>JSON array of <see cref="ExperimentPhase"/>: one per stretch of unchanged traffic settings.</summary>
    public string Phases { get; set; } = "[]";
    public int Version { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A share of users kept out of every experiment that names it, to measure their combined effect.</summary>
internal sealed class Holdout
{
    public Guid Id { get; set; }
    public Guid WorkspaceId { get; set; }
    public required string Key { get; set; }
    public required string Name { get; set; }
    /// <summary>Share of users held out, 0–0.5.</summary>
    public double Percentage { get; set; }
    public required string HashAttribute { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// A user's assignment to an experiment, stored once and never changed: later weight or coverage changes do not
/// move the user. Also the user's first exposure, with its time and where it came from.
/// </summary>
internal sealed class ExperimentAssignment
{
    public Guid WorkspaceId { get; set; }
    public Guid ExperimentId { get; set; }
    /// <summary>The hash attribute's value (user id, anonymous id, …).</summary>
    public required string UnitId { get; set; }
    public int VariationIndex { get; set; }
    public required string VariationKey { get; set; }
    /// <summary>The user's bucket (0–1) when assigned.</summary>
    public double Bucket { get; set; }
    public int Phase { get; set; }
    public required string Source { get; set; }
    public DateTimeOffset FirstExposedAt { get; set; }
}

internal sealed class ExperimentConfiguration : IEntityTypeConfiguration<Experiment>
{
    public void Configure(EntityTypeBuilder<Experiment> builder)
    {
        builder.ToTable("experiments");
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Id).HasColumnName("id");
        builder.Property(e => e.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(e => e.Key).HasColumnName("key").HasMaxLength(100);
        builder.Property(e => e.Name).HasColumnName("name").HasMaxLength(200);
        builder.Property(e => e.Hypothesis).HasColumnName("hypothesis").HasMaxLength(4000);
        builder.Property(e => e.HashAttribute).HasColumnName("hash_attribute").HasMaxLength(100);
        builder.Property(e => e.FallbackAttribute).HasColumnName("fallback_attribute").HasMaxLength(100);
        builder.Property(e => e.HashVersion).HasColumnName("hash_version");
        builder.Property(e => e.Seed).HasColumnName("seed").HasMaxLength(200);
        builder.Property(e => e.Variations).HasColumnName("variations");
        builder.Property(e => e.Coverage).HasColumnName("coverage");
        builder.Property(e => e.Condition).HasColumnName("condition");
        builder.Property(e => e.SavedGroups).HasColumnName("saved_groups");
        builder.Property(e => e.Namespace).HasColumnName("namespace").HasMaxLength(100);
        builder.Property(e => e.NamespaceStart).HasColumnName("namespace_start");
        builder.Property(e => e.NamespaceEnd).HasColumnName("namespace_end");
        builder.Property(e => e.HoldoutId).HasColumnName("holdout_id");
        builder.Property(e => e.Metrics).HasColumnName("metrics");
        builder.Property(e => e.Status).HasColumnName("status").HasConversion<string>().HasMaxLength(16);
        builder.Property(e => e.WinnerIndex).HasColumnName("winner_index");
        builder.Property(e => e.Phases).HasColumnName("phases");
        builder.Property(e => e.Version).HasColumnName("version");
        builder.Property(e => e.CreatedAt).HasColumnName("created_at");
        builder.Property(e => e.UpdatedAt).HasColumnName("updated_at");
        // Experiment keys are the tracking ids SDKs report and rules link to; unique within a workspace.
        builder.HasIndex(e => new { e.WorkspaceId, e.Key }).IsUnique();
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(e => e.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<Holdout>().WithMany().HasForeignKey(e => e.HoldoutId).OnDelete(DeleteBehavior.Restrict);
    }
}

internal sealed class HoldoutConfiguration : IEntityTypeConfiguration<Holdout>
{
    public void Configure(EntityTypeBuilder<Holdout> builder)
    {
        builder.ToTable("holdouts");
        builder.HasKey(h => h.Id);
        builder.Property(h => h.Id).HasColumnName("id");
        builder.Property(h => h.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(h => h.Key).HasColumnName("key").HasMaxLength(100);
        builder.Property(h => h.Name).HasColumnName("name").HasMaxLength(200);
        builder.Property(h => h.Percentage).HasColumnName("percentage");
        builder.Property(h => h.HashAttribute).HasColumnName("hash_attribute").HasMaxLength(100);
        builder.Property(h => h.CreatedAt).HasColumnName("created_at");
        builder.Property(h => h.UpdatedAt).HasColumnName("updated_at");
        builder.HasIndex(h => new { h.WorkspaceId, h.Key }).IsUnique();
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(h => h.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ExperimentAssignmentConfiguration : IEntityTypeConfiguration<ExperimentAssignment>
{
    public void Configure(EntityTypeBuilder<ExperimentAssignment> builder)
    {
        builder.ToTable("experiment_assignments");
        // One row per unit per experiment: the primary key is what makes an assignment sticky under races.
        builder.HasKey(a => new { a.ExperimentId, a.UnitId });
        builder.Property(a => a.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(a => a.ExperimentId).HasColumnName("experiment_id");
        builder.Property(a => a.UnitId).HasColumnName("unit_id").HasMaxLength(200);
        builder.Property(a => a.VariationIndex).HasColumnName("variation_index");
        builder.Property(a => a.VariationKey).HasColumnName("variation_key").HasMaxLength(100);
        builder.Property(a => a.Bucket).HasColumnName("bucket");
        builder.Property(a => a.Phase).HasColumnName("phase");
        builder.Property(a => a.Source).HasColumnName("source").HasMaxLength(16);
        builder.Property(a => a.FirstExposedAt).HasColumnName("first_exposed_at");
        builder.HasIndex(a => new { a.WorkspaceId, a.UnitId });
        builder.HasOne<Experiment>().WithMany().HasForeignKey(a => a.ExperimentId).OnDelete(DeleteBehavior.Cascade);
    }
}
