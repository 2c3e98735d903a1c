using Microsoft.EntityFrameworkCore;
using Upswing.Audit;
using Upswing.Common;
using Upswing.Data;

namespace Upswing.Access;

/// <summary>A workspace member; <see cref="Pending"/> until the invitee sets a password.</summary>
public sealed record MemberDto(Guid Id, Guid UserId, string Email, string? DisplayName, WorkspaceRole Role, bool Pending, DateTimeOffset CreatedAt);

/// <summary>A new member and, for someone without an account, the invitation token (shown once).</summary>
public sealed record InvitedMember(MemberDto Member, string? InviteToken);

/// <summary>Memberships and roles within a workspace. A workspace always keeps at least one owner.</summary>
public sealed class MemberService(UpswingDb db, UserService users, AuditLog audit, TimeProvider time)
{
    public async Task<IReadOnlyList<MemberDto>> ListAsync(Guid workspaceId, CancellationToken ct)
    {
        var rows = await Members(workspaceId, id: null).ToListAsync(ct);
        return rows.OrderBy(m => m.Role).ThenBy(m => m.Email, StringComparer.Ordinal).ToList();
    }

    public async Task<MemberDto?> GetAsync(Guid workspaceId, Guid id, CancellationToken ct) =>
        await Members(workspaceId, id).FirstOrDefaultAsync(ct);

    /// <summary>A user's role in a workspace; installation admins act as owners everywhere.</summary>
    public async Task<WorkspaceRole?> RoleOfAsync(Guid workspaceId, Guid userId, CancellationToken ct)
    {
        var user = await db.Users.AsNoTracking().Where(u => u.Id == userId).Select(u => new { u.IsAdmin }).FirstOrDefaultAsync(ct);
        if (user is null)
        {
            return null;
        }

        if (user.IsAdmin)
        {
            return WorkspaceRole.Owner;
        }

        return await db.Memberships.AsNoTracking().Where(m => m.WorkspaceId == workspaceId && m.UserId == userId)
            .Select(m => (WorkspaceRole?)m.Role).FirstOrDefaultAsync(ct);
    }

    /// <summary>Makes the owners of <paramref name="sourceWorkspaceId"/> owners of <paramref name="target"/>'s workspace too.</summary>
    public async Task CopyOwnersAsync(Guid sourceWorkspaceId, WorkspaceContext target, CancellationToken ct)
    {
        var owners = await db.Memberships.AsNoTracking()
            .Where(m => m.WorkspaceId == sourceWorkspaceId && m.Role == WorkspaceRole.Owner)
            .Select(m => new { m.UserId, m.User!.Email }).ToListAsync(ct);
        foreach (var owner in owners)
        {
            var membership = new Membership { Id = Ids.New(time), WorkspaceId = target.WorkspaceId, UserId = owner.UserId, Role = WorkspaceRole.Owner, CreatedAt = time.GetUtcNow() };
            db.Memberships.Add(membership);
            audit.Record(db, target.WorkspaceId, target.Actor, "member.added", "member", membership.Id.ToString(), null, new { owner.Email, Role = WorkspaceRole.Owner });
        }

        await db.SaveChangesAsync(ct);
    }

