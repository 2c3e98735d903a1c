using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Upswing.Access;
using Upswing.Audit;
using Upswing.Common;
using Upswing.Data;

namespace Upswing.Events;

/// <summary>A planned event as the API shows it.</summary>
public sealed record EventDefinitionDto(Guid Id, string Name, string? Description, IReadOnlyList<PropertyRule> Properties, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>Body of POST and PATCH /api/v1/event-definitions.</summary>
public sealed record EventDefinitionRequest(string? Name, string? Description, IReadOnlyList<PropertyRule>? Properties);

/// <summary>A workspace's ingestion settings: how the tracking plan is enforced.</summary>
public sealed record EventSettingsDto(EventValidation Validation, bool AllowUnplannedEvents);

/// <summary>Body of PUT /api/v1/events/settings; omitted members keep their value.</summary>
public sealed record EventSettingsRequest(string? Validation, bool? AllowUnplannedEvents);

/// <summary>The tracking plan: event definitions with property rules, and how strictly ingestion enforces them.</summary>
public sealed class EventDefinitionService(UpswingDb db, AuditLog audit, TimeProvider time, TrackingPlans plans)
{
    public const int MaxProperties = 200;

    private static readonly JsonSerializerOptions RulesJson = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    public async Task<IReadOnlyList<EventDefinitionDto>> ListAsync(Guid workspaceId, CancellationToken ct) =>
        (await db.Set<EventDefinition>().AsNoTracking().Where(d => d.WorkspaceId == workspaceId).OrderBy(d => d.Name).ToListAsync(ct)).ConvertAll(ToDto);

    public async Task<EventDefinitionDto?> GetAsync(Guid workspaceId, Guid id, CancellationToken ct) =>
        await db.Set<EventDefinition>().AsNoTracking().FirstOrDefaultAsync(d => d.WorkspaceId == workspaceId && d.Id == id, ct) is { } d ? ToDto(d) : null;

    public async Task<Result<EventDefinitionDto>> CreateAsync(WorkspaceContext caller, EventDefinitionRequest request, CancellationToken ct)
    {
        if (!caller.Role.AtLeast(WorkspaceRole.Editor))
        {
            return Failure.Forbidden("Viewers cannot change the tracking plan.");
        }

        var errors = new FieldErrors();
        errors.Require("name", request.Name, EventLimits.MaxNameLength);
        CheckDescription(request.Description, errors);
        CheckRules(request.Properties ?? [], errors);
        if (errors.Any)
        {
            return errors.ToFailure();
        }

        if (await db.Set<EventDefinition>().AnyAsync(d => d.WorkspaceId == caller.WorkspaceId && d.Name == request.Name, ct))
        {
            return Failure.Conflict($"The event '{request.Name}' is already defined.");
        }

        var now = time.GetUtcNow();
        var definition = new EventDefinition
        {
            Id = Ids.New(time),
            WorkspaceId = caller.WorkspaceId,
            Name = request.Name!,
            Description = request.Description,
            Properties = JsonSerializer.Serialize(request.Properties ?? [], RulesJson),
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Set<EventDefinition>().Add(definition);
        var dto = ToDto(definition);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "event_definition.created", "event_definition", definition.Id.ToString(), null, dto);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            return Failure.Conflict($"The event '{request.Name}' is already defined.");
        }

        plans.Drop(caller.WorkspaceId);
        return dto;
    }

    /// <summary>Changes the description and the property rules; the name stays (renaming would orphan past events).</summary>
    public async Task<Result<EventDefinitionDto>> UpdateAsync(WorkspaceContext caller, Guid id, EventDefinitionRequest request, CancellationToken ct)
    {
        var definition = await db.Set<EventDefinition>().FirstOrDefaultAsync(d => d.WorkspaceId == caller.WorkspaceId && d.Id == id, ct);
        if (definition is null)
        {
            return Failure.NotFound("Event definition not found.");
        }

        if (!caller.Role.AtLeast(WorkspaceRole.Editor))
        {
            return Failure.Forbidden("Viewers cannot change the tracking plan.");
        }

        var errors = new FieldErrors();
        if (request.Name is not null && request.Name != definition.Name)
        {
            errors.Add("name", "An event definition cannot be renamed; define the new name and delete the old one.");
        }

        CheckDescription(request.Description, errors);
        if (request.Properties is not null)
        {
            CheckRules(request.Properties, errors);
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var before = ToDto(definition);
        definition.Description = request.Description ?? definition.Description;
        if (request.Properties is not null)
        {
            definition.Properties = JsonSerializer.Serialize(request.Properties, RulesJson);
        }

        definition.UpdatedAt = time.GetUtcNow();
        var after = ToDto(definition);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "event_definition.updated", "event_definition", definition.Id.ToString(), before, after);
        await db.SaveChangesAsync(ct);
        plans.Drop(caller.WorkspaceId);
        return after;
    }

    public async Task<Result<EventDefinitionDto>> DeleteAsync(WorkspaceContext caller, Guid id, CancellationToken ct)
    {
        var definition = await db.Set<EventDefinition>().FirstOrDefaultAsync(d => d.WorkspaceId == caller.WorkspaceId && d.Id == id, ct);
        if (definition is null)
        {
            return Failure.NotFound("Event definition not found.");
        }

        if (!caller.Role.AtLeast(WorkspaceRole.Editor))
        {
            return Failure.Forbidden("Viewers cannot change the tracking plan.");
        }

        var dto = ToDto(definition);
        db.Set<EventDefinition>().Remove(definition);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "event_definition.deleted", "event_definition", definition.Id.ToString(), dto, null);
        await db.SaveChangesAsync(ct);
        plans.Drop(caller.WorkspaceId);
        return dto;
    }

    public async Task<EventSettingsDto> GetSettingsAsync(Guid workspaceId, CancellationToken ct) =>
        await db.Set<EventSettings>().AsNoTracking().FirstOrDefaultAsync(s => s.WorkspaceId == workspaceId, ct) is { } s
            ? new EventSettingsDto(s.Validation, s.AllowUnplannedEvents)
            : new EventSettingsDto(EventValidation.Off, false);

    public async Task<Result<EventSettingsDto>> UpdateSettingsAsync(WorkspaceContext caller, EventSettingsRequest request, CancellationToken ct)
    {
        if (!caller.Role.AtLeast(WorkspaceRole.Admin))
        {
            return Failure.Forbidden("Only admins change how events are validated.");
        }

        EventValidation? validation = null;
        if (request.Validation is not null)
        {
            if (!Enum.TryParse<EventValidation>(request.Validation, ignoreCase: true, out var parsed) || int.TryParse(request.Validation, out _))
            {
                return Failure.Invalid("validation", "The validation is off, quarantine or reject.");
            }

            validation = parsed;
        }

        var settings = await db.Set<EventSettings>().FirstOrDefaultAsync(s => s.WorkspaceId == caller.WorkspaceId, ct);
        var before = settings is null ? new EventSettingsDto(EventValidation.Off, false) : new EventSettingsDto(settings.Validation, settings.AllowUnplannedEvents);
        if (settings is null)
        {
            settings = new EventSettings { WorkspaceId = caller.WorkspaceId, Validation = EventValidation.Off };
            db.Set<EventSettings>().Add(settings);
        }

        settings.Validation = validation ?? settings.Validation;
        settings.AllowUnplannedEvents = request.AllowUnplannedEvents ?? settings.AllowUnplannedEvents;
        settings.UpdatedAt = time.GetUtcNow();
        var after = new EventSettingsDto(settings.Validation, settings.AllowUnplannedEvents);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "event_settings.updated", "event_settings", caller.WorkspaceId.ToString(), before, after);
        await db.SaveChangesAsync(ct);
        plans.Drop(caller.WorkspaceId);
        return after;
    }

    internal static IReadOnlyList<PropertyRule> ParseRules(string json) =>
        JsonSerializer.Deserialize<List<PropertyRule>>(json, RulesJson) ?? [];

    private static EventDefinitionDto ToDto(EventDefinition d) => new(d.Id, d.Name, d.Description, ParseRules(d.Properties), d.CreatedAt, d.UpdatedAt);

    private static void CheckDescription(string? description, FieldErrors errors)
    {
        if (description is { Length: > 2000 })
        {
            errors.Add("description", "The description is at most 2000 characters.");
        }
    }

    private static void CheckRules(IReadOnlyList<PropertyRule> rules, FieldErrors errors)
    {
        if (rules.Count > MaxProperties)
        {
            errors.Add("properties", $"At most {MaxProperties} property rules per event.");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            var field = $"properties[{i}]";
            if (rule is null)
            {
                errors.Add(field, "A property rule is an object.");
                continue;
            }

            if (string.IsNullOrWhiteSpace(rule.Name) || rule.Name.Length > EventLimits.MaxNameLength)
            {
                errors.Add(field + ".name", $"A property rule needs a name of at most {EventLimits.MaxNameLength} characters.");
            }
            else if (!names.Add(rule.Name))
            {
                errors.Add(field + ".name", $"The property '{rule.Name}' has two rules.");
            }

            if (rule.Type is not null && !PropertyRule.Types.Contains(rule.Type))
            {
                errors.Add(field + ".type", $"The type is one of {string.Join(", ", PropertyRule.Types)}.");
            }

            if (rule.Minimum > rule.Maximum)
            {
                errors.Add(field + ".minimum", "The minimum must not exceed the maximum.");
            }

            if ((rule.Minimum is not null || rule.Maximum is not null) && rule.Type is not (null or "number" or "integer"))
            {
                errors.Add(field + ".minimum", "A range applies to number and integer properties.");
            }
        }
    }
}
