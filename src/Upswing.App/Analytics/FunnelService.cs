using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Upswing.Access;
using Upswing.Audit;
using Upswing.Common;
using Upswing.Data;
using Upswing.Events;
using Upswing.Flags;

namespace Upswing.Analytics;

/// <summary>
/// Funnel definitions of a workspace (<c>/api/v1/funnels</c>): validation, a version that grows with every change (the
/// funnels rollup recomputes a funnel whose rows are of another version), and an audit entry for every change.
/// </summary>
public sealed class FunnelService(UpswingDb db, AuditLog audit, TimeProvider time)
{
    public const int MinSteps = 2;
    public const int MaxSteps = 10;
    public const int DefaultConversionWindowHours = 24;
    public const int MaxConversionWindowHours = 24 * 365;
    public const int MaxBreakdownPropertyLength = 100;

    public async Task<IReadOnlyList<FunnelDto>> ListAsync(Guid workspaceId, CancellationToken ct) =>
        (await db.Set<FunnelDefinition>().AsNoTracking().Where(f => f.WorkspaceId == workspaceId).OrderBy(f => f.Key).ToListAsync(ct)).ConvertAll(ToDto);

    public async Task<FunnelDto?> GetAsync(Guid workspaceId, string key, CancellationToken ct) =>
        await db.Set<FunnelDefinition>().AsNoTracking().FirstOrDefaultAsync(f => f.WorkspaceId == workspaceId && f.Key == key, ct) is { } funnel ? ToDto(funnel) : null;

    public async Task<Result<FunnelDto>> CreateAsync(WorkspaceContext caller, FunnelRequest request, CancellationToken ct)
    {
        if (!caller.Role.AtLeast(WorkspaceRole.Editor))
        {
            return Failure.Forbidden("Viewers cannot change funnels.");
        }

        var errors = new FieldErrors();
        FlagKeys.Check("key", request.Key, errors);
        errors.Require("name", request.Name, MetricService.MaxNameLength);
        var steps = request.Steps is null ? null : CheckSteps(request.Steps, errors);
        if (request.Steps is null)
        {
            errors.Add("steps", $"The steps field is required: {MinSteps}–{MaxSteps} steps, each {{event, filters?}}.");
        }

        CheckRest(request, errors);
        if (errors.Any || steps is null)
        {
            return errors.ToFailure();
        }

        var conflict = $"A funnel with key '{request.Key}' already exists.";
        if (await db.Set<FunnelDefinition>().AnyAsync(f => f.WorkspaceId == caller.WorkspaceId && f.Key == request.Key, ct))
        {
            return Failure.Conflict(conflict);
        }

        var now = time.GetUtcNow();
        var funnel = new FunnelDefinition
        {
            Id = Ids.New(time),
            WorkspaceId = caller.WorkspaceId,
            Key = request.Key!,
            Name = request.Name!.Trim(),
            Description = Blank(request.Description),
            Steps = JsonSerializer.Serialize(steps, MetricService.Json),
            ConversionWindowHours = request.ConversionWindowHours ?? DefaultConversionWindowHours,
            BreakdownProperty = Blank(request.BreakdownProperty),
            Version = 1,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Set<FunnelDefinition>().Add(funnel);
        var dto = ToDto(funnel);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "funnel.created", "funnel", funnel.Key, null, dto);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Another request created the key between the check above and this insert: the unique index decided.
            db.ChangeTracker.Clear();
            return Failure.Conflict(conflict);
        }

