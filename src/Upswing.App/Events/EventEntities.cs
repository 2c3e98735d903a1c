using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Upswing.Events;

/// <summary>
/// One stored event (track, identify, page, screen, group or alias), written by <see cref="EventWriter"/> with
/// hand-written SQL and read through EF. Stored once per message id and workspace.
/// </summary>
/// <remarks>
/// On PostgreSQL the table is partitioned by day of <see cref="Timestamp"/> (created by hand-written SQL in the
/// migration), so dedup lives in <see cref="EventMessageId"/>; on SQLite a unique index on the table does it.
/// </remarks>
internal sealed class StoredEvent
{
    /// <summary>Version-7 id given at receipt: sorts by arrival.</summary>
    public Guid Id { get; set; }
    public Guid WorkspaceId { get; set; }
    public Guid? EnvironmentId { get; set; }
    public required string MessageId { get; set; }
    /// <summary>track, identify, page, screen, group or alias.</summary>
    public required string Type { get; set; }
    /// <summary>The event name for track; the page or screen name for page and screen; null otherwise.</summary>
    public string? Name { get; set; }
    public string? UserId { get; set; }
    public string? AnonymousId { get; set; }
    public string? GroupId { get; set; }
    public string? PreviousId { get; set; }
    /// <summary>When it happened, corrected for the sender's clock skew.</summary>
    public DateTimeOffset Timestamp { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
    public DateTimeOffset? SentAt { get; set; }
    public DateTimeOffset? OriginalTimestamp { get; set; }
    /// <summary>JSON object.</summary>
    public string? Properties { get; set; }
    /// <summary>JSON object.</summary>
    public string? Context { get; set; }
    /// <summary>JSON object (identify and group).</summary>
    public string? Traits { get; set; }
    /// <summary>JSON object experiment key → variation key: the user's assignments at <see cref="Timestamp"/>.</summary>
    public string? Experiments { get; set; }
}

/// <summary>PostgreSQL's dedup index for the partitioned events table: one row per message id and workspace.</summary>
internal sealed class EventMessageId
{
    public Guid WorkspaceId { get; set; }
    public required string MessageId { get; set; }
    public DateTimeOffset Timestamp { get; set; }
}

/// <summary>A known user: the traits identify calls gave, merged, and when they were first and last seen.</summary>
internal sealed class EventUser
{
    public Guid WorkspaceId { get; set; }
    public required string UserId { get; set; }
    /// <summary>JSON object.</summary>
    public string Traits { get; set; } = "{}";
    public DateTimeOffset FirstSeenAt { get; set; }
    public DateTimeOffset LastSeenAt { get; set; }
}

/// <summary>An anonymous id linked to a user id by identify, alias, or any event that carried both.</summary>
internal sealed class EventIdentity
{
    public Guid WorkspaceId { get; set; }
    public required string AnonymousId { get; set; }
    public required string UserId { get; set; }
    public DateTimeOffset LinkedAt { get; set; }
}

/// <summary>An event that failed validation, kept with the reason instead of being dropped.</summary>
internal sealed class QuarantinedEvent
{
    public Guid Id { get; set; }
    public Guid WorkspaceId { get; set; }
    public required string MessageId { get; set; }
    public string? Type { get; set; }
    public string? Name { get; set; }
    /// <summary>JSON array of reasons.</summary>
    public required string Reasons { get; set; }
    /// <summary>The event as it was sent.</summary>
    public required string Payload { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
}

/// <summary>Stored events per workspace, day (UTC, of the timestamp), type and name, counted as they are written.</summary>
internal sealed class EventDailyCount
{
    /// <summary>How many shards PostgreSQL's writers spread a counter over (a power of two).</summary>
    public const int Shards = 32;

