using Microsoft.EntityFrameworkCore;
using Upswing.Access;
using Upswing.Audit;
using Upswing.Common;
using Upswing.Data;
using Upswing.Flags;

namespace Upswing.Experiments;

/// <summary>Holdouts: a stable share of users kept out of the experiments that name the holdout.</summary>
public sealed class HoldoutService(UpswingDb db, AuditLog audit, TimeProvider time, FlagChangeFeed changes)
{
    /// <summary>Holding out more than half of the users would leave experiments starved.</summary>
    public const double MaxPercentage = 0.5;

    public async Task<IReadOnlyList<HoldoutDto>> ListAsync(Guid workspaceId, CancellationToken ct) =>
        (await db.Set<Holdout>().AsNoTracking().Where(h => h.WorkspaceId == workspaceId).OrderBy(h => h.Key).ToListAsync(ct)).ConvertAll(ToDto);

    public async Task<HoldoutDto?> GetAsync(Guid workspaceId, string key, CancellationToken ct) =>
        await db.Set<Holdout>().AsNoTracking().FirstOrDefaultAsync(h => h.WorkspaceId == workspaceId && h.Key == key, ct) is { } h ? ToDto(h) : null;

    public async Task<Result<HoldoutDto>> CreateAsync(WorkspaceContext caller, HoldoutRequest request, CancellationToken ct)
    {
        if (!caller.Role.AtLeast(WorkspaceRole.Editor))
        {
            return Failure.Forbidden("Viewers cannot change holdouts.");
        }

        var errors = new FieldErrors();
        FlagKeys.Check("key", request.Key, errors);
        errors.Require("name", request.Name, 200);
        Check(request, required: true, errors);
        if (errors.Any)
        {
            return errors.ToFailure();
        }

        if (await db.Set<Holdout>().AnyAsync(h => h.WorkspaceId == caller.WorkspaceId && h.Key == request.Key, ct))
        {
            return Failure.Conflict($"A holdout with key '{request.Key}' already exists.");
        }

        var now = time.GetUtcNow();
        var holdout = new Holdout
        {
            Id = Ids.New(time),
            WorkspaceId = caller.WorkspaceId,
            Key = request.Key!,
            Name = request.Name!.Trim(),
            Percentage = request.Percentage!.Value,
            HashAttribute = request.HashAttribute ?? "id",
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Set<Holdout>().Add(holdout);
        var dto = ToDto(holdout);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "holdout.created", "holdout", holdout.Key, null, dto);
        return await changes.CommitAsync(db, caller.WorkspaceId, $"A holdout with key '{request.Key}' already exists.", ct) is { } failure ? failure : dto;
    }

    /// <summary>Changes the name, share or hash attribute; the key stays (experiments refer to it).</summary>
    public async Task<Result<HoldoutDto>> UpdateAsync(WorkspaceContext caller, string key, HoldoutRequest request, CancellationToken ct)
    {
        var (holdout, failure) = await LoadForWriteAsync(caller, key, ct);
        if (holdout is null)
        {
            return failure!;
        }

        var errors = new FieldErrors();
        if (request.Key is not null && request.Key != holdout.Key)
        {
            errors.Add("key", "The key of a holdout cannot change; experiments refer to it.");
        }

        if (request.Name is not null)
        {
            errors.Require("name", request.Name, 200);
        }

        Check(request, required: false, errors);
        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var before = ToDto(holdout);
        holdout.Name = request.Name?.Trim() ?? holdout.Name;
        holdout.Percentage = request.Percentage ?? holdout.Percentage;
        holdout.HashAttribute = request.HashAttribute ?? holdout.HashAttribute;
        holdout.UpdatedAt = time.GetUtcNow();
        var after = ToDto(holdout);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "holdout.updated", "holdout", holdout.Key, before, after);
        return await changes.CommitAsync(db, caller.WorkspaceId, null, ct) is { } problem ? problem : after;
    }

    /// <summary>Deletes a holdout no experiment names; one in use is a 409 naming the experiments.</summary>
    public async Task<Result<HoldoutDto>> DeleteAsync(WorkspaceContext caller, string key, CancellationToken ct)
    {
        var (holdout, failure) = await LoadForWriteAsync(caller, key, ct);
        if (holdout is null)
        {
            return failure!;
        }

        var users = await db.Set<Experiment>().AsNoTracking().Where(e => e.HoldoutId == holdout.Id).Select(e => e.Key).OrderBy(k => k).ToListAsync(ct);
        if (users.Count > 0)
        {
            return Failure.Conflict($"The holdout '{key}' is used by: {string.Join(", ", users)}.");
        }

        var dto = ToDto(holdout);
        db.Set<Holdout>().Remove(holdout);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "holdout.deleted", "holdout", holdout.Key, dto, null);
        return await changes.CommitAsync(db, caller.WorkspaceId, null, ct) is { } problem ? problem : dto;
    }

    private async Task<(Holdout? Holdout, Failure? Failure)> LoadForWriteAsync(WorkspaceContext caller, string key, CancellationToken ct)
    {
        var holdout = await db.Set<Holdout>().FirstOrDefaultAsync(h => h.WorkspaceId == caller.WorkspaceId && h.Key == key, ct);
        if (holdout is null)
        {
            return (null, Failure.NotFound($"No holdout with key '{key}'."));
        }

        return caller.Role.AtLeast(WorkspaceRole.Editor) ? (holdout, null) : (null, Failure.Forbidden("Viewers cannot change holdouts."));
    }

    private static void Check(HoldoutRequest request, bool required, FieldErrors errors)
    {
        if (request.Percentage is { } p ? double.IsNaN(p) || p <= 0 || p > MaxPercentage : required)
        {
            errors.Add("percentage", $"The percentage is a share above 0 and at most {MaxPercentage} (e.g. 0.05 for 5 %).");
        }

        if (request.HashAttribute is { } attribute && (attribute.Length is 0 or > 100 || string.IsNullOrWhiteSpace(attribute)))
        {
            errors.Add("hashAttribute", "The hashAttribute is 1–100 characters.");
        }
    }

    private static HoldoutDto ToDto(Holdout h) => new(h.Id, h.Key, h.Name, h.Percentage, h.HashAttribute, h.CreatedAt, h.UpdatedAt);
}
