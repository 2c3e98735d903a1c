using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Upswing.Access;

internal sealed class User
{
    public Guid Id { get; set; }
    /// <summary>Lower-cased, trimmed; the sign-in name.</summary>
    public required string Email { get; set; }
    public string? DisplayName { get; set; }
    /// <summary>ASP.NET Core PasswordHasher output; null for an invited user who has not set one.</summary>
    public string? PasswordHash { get; set; }
    /// <summary>Installation administrators see and manage every workspace.</summary>
    public bool IsAdmin { get; set; }
    public bool MustChangePassword { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? LastSignInAt { get; set; }
    /// <summary>SHA-256 of a pending invitation's token; the invitee sets a password with it.</summary>
    public string? InviteTokenHash { get; set; }
    public DateTimeOffset? InviteExpiresAt { get; set; }
}

internal sealed class Membership
{
    public Guid Id { get; set; }
    public Guid WorkspaceId { get; set; }
    public Guid UserId { get; set; }
    public WorkspaceRole Role { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public User? User { get; set; }
}

internal sealed class ApiKey
{
    public Guid Id { get; set; }
    public Guid WorkspaceId { get; set; }
    /// <summary>Set for client keys (one environment each); null for secret keys.</summary>
    public Guid? EnvironmentId { get; set; }
    public ApiKeyKind Kind { get; set; }
    public required string Name { get; set; }
    /// <summary>The first characters of the key, shown in lists so people can tell keys apart.</summary>
    public required string Prefix { get; set; }
    /// <summary>SHA-256 of the whole key, hex. Keys are 256-bit random, so a fast hash is enough.</summary>
    public required string Hash { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public string? CreatedBy { get; set; }
    public DateTimeOffset? LastUsedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    /// <summary>Client keys only: the AES-128 key SDK payloads are encrypted with, protected by the Data Protection key ring.</summary>
    public string? PayloadKey { get; set; }
}

internal sealed class UserConfiguration : IEntityTypeConfiguration<User>
{
    public void Configure(EntityTypeBuilder<User> builder)
    {
        builder.ToTable("users");
        builder.HasKey(u => u.Id);
        builder.Property(u => u.Id).HasColumnName("id");
        builder.Property(u => u.Email).HasColumnName("email").HasMaxLength(320);
        builder.Property(u => u.DisplayName).HasColumnName("display_name").HasMaxLength(200);
        builder.Property(u => u.PasswordHash).HasColumnName("password_hash");
        builder.Property(u => u.IsAdmin).HasColumnName("is_admin");
        builder.Property(u => u.MustChangePassword).HasColumnName("must_change_password");
        builder.Property(u => u.CreatedAt).HasColumnName("created_at");
        builder.Property(u => u.LastSignInAt).HasColumnName("last_sign_in_at");
        builder.Property(u => u.InviteTokenHash).HasColumnName("invite_token_hash").HasMaxLength(64);
        builder.Property(u => u.InviteExpiresAt).HasColumnName("invite_expires_at");
        builder.HasIndex(u => u.InviteTokenHash).IsUnique();
        builder.HasIndex(u => u.Email).IsUnique();
    }
}

internal sealed class MembershipConfiguration : IEntityTypeConfiguration<Membership>
{
    public void Configure(EntityTypeBuilder<Membership> builder)
    {
        builder.ToTable("memberships");
        builder.HasKey(m => m.Id);
        builder.Property(m => m.Id).HasColumnName("id");
        builder.Property(m => m.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(m => m.UserId).HasColumnName("user_id");
        builder.Property(m => m.Role).HasColumnName("role").HasConversion<string>().HasMaxLength(16);
        builder.Property(m => m.CreatedAt).HasColumnName("created_at");
        builder.HasIndex(m => new { m.WorkspaceId, m.UserId }).IsUnique();
        // Sign-in lists a user's workspaces.
        builder.HasIndex(m => m.UserId);
        builder.HasOne(m => m.User).WithMany().HasForeignKey(m => m.UserId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(m => m.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ApiKeyConfiguration : IEntityTypeConfiguration<ApiKey>
{
    public void Configure(EntityTypeBuilder<ApiKey> builder)
    {
        builder.ToTable("api_keys");
        builder.HasKey(k => k.Id);
        builder.Property(k => k.Id).HasColumnName("id");
        builder.Property(k => k.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(k => k.EnvironmentId).HasColumnName("environment_id");
        builder.Property(k => k.Kind).HasColumnName("kind").HasConversion<string>().HasMaxLength(16);
        builder.Property(k => k.Name).HasColumnName("name").HasMaxLength(200);
        builder.Property(k => k.Prefix).HasColumnName("prefix").HasMaxLength(32);
        builder.Property(k => k.Hash).HasColumnName("hash").HasMaxLength(64);
        builder.Property(k => k.CreatedAt).HasColumnName("created_at");
        builder.Property(k => k.CreatedBy).HasColumnName("created_by").HasMaxLength(320);
        builder.Property(k => k.LastUsedAt).HasColumnName("last_used_at");
        builder.Property(k => k.RevokedAt).HasColumnName("revoked_at");
        builder.Property(k => k.PayloadKey).HasColumnName("payload_key").HasMaxLength(1000);
        // Every authenticated request looks a key up by its hash.
        builder.HasIndex(k => k.Hash).IsUnique();
        builder.HasIndex(k => k.WorkspaceId);
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(k => k.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<Workspaces.WorkspaceEnvironment>().WithMany().HasForeignKey(k => k.EnvironmentId).OnDelete(DeleteBehavior.Restrict);
    }
}
