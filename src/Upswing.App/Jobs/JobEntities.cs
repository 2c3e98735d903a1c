using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Upswing.Jobs;

/// <summary>
/// One durable job. The hot paths (enqueue, claim, heartbeat, completion, rescue) use hand-written SQL in
/// <see cref="JobStore"/>; EF maps the table for migrations and the admin queries.
/// </summary>
internal sealed class Job
{
    public long Id { get; set; }
    public Guid? WorkspaceId { get; set; }
    public required string Kind { get; set; }
    public required string Queue { get; set; }
    public required string Args { get; set; }
    public int Priority { get; set; }
    public required string State { get; set; }
    public int Attempt { get; set; }
    public int MaxAttempts { get; set; }
    public DateTimeOffset RunAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? AttemptedAt { get; set; }
    public DateTimeOffset? FinalizedAt { get; set; }
    public string? LeaseOwner { get; set; }
    public DateTimeOffset? LeaseExpiresAt { get; set; }
    public DateTimeOffset? HeartbeatAt { get; set; }
    public DateTimeOffset? CancelRequestedAt { get; set; }
    public string? Errors { get; set; }
    public string? UniqueKey { get; set; }
    public string? UniqueScope { get; set; }
    public string? UniqueLock { get; set; }
}

internal sealed class JobConfiguration : IEntityTypeConfiguration<Job>
{
    public void Configure(EntityTypeBuilder<Job> builder)
    {
        builder.ToTable("jobs");
        builder.HasKey(j => j.Id);
        builder.Property(j => j.Id).HasColumnName("id").ValueGeneratedOnAdd();
        builder.Property(j => j.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(j => j.Kind).HasColumnName("kind").HasMaxLength(128);
        builder.Property(j => j.Queue).HasColumnName("queue").HasMaxLength(64);
        builder.Property(j => j.Args).HasColumnName("args");
        builder.Property(j => j.Priority).HasColumnName("priority");
        builder.Property(j => j.State).HasColumnName("state").HasMaxLength(16);
        builder.Property(j => j.Attempt).HasColumnName("attempt");
        builder.Property(j => j.MaxAttempts).HasColumnName("max_attempts");
        builder.Property(j => j.RunAt).HasColumnName("run_at");
        builder.Property(j => j.CreatedAt).HasColumnName("created_at");
        builder.Property(j => j.AttemptedAt).HasColumnName("attempted_at");
        builder.Property(j => j.FinalizedAt).HasColumnName("finalized_at");
        builder.Property(j => j.LeaseOwner).HasColumnName("lease_owner").HasMaxLength(128);
        builder.Property(j => j.LeaseExpiresAt).HasColumnName("lease_expires_at");
        builder.Property(j => j.HeartbeatAt).HasColumnName("heartbeat_at");
        builder.Property(j => j.CancelRequestedAt).HasColumnName("cancel_requested_at");
        builder.Property(j => j.Errors).HasColumnName("errors");
        builder.Property(j => j.UniqueKey).HasColumnName("unique_key").HasMaxLength(600);
        builder.Property(j => j.UniqueScope).HasColumnName("unique_scope").HasMaxLength(16);
        builder.Property(j => j.UniqueLock).HasColumnName("unique_lock").HasMaxLength(600);

        // The claim reads only queued rows of one queue in run order; a partial index keeps it small however many
        // finished jobs the table holds, so claiming does not slow down as history grows.
        builder.HasIndex(j => new { j.Queue, j.Priority, j.RunAt, j.Id })
            .HasDatabaseName("ix_jobs_claim").HasFilter("state IN ('available', 'retryable')");
        // The rescuer looks for running jobs whose lease has expired.
        builder.HasIndex(j => j.LeaseExpiresAt).HasDatabaseName("ix_jobs_lease").HasFilter("state = 'running'");
        // Pruning deletes finished jobs by age.
        builder.HasIndex(j => j.FinalizedAt).HasDatabaseName("ix_jobs_finalized").HasFilter("state IN ('succeeded', 'discarded', 'cancelled')");
        // The unique key is enforced here, not by check-then-insert: unique_lock holds the key only while the job's
        // state is inside its scope, and NULLs never collide.
        builder.HasIndex(j => j.UniqueLock).IsUnique().HasDatabaseName("ux_jobs_unique_lock");
        // A workspace's jobs, newest first (the admin API and dashboard).
        builder.HasIndex(j => new { j.WorkspaceId, j.Id }).HasDatabaseName("ix_jobs_workspace");
    }
}
