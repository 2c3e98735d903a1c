using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Upswing.Events;

namespace Upswing.Analytics;

/// <summary>One run of one rollup job for one workspace: the window it recomputed, what it wrote, how it ended.</summary>
internal sealed class RollupRun
{
    public Guid Id { get; set; }
    public Guid WorkspaceId { get; set; }
    /// <summary>The rollup's name (daily, experiments, …).</summary>
    public required string Job { get; set; }
    public DateOnly WindowFrom { get; set; }
    public DateOnly WindowTo { get; set; }
    public long RowsWritten { get; set; }
    public long DurationMs { get; set; }
    /// <summary>succeeded or failed.</summary>
    public required string Outcome { get; set; }
    public string? Error { get; set; }
    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset FinishedAt { get; set; }
}

/// <summary>
/// How far one rollup job has seen a workspace's events: the start of its last successful run that covered the default
/// window. The next run recomputes from that day minus the re-run window.
/// </summary>
internal sealed class RollupWatermark
{
    public Guid WorkspaceId { get; set; }
    public required string Job { get; set; }
    public DateTimeOffset Watermark { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>Track events and distinct persons of one workspace, UTC day, environment bucket and event name. Written by hand-written SQL (<see cref="DailyMetricRollups"/>).</summary>
internal sealed class DailyMetricRollup
{
    public Guid WorkspaceId { get; set; }
    public DateOnly Day { get; set; }
    /// <summary>The environment of the events' keys; <see cref="RollupEnvironment.None"/> for keys bound to none.</summary>
    public Guid EnvironmentId { get; set; }
    public required string Event { get; set; }
    public long Events { get; set; }
    public long Users { get; set; }
    public DateTimeOffset ComputedAt { get; set; }
}

internal sealed class RollupRunConfiguration : IEntityTypeConfiguration<RollupRun>
{
    public void Configure(EntityTypeBuilder<RollupRun> builder)
    {
        builder.ToTable("rollup_runs");
        builder.HasKey(r => r.Id);
        builder.Property(r => r.Id).HasColumnName("id");
        builder.Property(r => r.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(r => r.Job).HasColumnName("job").HasMaxLength(32);
        builder.Property(r => r.WindowFrom).HasColumnName("window_from");
        builder.Property(r => r.WindowTo).HasColumnName("window_to");
        builder.Property(r => r.RowsWritten).HasColumnName("rows_written");
        builder.Property(r => r.DurationMs).HasColumnName("duration_ms");
        builder.Property(r => r.Outcome).HasColumnName("outcome").HasMaxLength(16);
        builder.Property(r => r.Error).HasColumnName("error").HasMaxLength(RollupRunner.MaxErrorLength);
        builder.Property(r => r.StartedAt).HasColumnName("started_at");
        builder.Property(r => r.FinishedAt).HasColumnName("finished_at");
        // A workspace's runs of one job, newest first (the CLI and the dashboard list them that way).
        builder.HasIndex(r => new { r.WorkspaceId, r.Job, r.StartedAt });
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(r => r.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class RollupWatermarkConfiguration : IEntityTypeConfiguration<RollupWatermark>
{
    public void Configure(EntityTypeBuilder<RollupWatermark> builder)
    {
        builder.ToTable("rollup_watermarks");
        builder.HasKey(w => new { w.WorkspaceId, w.Job });
        builder.Property(w => w.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(w => w.Job).HasColumnName("job").HasMaxLength(32);
        builder.Property(w => w.Watermark).HasColumnName("watermark");
        builder.Property(w => w.UpdatedAt).HasColumnName("updated_at");
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(w => w.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class DailyMetricRollupConfiguration : IEntityTypeConfiguration<DailyMetricRollup>
{
    public void Configure(EntityTypeBuilder<DailyMetricRollup> builder)
    {
        builder.ToTable("daily_metric_rollups");
        // The key is the only index: reads are a workspace's day range, and a re-run replaces a day range.
        builder.HasKey(r => new { r.WorkspaceId, r.Day, r.EnvironmentId, r.Event });
        builder.Property(r => r.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(r => r.Day).HasColumnName("day");
        builder.Property(r => r.EnvironmentId).HasColumnName("environment_id");
        builder.Property(r => r.Event).HasColumnName("event").HasMaxLength(EventLimits.MaxNameLength);
        builder.Property(r => r.Events).HasColumnName("events");
        builder.Property(r => r.Users).HasColumnName("users");
        builder.Property(r => r.ComputedAt).HasColumnName("computed_at");
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(r => r.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

/// <summary>Web-vitals samples and percentiles of one workspace, UTC day, metric, page path and device class. Written by hand-written SQL (<see cref="VitalsRollups"/>).</summary>
internal sealed class VitalsRollup
{
    public Guid WorkspaceId { get; set; }
    public DateOnly Day { get; set; }
    /// <summary>The environment of the measurements' keys; <see cref="RollupEnvironment.None"/> for keys bound to none.</summary>
    public Guid EnvironmentId { get; set; }
    public required string Metric { get; set; }
    public required string Path { get; set; }
    public required string DeviceClass { get; set; }
    public long Samples { get; set; }
    public double P50 { get; set; }
    public double P75 { get; set; }
    public double P90 { get; set; }
    public DateTimeOffset ComputedAt { get; set; }
}

internal sealed class VitalsRollupConfiguration : IEntityTypeConfiguration<VitalsRollup>
{
    public void Configure(EntityTypeBuilder<VitalsRollup> builder)
    {
        builder.ToTable("vitals_rollups");
        // The key is the only index: reads are a workspace's day range (optionally one metric), and a re-run replaces a day range.
        builder.HasKey(r => new { r.WorkspaceId, r.Day, r.EnvironmentId, r.Metric, r.Path, r.DeviceClass });
        builder.Property(r => r.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(r => r.Day).HasColumnName("day");
        builder.Property(r => r.EnvironmentId).HasColumnName("environment_id");
        builder.Property(r => r.Metric).HasColumnName("metric").HasMaxLength(8);
        builder.Property(r => r.Path).HasColumnName("path").HasMaxLength(WebVitalReader.MaxPathLength);
        builder.Property(r => r.DeviceClass).HasColumnName("device_class").HasMaxLength(16);
        builder.Property(r => r.Samples).HasColumnName("samples");
        builder.Property(r => r.P50).HasColumnName("p50");
        builder.Property(r => r.P75).HasColumnName("p75");
        builder.Property(r => r.P90).HasColumnName("p90");
        builder.Property(r => r.ComputedAt).HasColumnName("computed_at");
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(r => r.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

/// <summary>One loop's invites first sent on one UTC day and what became of them in the attribution window. Written by hand-written SQL (<see cref="KFactorRollups"/>).</summary>
internal sealed class KFactorRollup
{
    public Guid WorkspaceId { get; set; }
    public required string Loop { get; set; }
    public DateOnly CohortDay { get; set; }
    /// <summary>The environment of the invite events' keys; <see cref="RollupEnvironment.None"/> for keys bound to none.</summary>
    public Guid EnvironmentId { get; set; }
    public long Inviters { get; set; }
    public long InvitesSent { get; set; }
    public long Opened { get; set; }
    public long Joined { get; set; }
    public long ReachedFirstValue { get; set; }
    public DateTimeOffset ComputedAt { get; set; }
}

internal sealed class KFactorRollupConfiguration : IEntityTypeConfiguration<KFactorRollup>
{
    public void Configure(EntityTypeBuilder<KFactorRollup> builder)
    {
        builder.ToTable("k_factor_rollups");
        // The key is the only index, day before loop: reads are a workspace's cohort-day range (optionally one loop), and a run replaces a day range.
        builder.HasKey(r => new { r.WorkspaceId, r.CohortDay, r.Loop, r.EnvironmentId });
        builder.Property(r => r.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(r => r.Loop).HasColumnName("loop").HasMaxLength(KFactor.MaxLoopLength);
        builder.Property(r => r.CohortDay).HasColumnName("cohort_day");
        builder.Property(r => r.EnvironmentId).HasColumnName("environment_id");
        builder.Property(r => r.Inviters).HasColumnName("inviters");
        builder.Property(r => r.InvitesSent).HasColumnName("invites_sent");
        builder.Property(r => r.Opened).HasColumnName("opened");
        builder.Property(r => r.Joined).HasColumnName("joined");
        builder.Property(r => r.ReachedFirstValue).HasColumnName("reached_first_value");
        builder.Property(r => r.ComputedAt).HasColumnName("computed_at");
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(r => r.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}