    public async Task<Result<InvitedMember>> InviteAsync(WorkspaceContext caller, string? email, WorkspaceRole role, CancellationToken ct)
    {
        if (!caller.Role.AtLeast(WorkspaceRole.Admin))
        {
            return Failure.Forbidden("Only owners and admins can invite members.");
        }

        if (!UserService.IsPlausibleEmail(email?.Trim()))
        {
            return Failure.Invalid("email", "A valid e-mail address is required.");
        }

        if (!Enum.IsDefined(role))
        {
            return Failure.Invalid("role", "The role must be owner, admin, editor or viewer.");
        }

        if (role == WorkspaceRole.Owner && caller.Role != WorkspaceRole.Owner)
        {
            return Failure.Forbidden("Only owners can make someone an owner.");
        }

        var normalized = UserService.NormalizeEmail(email!);
        var user = await db.Users.FirstOrDefaultAsync(u => u.Email == normalized, ct);
        string? token = null;
        if (user is null)
        {
            (user, token) = users.NewInvitedUser(normalized);
            db.Users.Add(user);
        }
        else if (await db.Memberships.AnyAsync(m => m.WorkspaceId == caller.WorkspaceId && m.UserId == user.Id, ct))
        {
            return Failure.Conflict($"{normalized} is already a member of this workspace.");
        }

        var now = time.GetUtcNow();
        var membership = new Membership { Id = Ids.New(time), WorkspaceId = caller.WorkspaceId, UserId = user.Id, Role = role, CreatedAt = now };
        db.Memberships.Add(membership);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "member.invited", "member", membership.Id.ToString(), null, new { Email = normalized, Role = role });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            return Failure.Conflict($"{normalized} is already a member of this workspace.");
        }

        var dto = new MemberDto(membership.Id, user.Id, user.Email, user.DisplayName, role, user.PasswordHash is null, now);
        return new InvitedMember(dto, token);
    }

    public async Task<Result<MemberDto>> ChangeRoleAsync(WorkspaceContext caller, Guid memberId, WorkspaceRole role, CancellationToken ct)
    {
        var membership = await db.Memberships.Include(m => m.User).FirstOrDefaultAsync(m => m.WorkspaceId == caller.WorkspaceId && m.Id == memberId, ct);
        if (membership is null)
        {
            return Failure.NotFound("Member not found.");
        }

        if (!caller.Role.AtLeast(WorkspaceRole.Admin))
        {
            return Failure.Forbidden("Only owners and admins can change roles.");
        }

        if (!Enum.IsDefined(role))
        {
            return Failure.Invalid("role", "The role must be owner, admin, editor or viewer.");
        }

        if ((role == WorkspaceRole.Owner || membership.Role == WorkspaceRole.Owner) && caller.Role != WorkspaceRole.Owner)
        {
            return Failure.Forbidden("Only owners can grant or take away ownership.");
        }

        if (membership.Role == WorkspaceRole.Owner && role != WorkspaceRole.Owner && await IsLastOwnerAsync(membership, ct))
        {
            return Failure.Conflict("A workspace needs at least one owner; make someone else an owner first.");
        }

        var before = new { membership.Role };
        membership.Role = role;
        audit.Record(db, caller.WorkspaceId, caller.Actor, "member.role_changed", "member", membership.Id.ToString(), before, new { Role = role });
        await db.SaveChangesAsync(ct);
        return ToDto(membership);
    }

    public async Task<Result<MemberDto>> RemoveAsync(WorkspaceContext caller, Guid memberId, CancellationToken ct)
    {
        var membership = await db.Memberships.Include(m => m.User).FirstOrDefaultAsync(m => m.WorkspaceId == caller.WorkspaceId && m.Id == memberId, ct);
        if (membership is null)
        {
            return Failure.NotFound("Member not found.");
        }

        if (!caller.Role.AtLeast(WorkspaceRole.Admin))
        {
            return Failure.Forbidden("Only owners and admins can remove members.");
        }

        if (membership.Role == WorkspaceRole.Owner && caller.Role != WorkspaceRole.Owner)
        {
            return Failure.Forbidden("Only owners can remove an owner.");
        }

        if (membership.Role == WorkspaceRole.Owner && await IsLastOwnerAsync(membership, ct))
        {
            return Failure.Conflict("A workspace needs at least one owner; make someone else an owner first.");
        }

        var dto = ToDto(membership);
        db.Memberships.Remove(membership);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "member.removed", "member", membership.Id.ToString(), new { dto.Email, dto.Role }, null);
        await db.SaveChangesAsync(ct);
        return dto;
    }

    private Task<bool> IsLastOwnerAsync(Membership membership, CancellationToken ct) =>
        db.Memberships.AllAsync(m => m.WorkspaceId != membership.WorkspaceId || m.Role != WorkspaceRole.Owner || m.Id == membership.Id, ct);

    // Filters go before the projection: EF cannot translate a predicate on a constructed record.
    private IQueryable<MemberDto> Members(Guid workspaceId, Guid? id) =>
        db.Memberships.AsNoTracking().Where(m => m.WorkspaceId == workspaceId && (id == null || m.Id == id))
            .Select(m => new MemberDto(m.Id, m.UserId, m.User!.Email, m.User.DisplayName, m.Role, m.User.PasswordHash == null, m.CreatedAt));

    private static MemberDto ToDto(Membership m) =>
        new(m.Id, m.UserId, m.User!.Email, m.User.DisplayName, m.Role, m.User.PasswordHash is null, m.CreatedAt);
}
