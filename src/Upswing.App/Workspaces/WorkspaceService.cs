using Microsoft.EntityFrameworkCore;
using Upswing.Access;
using Upswing.Audit;
using Upswing.Common;
using Upswing.Data;

namespace Upswing.Workspaces;

/// <summary>A workspace as the API shows it.</summary>
public sealed record WorkspaceDto(Guid Id, string Slug, string Name, DateTimeOffset CreatedAt, IReadOnlyList<EnvironmentDto> Environments);

/// <summary>A workspace environment as the API shows it.</summary>
public sealed record EnvironmentDto(Guid Id, string Key, string Name);

/// <summary>Creates, finds and renames workspaces; every new workspace gets production and development environments.</summary>
public sealed class WorkspaceService(UpswingDb db, AuditLog audit, TimeProvider time)
{
    public static readonly IReadOnlyList<(string Key, string Name)> DefaultEnvironments =
        [("production", "Production"), ("development", "Development")];

    /// <summary>Creates a workspace; when <paramref name="owner"/> is given, that user becomes its owner.</summary>
    public async Task<Result<WorkspaceDto>> CreateAsync(string? name, string? slug, Actor actor, Guid? owner, CancellationToken ct)
    {
        var errors = new FieldErrors().Require("name", name, 200);
        if (slug is not null && !Slugs.IsValid(slug))
        {
            errors.Add("slug", "The slug must be 1–63 lower-case letters, digits or single hyphens, not starting or ending with a hyphen.");
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var chosen = slug ?? await FreeSlugAsync(Slugs.From(name!), ct);
        if (await db.Workspaces.AnyAsync(w => w.Slug == chosen, ct))
        {
            return Failure.Conflict($"A workspace with slug '{chosen}' already exists.");
        }

        var now = time.GetUtcNow();
        var workspace = new Workspace { Id = Ids.New(time), Slug = chosen, Name = name!.Trim(), CreatedAt = now, UpdatedAt = now };
        foreach (var (key, envName) in DefaultEnvironments)
        {
            workspace.Environments.Add(new WorkspaceEnvironment { Id = Ids.New(time), WorkspaceId = workspace.Id, Key = key, Name = envName, CreatedAt = now });
        }

        db.Workspaces.Add(workspace);
        if (owner is { } userId)
        {
            db.Memberships.Add(new Membership { Id = Ids.New(time), WorkspaceId = workspace.Id, UserId = userId, Role = WorkspaceRole.Owner, CreatedAt = now });
        }

        var dto = ToDto(workspace);
        audit.Record(db, workspace.Id, actor, "workspace.created", "workspace", workspace.Id.ToString(), null, new { dto.Slug, dto.Name });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Two creators raced for the same slug; the unique index decided.
            db.ChangeTracker.Clear();
            return Failure.Conflict($"A workspace with slug '{chosen}' already exists.");
        }

        return dto;
    }

    public async Task<WorkspaceDto?> GetAsync(Guid id, CancellationToken ct) =>
        await db.Workspaces.AsNoTracking().Include(w => w.Environments).Where(w => w.Id == id)
            .Select(w => ToDto(w)).FirstOrDefaultAsync(ct);

    /// <summary>
    /// The id of the workspace's environment with key <paramref name="key"/> (a query value such as <c>environment=</c>);
    /// null when the key is missing or blank (the whole workspace); a field error naming the known keys when there is none.
    /// </summary>
    public async Task<Result<Guid?>> EnvironmentIdAsync(Guid workspaceId, string? key, string field, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(key))
        {
            return (Guid?)null;
        }

