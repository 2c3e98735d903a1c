using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Upswing.Access;
using Upswing.Audit;
using Upswing.Workspaces;

namespace Upswing.Data;

/// <summary>
/// The one EF Core context. Each module contributes its entities through its own
/// IEntityTypeConfiguration classes; tables are snake_case on both providers.
/// </summary>
public sealed class UpswingDb(DbContextOptions<UpswingDb> options) : DbContext(options)
{
    internal DbSet<Workspace> Workspaces => Set<Workspace>();
    internal DbSet<WorkspaceEnvironment> Environments => Set<WorkspaceEnvironment>();
    internal DbSet<User> Users => Set<User>();
    internal DbSet<Membership> Memberships => Set<Membership>();
    internal DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    internal DbSet<AuditEntry> AuditEntries => Set<AuditEntry>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(UpswingDb).Assembly);

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite has no timestamp type and EF cannot ORDER BY or compare DateTimeOffset stored as
        // text there; Unix milliseconds sort and compare correctly and index well.
        if (Database.IsSqlite())
        {
            configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UnixMillisecondsConverter>();
        }
    }

    private sealed class UnixMillisecondsConverter() : ValueConverter<DateTimeOffset, long>(
        value => value.ToUnixTimeMilliseconds(),
        value => DateTimeOffset.FromUnixTimeMilliseconds(value));
}