    public Guid WorkspaceId { get; set; }
    public DateOnly Day { get; set; }
    public required string Type { get; set; }
    /// <summary>Empty rather than null, so it can be part of the key.</summary>
    public required string Name { get; set; }
    /// <summary>
    /// Whose row this is: each PostgreSQL writer loop adds to rows of its own, so two groups committing at once never
    /// wait for each other's lock on one hot counter row. SQLite's single writer uses 0. Readers sum the shards.
    /// </summary>
    public short Shard { get; set; }
    public long Count { get; set; }
}

internal sealed class StoredEventConfiguration : IEntityTypeConfiguration<StoredEvent>
{
    public void Configure(EntityTypeBuilder<StoredEvent> builder)
    {
        builder.ToTable("events");
        // The key EF tracks by; the database's own uniqueness is (workspace_id, message_id), see below.
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Id).HasColumnName("id");
        builder.Property(e => e.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(e => e.EnvironmentId).HasColumnName("environment_id");
        builder.Property(e => e.MessageId).HasColumnName("message_id").HasMaxLength(EventLimits.MaxIdLength);
        builder.Property(e => e.Type).HasColumnName("type").HasMaxLength(16);
        builder.Property(e => e.Name).HasColumnName("name").HasMaxLength(EventLimits.MaxNameLength);
        builder.Property(e => e.UserId).HasColumnName("user_id").HasMaxLength(EventLimits.MaxIdLength);
        builder.Property(e => e.AnonymousId).HasColumnName("anonymous_id").HasMaxLength(EventLimits.MaxIdLength);
        builder.Property(e => e.GroupId).HasColumnName("group_id").HasMaxLength(EventLimits.MaxIdLength);
        builder.Property(e => e.PreviousId).HasColumnName("previous_id").HasMaxLength(EventLimits.MaxIdLength);
        builder.Property(e => e.Timestamp).HasColumnName("timestamp");
        builder.Property(e => e.ReceivedAt).HasColumnName("received_at");
        builder.Property(e => e.SentAt).HasColumnName("sent_at");
        builder.Property(e => e.OriginalTimestamp).HasColumnName("original_timestamp");
        builder.Property(e => e.Properties).HasColumnName("properties");
        builder.Property(e => e.Context).HasColumnName("context");
        builder.Property(e => e.Traits).HasColumnName("traits");
        builder.Property(e => e.Experiments).HasColumnName("experiments");
        // Dedup: an event is stored once however often it is sent (SQLite; PostgreSQL uses event_message_ids).
        builder.HasIndex(e => new { e.WorkspaceId, e.MessageId }).IsUnique();
        // The read side's filters: a time range, a user's timeline. Few indexes, because every one slows ingestion.
        builder.HasIndex(e => new { e.WorkspaceId, e.Timestamp });
        builder.HasIndex(e => new { e.WorkspaceId, e.UserId, e.Timestamp });
        builder.HasIndex(e => new { e.WorkspaceId, e.AnonymousId, e.Timestamp });
        // No foreign key to workspaces: workspaces are never deleted, and the check would cost every insert.
    }
}

internal sealed class EventMessageIdConfiguration : IEntityTypeConfiguration<EventMessageId>
{
    public void Configure(EntityTypeBuilder<EventMessageId> builder)
    {
        builder.ToTable("event_message_ids");
        builder.HasKey(e => new { e.WorkspaceId, e.MessageId });
        builder.Property(e => e.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(e => e.MessageId).HasColumnName("message_id").HasMaxLength(EventLimits.MaxIdLength);
        builder.Property(e => e.Timestamp).HasColumnName("timestamp");
    }
}

internal sealed class EventUserConfiguration : IEntityTypeConfiguration<EventUser>
{
    public void Configure(EntityTypeBuilder<EventUser> builder)
    {
        builder.ToTable("event_users");
        builder.HasKey(u => new { u.WorkspaceId, u.UserId });
        builder.Property(u => u.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(u => u.UserId).HasColumnName("user_id").HasMaxLength(EventLimits.MaxIdLength);
        builder.Property(u => u.Traits).HasColumnName("traits");
        builder.Property(u => u.FirstSeenAt).HasColumnName("first_seen_at");
        builder.Property(u => u.LastSeenAt).HasColumnName("last_seen_at");
    }
}

internal sealed class EventIdentityConfiguration : IEntityTypeConfiguration<EventIdentity>
{
    public void Configure(EntityTypeBuilder<EventIdentity> builder)
    {
        builder.ToTable("event_identities");
        // An anonymous id belongs to one user (the first that claimed it); a user has many anonymous ids.
        builder.HasKey(i => new { i.WorkspaceId, i.AnonymousId });
        builder.Property(i => i.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(i => i.AnonymousId).HasColumnName("anonymous_id").HasMaxLength(EventLimits.MaxIdLength);
        builder.Property(i => i.UserId).HasColumnName("user_id").HasMaxLength(EventLimits.MaxIdLength);
        builder.Property(i => i.LinkedAt).HasColumnName("linked_at");
        builder.HasIndex(i => new { i.WorkspaceId, i.UserId });
    }
}

internal sealed class QuarantinedEventConfiguration : IEntityTypeConfiguration<QuarantinedEvent>
{
    public void Configure(EntityTypeBuilder<QuarantinedEvent> builder)
    {
        builder.ToTable("event_quarantine");
        builder.HasKey(q => q.Id);
        builder.Property(q => q.Id).HasColumnName("id");
        builder.Property(q => q.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(q => q.MessageId).HasColumnName("message_id").HasMaxLength(EventLimits.MaxIdLength);
        builder.Property(q => q.Type).HasColumnName("type").HasMaxLength(16);
        builder.Property(q => q.Name).HasColumnName("name").HasMaxLength(EventLimits.MaxNameLength);
        builder.Property(q => q.Reasons).HasColumnName("reasons");
        builder.Property(q => q.Payload).HasColumnName("payload");
        builder.Property(q => q.ReceivedAt).HasColumnName("received_at");
        // A retried request must not quarantine the same event twice.
        builder.HasIndex(q => new { q.WorkspaceId, q.MessageId }).IsUnique();
        builder.HasIndex(q => new { q.WorkspaceId, q.ReceivedAt });
    }
}

internal sealed class EventDailyCountConfiguration : IEntityTypeConfiguration<EventDailyCount>
{
    public void Configure(EntityTypeBuilder<EventDailyCount> builder)
    {
        builder.ToTable("event_daily_counts");
        builder.HasKey(c => new { c.WorkspaceId, c.Day, c.Type, c.Name, c.Shard });
        builder.Property(c => c.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(c => c.Day).HasColumnName("day");
        builder.Property(c => c.Type).HasColumnName("type").HasMaxLength(16);
        builder.Property(c => c.Name).HasColumnName("name").HasMaxLength(EventLimits.MaxNameLength);
        builder.Property(c => c.Shard).HasColumnName("shard");
        builder.Property(c => c.Count).HasColumnName("count");
    }
}

/// <summary>One Core Web Vitals measurement as the web-vitals library reports it, kept once per metric id (the latest report wins).</summary>
internal sealed class WebVital
{
    public Guid Id { get; set; }
    public Guid WorkspaceId { get; set; }
    public Guid? EnvironmentId { get; set; }
    /// <summary>web-vitals' id of the metric on one page load (v4-…); CLS and INP are reported again as they grow.</summary>
    public required string MetricId { get; set; }
    /// <summary>LCP, INP, CLS, FCP, TTFB (or FID from older library versions).</summary>
    public required string Name { get; set; }
    public double Value { get; set; }
    public string? Rating { get; set; }
    public string? NavigationType { get; set; }
    public string? Url { get; set; }
    public string? Path { get; set; }
    /// <summary>mobile, tablet or desktop.</summary>
    public required string DeviceClass { get; set; }
    public string? UserId { get; set; }
    public string? AnonymousId { get; set; }
    public DateTimeOffset Timestamp { get; set; }
}

internal sealed class WebVitalConfiguration : IEntityTypeConfiguration<WebVital>
{
    public void Configure(EntityTypeBuilder<WebVital> builder)
    {
        builder.ToTable("web_vitals");
        builder.HasKey(v => v.Id);
        builder.Property(v => v.Id).HasColumnName("id");
        builder.Property(v => v.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(v => v.EnvironmentId).HasColumnName("environment_id");
        builder.Property(v => v.MetricId).HasColumnName("metric_id").HasMaxLength(EventLimits.MaxIdLength);
        builder.Property(v => v.Name).HasColumnName("name").HasMaxLength(8);
        builder.Property(v => v.Value).HasColumnName("value");
        builder.Property(v => v.Rating).HasColumnName("rating").HasMaxLength(24);
        builder.Property(v => v.NavigationType).HasColumnName("navigation_type").HasMaxLength(32);
        builder.Property(v => v.Url).HasColumnName("url").HasMaxLength(WebVitals.MaxUrlLength);
        builder.Property(v => v.Path).HasColumnName("path").HasMaxLength(WebVitals.MaxUrlLength);
        builder.Property(v => v.DeviceClass).HasColumnName("device_class").HasMaxLength(16);
        builder.Property(v => v.UserId).HasColumnName("user_id").HasMaxLength(EventLimits.MaxIdLength);
        builder.Property(v => v.AnonymousId).HasColumnName("anonymous_id").HasMaxLength(EventLimits.MaxIdLength);
        builder.Property(v => v.Timestamp).HasColumnName("timestamp");
        // Dedup by the library's metric id: a later report of the same metric replaces the earlier one.
        builder.HasIndex(v => new { v.WorkspaceId, v.MetricId }).IsUnique();
        // The p75 rollups read a metric's measurements over a time range.
        builder.HasIndex(v => new { v.WorkspaceId, v.Name, v.Timestamp });
    }
}