        var known = await db.Environments.AsNoTracking().Where(e => e.WorkspaceId == workspaceId).OrderBy(e => e.Key).Select(e => new { e.Id, e.Key }).ToListAsync(ct);
        return known.FirstOrDefault(e => e.Key == key) is { } match
            ? match.Id
            : Failure.Invalid(field, $"The workspace's environments are {string.Join(", ", known.Select(e => e.Key))}.");
    }

    public async Task<WorkspaceDto?> GetBySlugAsync(string slug, CancellationToken ct) =>
        await db.Workspaces.AsNoTracking().Include(w => w.Environments).Where(w => w.Slug == slug)
            .Select(w => ToDto(w)).FirstOrDefaultAsync(ct);

    /// <summary>Every workspace of the installation, by slug (background work and operator tools).</summary>
    public async Task<IReadOnlyList<WorkspaceDto>> ListAllAsync(CancellationToken ct) =>
        (await db.Workspaces.AsNoTracking().Include(w => w.Environments).OrderBy(w => w.Slug).ToListAsync(ct)).ConvertAll(ToDto);

    /// <summary>The workspaces a user belongs to, or every workspace for an installation admin.</summary>
    public async Task<IReadOnlyList<WorkspaceDto>> ListForUserAsync(Guid userId, bool isAdmin, CancellationToken ct)
    {
        var query = db.Workspaces.AsNoTracking().Include(w => w.Environments).AsQueryable();
        if (!isAdmin)
        {
            query = query.Where(w => db.Memberships.Any(m => m.WorkspaceId == w.Id && m.UserId == userId));
        }

        var rows = await query.OrderBy(w => w.Name).ThenBy(w => w.Slug).ToListAsync(ct);
        return rows.ConvertAll(ToDto);
    }

    public async Task<Result<WorkspaceDto>> UpdateAsync(WorkspaceContext caller, Guid id, string? name, string? slug, CancellationToken ct)
    {
        if (caller.WorkspaceId != id)
        {
            return Failure.NotFound("Workspace not found.");
        }

        if (!caller.Role.AtLeast(WorkspaceRole.Admin))
        {
            return Failure.Forbidden("Only owners and admins can change workspace settings.");
        }

        var errors = new FieldErrors();
        if (name is not null)
        {
            errors.Require("name", name, 200);
        }

        if (slug is not null && !Slugs.IsValid(slug))
        {
            errors.Add("slug", "The slug must be 1–63 lower-case letters, digits or single hyphens, not starting or ending with a hyphen.");
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var workspace = await db.Workspaces.Include(w => w.Environments).FirstOrDefaultAsync(w => w.Id == id, ct);
        if (workspace is null)
        {
            return Failure.NotFound("Workspace not found.");
        }

        if (slug is not null && slug != workspace.Slug && await db.Workspaces.AnyAsync(w => w.Slug == slug, ct))
        {
            return Failure.Conflict($"A workspace with slug '{slug}' already exists.");
        }

        var before = new { workspace.Slug, workspace.Name };
        workspace.Name = name?.Trim() ?? workspace.Name;
        workspace.Slug = slug ?? workspace.Slug;
        workspace.UpdatedAt = time.GetUtcNow();
        audit.Record(db, workspace.Id, caller.Actor, "workspace.updated", "workspace", workspace.Id.ToString(), before, new { workspace.Slug, workspace.Name });
        await db.SaveChangesAsync(ct);
        return ToDto(workspace);
    }

    private async Task<string> FreeSlugAsync(string baseSlug, CancellationToken ct)
    {
        var taken = await db.Workspaces.AsNoTracking()
            .Where(w => w.Slug == baseSlug || w.Slug.StartsWith(baseSlug + "-"))
            .Select(w => w.Slug).ToListAsync(ct);
        if (!taken.Contains(baseSlug))
        {
            return baseSlug;
        }

        for (var i = 2; ; i++)
        {
            var candidate = $"{baseSlug}-{i}";
            if (!taken.Contains(candidate))
            {
                return candidate;
            }
        }
    }

    private static WorkspaceDto ToDto(Workspace w) => new(
        w.Id, w.Slug, w.Name, w.CreatedAt,
        w.Environments.OrderBy(e => e.Key == "production" ? 0 : 1).ThenBy(e => e.Key).Select(e => new EnvironmentDto(e.Id, e.Key, e.Name)).ToList());
}
