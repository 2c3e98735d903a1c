using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Upswing.Workspaces;

internal sealed class Workspace
{
    public Guid Id { get; set; }
    public required string Slug { get; set; }
    public required string Name { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public List<WorkspaceEnvironment> Environments { get; set; } = [];
}

/// <summary>A deployment stage of a workspace (production, development…); client keys belong to one.</summary>
internal sealed class WorkspaceEnvironment
{
    public Guid Id { get; set; }
    public Guid WorkspaceId { get; set; }
    public required string Key { get; set; }
    public required string Name { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

internal sealed class WorkspaceConfiguration : IEntityTypeConfiguration<Workspace>
{
    public void Configure(EntityTypeBuilder<Workspace> builder)
    {
        builder.ToTable("workspaces");
        builder.HasKey(w => w.Id);
        builder.Property(w => w.Id).HasColumnName("id");
        builder.Property(w => w.Slug).HasColumnName("slug").HasMaxLength(63);
        builder.Property(w => w.Name).HasColumnName("name").HasMaxLength(200);
        builder.Property(w => w.CreatedAt).HasColumnName("created_at");
        builder.Property(w => w.UpdatedAt).HasColumnName("updated_at");
        // Slugs appear in URLs and CLI arguments, so they are unique across the installation.
        builder.HasIndex(w => w.Slug).IsUnique();
        builder.HasMany(w => w.Environments).WithOne().HasForeignKey(e => e.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class WorkspaceEnvironmentConfiguration : IEntityTypeConfiguration<WorkspaceEnvironment>
{
    public void Configure(EntityTypeBuilder<WorkspaceEnvironment> builder)
    {
        builder.ToTable("environments");
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Id).HasColumnName("id");
        builder.Property(e => e.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(e => e.Key).HasColumnName("key").HasMaxLength(63);
        builder.Property(e => e.Name).HasColumnName("name").HasMaxLength(200);
        builder.Property(e => e.CreatedAt).HasColumnName("created_at");
        builder.HasIndex(e => new { e.WorkspaceId, e.Key }).IsUnique();
    }
}
