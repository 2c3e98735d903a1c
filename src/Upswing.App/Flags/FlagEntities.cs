using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Upswing.Flags;

/// <summary>A feature flag: a typed value with a default and, per environment, an on/off switch and ordered rules.</summary>
internal sealed class Feature
{
    public Guid Id { get; set; }
    public Guid WorkspaceId { get; set; }
    public required string Key { get; set; }
    public FeatureValueType ValueType { get; set; }
    /// <summary>JSON text of the default value, of <see cref="ValueType"/>.</summary>
    public required string DefaultValue { get; set; }
    public string? Description { get; set; }
    /// <summary>JSON array of tag strings.</summary>
    public string Tags { get; set; } = "[]";
    public bool Archived { get; set; }
    /// <summary>Grows by one on every change; SDK payload caches and ETags key on it.</summary>
    public int Version { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public List<FeatureEnvironmentSettings> Environments { get; set; } = [];
}

/// <summary>A feature's settings in one environment: whether it is served, and its rules in order (JSON).</summary>
internal sealed class FeatureEnvironmentSettings
{
    public Guid FeatureId { get; set; }
    public Guid EnvironmentId { get; set; }
    public bool Enabled { get; set; }
    /// <summary>JSON array of <see cref="FeatureRule"/>, validated on write.</summary>
    public string Rules { get; set; } = "[]";
}

/// <summary>A reusable audience: a list of attribute values, or a condition, referenced from rules by key.</summary>
internal sealed class SavedGroup
{
    public Guid Id { get; set; }
    public Guid WorkspaceId { get; set; }
    public required string Key { get; set; }
    public required string Name { get; set; }
    public SavedGroupType Type { get; set; }
    /// <summary>For list groups: the attribute whose value must be in <see cref="Values"/>.</summary>
    public string? AttributeKey { get; set; }
    /// <summary>For list groups: JSON array of values.</summary>
    public string Values { get; set; } = "[]";
    /// <summary>For condition groups: the condition (JSON object).</summary>
    public string? Condition { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

internal sealed class FeatureConfiguration : IEntityTypeConfiguration<Feature>
{
    public void Configure(EntityTypeBuilder<Feature> builder)
    {
        builder.ToTable("features");
        builder.HasKey(f => f.Id);
        builder.Property(f => f.Id).HasColumnName("id");
        builder.Property(f => f.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(f => f.Key).HasColumnName("key").HasMaxLength(100);
        builder.Property(f => f.ValueType).HasColumnName("value_type").HasConversion<string>().HasMaxLength(16);
        builder.Property(f => f.DefaultValue).HasColumnName("default_value");
        builder.Property(f => f.Description).HasColumnName("description").HasMaxLength(2000);
        builder.Property(f => f.Tags).HasColumnName("tags");
        builder.Property(f => f.Archived).HasColumnName("archived");
        builder.Property(f => f.Version).HasColumnName("version");
        builder.Property(f => f.CreatedAt).HasColumnName("created_at");
        builder.Property(f => f.UpdatedAt).HasColumnName("updated_at");
        // Feature keys are what SDKs ask for; unique within a workspace.
        builder.HasIndex(f => new { f.WorkspaceId, f.Key }).IsUnique();
        builder.HasMany(f => f.Environments).WithOne().HasForeignKey(e => e.FeatureId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(f => f.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class FeatureEnvironmentSettingsConfiguration : IEntityTypeConfiguration<FeatureEnvironmentSettings>
{
    public void Configure(EntityTypeBuilder<FeatureEnvironmentSettings> builder)
    {
        builder.ToTable("feature_environments");
        builder.HasKey(e => new { e.FeatureId, e.EnvironmentId });
        builder.Property(e => e.FeatureId).HasColumnName("feature_id");
        builder.Property(e => e.EnvironmentId).HasColumnName("environment_id");
        builder.Property(e => e.Enabled).HasColumnName("enabled");
        builder.Property(e => e.Rules).HasColumnName("rules");
        builder.HasOne<Workspaces.WorkspaceEnvironment>().WithMany().HasForeignKey(e => e.EnvironmentId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class SavedGroupConfiguration : IEntityTypeConfiguration<SavedGroup>
{
    public void Configure(EntityTypeBuilder<SavedGroup> builder)
    {
        builder.ToTable("saved_groups");
        builder.HasKey(g => g.Id);
        builder.Property(g => g.Id).HasColumnName("id");
        builder.Property(g => g.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(g => g.Key).HasColumnName("key").HasMaxLength(100);
        builder.Property(g => g.Name).HasColumnName("name").HasMaxLength(200);
        builder.Property(g => g.Type).HasColumnName("type").HasConversion<string>().HasMaxLength(16);
        builder.Property(g => g.AttributeKey).HasColumnName("attribute_key").HasMaxLength(200);
        builder.Property(g => g.Values).HasColumnName("values");
        builder.Property(g => g.Condition).HasColumnName("condition");
        builder.Property(g => g.CreatedAt).HasColumnName("created_at");
        builder.Property(g => g.UpdatedAt).HasColumnName("updated_at");
        // Rules reference groups by key ($inGroup), so keys are unique within a workspace.
        builder.HasIndex(g => new { g.WorkspaceId, g.Key }).IsUnique();
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(g => g.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}