        return dto;
    }

    /// <summary>Changes a funnel; only the fields present change, the key stays, and the version grows by one.</summary>
    public async Task<Result<FunnelDto>> UpdateAsync(WorkspaceContext caller, string key, FunnelRequest request, CancellationToken ct)
    {
        var (funnel, failure) = await LoadForWriteAsync(caller, key, ct);
        if (funnel is null)
        {
            return failure!;
        }

        var errors = new FieldErrors();
        if (request.Key is not null && request.Key != funnel.Key)
        {
            errors.Add("key", "The key of a funnel cannot change.");
        }

        if (request.Name is not null)
        {
            errors.Require("name", request.Name, MetricService.MaxNameLength);
        }

        var steps = request.Steps is null ? null : CheckSteps(request.Steps, errors);
        CheckRest(request, errors);
        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var before = ToDto(funnel);
        funnel.Name = request.Name?.Trim() ?? funnel.Name;
        funnel.Description = request.Description is null ? funnel.Description : Blank(request.Description);
        funnel.Steps = steps is null ? funnel.Steps : JsonSerializer.Serialize(steps, MetricService.Json);
        funnel.ConversionWindowHours = request.ConversionWindowHours ?? funnel.ConversionWindowHours;
        funnel.BreakdownProperty = request.BreakdownProperty is null ? funnel.BreakdownProperty : Blank(request.BreakdownProperty);
        funnel.Version++;
        funnel.UpdatedAt = time.GetUtcNow();
        var after = ToDto(funnel);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "funnel.updated", "funnel", funnel.Key, before, after);
        await db.SaveChangesAsync(ct);
        return after;
    }

    /// <summary>Deletes a funnel and its rollup rows.</summary>
    public async Task<Result<FunnelDto>> DeleteAsync(WorkspaceContext caller, string key, CancellationToken ct)
    {
        var (funnel, failure) = await LoadForWriteAsync(caller, key, ct);
        if (funnel is null)
        {
            return failure!;
        }

        var dto = ToDto(funnel);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        db.Set<FunnelDefinition>().Remove(funnel);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "funnel.deleted", "funnel", funnel.Key, dto, null);
        await db.SaveChangesAsync(ct);
        await db.Set<FunnelRollup>().Where(r => r.WorkspaceId == caller.WorkspaceId && r.FunnelKey == key).ExecuteDeleteAsync(ct);
        await transaction.CommitAsync(ct);
        return dto;
    }

    private async Task<(FunnelDefinition? Funnel, Failure? Failure)> LoadForWriteAsync(WorkspaceContext caller, string key, CancellationToken ct)
    {
        var funnel = await db.Set<FunnelDefinition>().FirstOrDefaultAsync(f => f.WorkspaceId == caller.WorkspaceId && f.Key == key, ct);
        if (funnel is null)
        {
            return (null, Failure.NotFound($"No funnel with key '{key}'."));
        }

        return caller.Role.AtLeast(WorkspaceRole.Editor) ? (funnel, null) : (null, Failure.Forbidden("Viewers cannot change funnels."));
    }

    private static List<FunnelStep>? CheckSteps(IReadOnlyList<FunnelStepRequest?> steps, FieldErrors errors)
    {
        if (steps.Count is < MinSteps or > MaxSteps)
        {
            errors.Add("steps", $"A funnel has {MinSteps}–{MaxSteps} steps.");
            return null;
        }

        var result = new List<FunnelStep>(steps.Count);
        for (var i = 0; i < steps.Count; i++)
        {
            var at = $"steps[{i}]";
            if (steps[i] is not { } step)
            {
                errors.Add(at, "A step is {event, filters?}.");
                continue;
            }

            if (string.IsNullOrWhiteSpace(step.Event) || step.Event.Length > EventLimits.MaxNameLength)
            {
                errors.Add($"{at}.event", $"The event is 1–{EventLimits.MaxNameLength} characters.");
            }

            var filters = step.Filters is null ? [] : MetricService.CheckFilters(step.Filters, errors, $"{at}.filters");
            result.Add(new FunnelStep(step.Event ?? "", filters));
        }

        return result;
    }

    private static void CheckRest(FunnelRequest request, FieldErrors errors)
    {
        if (request.Description is { Length: > MetricService.MaxDescriptionLength })
        {
            errors.Add("description", $"The description must be at most {MetricService.MaxDescriptionLength} characters.");
        }

        if (request.ConversionWindowHours is { } hours && (hours < 1 || hours > MaxConversionWindowHours))
        {
            errors.Add("conversionWindowHours", $"The conversionWindowHours is between 1 and {MaxConversionWindowHours}.");
        }

        if (request.BreakdownProperty is { Length: > 0 } property && (string.IsNullOrWhiteSpace(property) || property.Length > MaxBreakdownPropertyLength))
        {
            errors.Add("breakdownProperty", $"The breakdownProperty is a top-level property name of the first step's event, 1–{MaxBreakdownPropertyLength} characters.");
        }
    }

    private static string? Blank(string? value) => string.IsNullOrEmpty(value) ? null : value;

    internal static FunnelDto ToDto(FunnelDefinition f) => new(
        f.Id, f.Key, f.Name, f.Description, JsonSerializer.Deserialize<List<FunnelStep>>(f.Steps, MetricService.Json) ?? [], f.ConversionWindowHours,
        f.BreakdownProperty, f.Version, f.CreatedAt, f.UpdatedAt);
}
