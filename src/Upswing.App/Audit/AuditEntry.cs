using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Upswing.Audit;

/// <summary>One management write: who did what to which resource, with the state before and after.</summary>
internal sealed class AuditEntry
{
    public Guid Id { get; set; }
    public Guid WorkspaceId { get; set; }
    public DateTimeOffset At { get; set; }
    public required string ActorType { get; set; }
    public required string ActorId { get; set; }
    public required string ActorName { get; set; }
    public required string Action { get; set; }
    public required string ResourceType { get; set; }
    public required string ResourceId { get; set; }
    public string? Before { get; set; }
    public string? After { get; set; }
    public string? RequestId { get; set; }
}

internal sealed class AuditEntryConfiguration : IEntityTypeConfiguration<AuditEntry>
{
    public void Configure(EntityTypeBuilder<AuditEntry> builder)
    {
        builder.ToTable("audit_log");
        builder.HasKey(a => a.Id);
        builder.Property(a => a.Id).HasColumnName("id");
        builder.Property(a => a.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(a => a.At).HasColumnName("at");
        builder.Property(a => a.ActorType).HasColumnName("actor_type").HasMaxLength(16);
        builder.Property(a => a.ActorId).HasColumnName("actor_id").HasMaxLength(64);
        builder.Property(a => a.ActorName).HasColumnName("actor_name").HasMaxLength(320);
        builder.Property(a => a.Action).HasColumnName("action").HasMaxLength(64);
        builder.Property(a => a.ResourceType).HasColumnName("resource_type").HasMaxLength(64);
        builder.Property(a => a.ResourceId).HasColumnName("resource_id").HasMaxLength(64);
        builder.Property(a => a.Before).HasColumnName("before");
        builder.Property(a => a.After).HasColumnName("after");
        builder.Property(a => a.RequestId).HasColumnName("request_id").HasMaxLength(64);
        // The audit page reads a workspace's newest entries first. Entries are never updated:
        // ids are version-7 GUIDs, so (workspace_id, at) is the only index needed.
        builder.HasIndex(a => new { a.WorkspaceId, a.At });
    }
}
