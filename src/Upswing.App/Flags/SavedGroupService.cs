using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Upswing.Access;
using Upswing.Audit;
using Upswing.Common;
using Upswing.Data;

namespace Upswing.Flags;

/// <summary>A saved group as the API shows it.</summary>
public sealed record SavedGroupDto(
    Guid Id, string Key, string Name, SavedGroupType Type, string? AttributeKey, IReadOnlyList<JsonElement> Values, JsonElement? Condition,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>Body of POST and PATCH /api/v1/saved-groups.</summary>
public sealed record SavedGroupRequest(string? Key, string? Name, string? Type, string? AttributeKey, IReadOnlyList<JsonElement>? Values, JsonElement? Condition);

/// <summary>Saved groups: named audiences that feature rules reference by key.</summary>
public sealed class SavedGroupService(UpswingDb db, AuditLog audit, TimeProvider time, FlagChangeFeed changes)
{
    public const int MaxValues = 10_000;

    public async Task<IReadOnlyList<SavedGroupDto>> ListAsync(Guid workspaceId, CancellationToken ct) =>
        (await db.Set<SavedGroup>().AsNoTracking().Where(g => g.WorkspaceId == workspaceId).OrderBy(g => g.Key).ToListAsync(ct)).ConvertAll(ToDto);

    public async Task<SavedGroupDto?> GetAsync(Guid workspaceId, Guid id, CancellationToken ct) =>
        await db.Set<SavedGroup>().AsNoTracking().FirstOrDefaultAsync(g => g.WorkspaceId == workspaceId && g.Id == id, ct) is { } g ? ToDto(g) : null;

    public async Task<Result<SavedGroupDto>> CreateAsync(WorkspaceContext caller, SavedGroupRequest request, CancellationToken ct)
    {
        if (!caller.Role.AtLeast(WorkspaceRole.Editor))
        {
            return Failure.Forbidden("Viewers cannot change saved groups.");
        }

        var errors = new FieldErrors();
        FlagKeys.Check("key", request.Key, errors);

        errors.Require("name", request.Name, 200);
        var type = ParseType(request.Type, errors);
        if (type is { } t)
        {
            CheckDefinition(t, request.AttributeKey, request.Values, request.Condition, errors);
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        if (await db.Set<SavedGroup>().AnyAsync(g => g.WorkspaceId == caller.WorkspaceId && g.Key == request.Key, ct))
        {
            return Failure.Conflict($"A saved group with key '{request.Key}' already exists.");
        }

        var now = time.GetUtcNow();
        var group = new SavedGroup
        {
            Id = Ids.New(time),
            WorkspaceId = caller.WorkspaceId,
            Key = request.Key!,
            Name = request.Name!.Trim(),
            Type = type!.Value,
            CreatedAt = now,
            UpdatedAt = now,
        };
        Apply(group, request);
        db.Set<SavedGroup>().Add(group);
        var dto = ToDto(group);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "saved_group.created", "saved_group", group.Id.ToString(), null, dto);
        return await changes.CommitAsync(db, caller.WorkspaceId, $"A saved group with key '{request.Key}' already exists.", ct) is { } failure ? failure : dto;
    }

    /// <summary>Changes name and definition; the key and type stay (rules refer to the key).</summary>
    public async Task<Result<SavedGroupDto>> UpdateAsync(WorkspaceContext caller, Guid id, SavedGroupRequest request, CancellationToken ct)
    {
        var group = await db.Set<SavedGroup>().FirstOrDefaultAsync(g => g.WorkspaceId == caller.WorkspaceId && g.Id == id, ct);
        if (group is null)
        {
            return Failure.NotFound("Saved group not found.");
        }

        if (!caller.Role.AtLeast(WorkspaceRole.Editor))
        {
            return Failure.Forbidden("Viewers cannot change saved groups.");
        }

        var errors = new FieldErrors();
        if (request.Key is not null && request.Key != group.Key)
        {
            errors.Add("key", "The key of a saved group cannot change; rules refer to it.");
        }

        if (request.Type is not null && !string.Equals(request.Type, group.Type.ToString(), StringComparison.OrdinalIgnoreCase))
        {
            errors.Add("type", "The type of a saved group cannot change; create a new group.");
        }

        if (request.Name is not null)
        {
            errors.Require("name", request.Name, 200);
        }

        var before = ToDto(group);
        CheckDefinition(group.Type, request.AttributeKey ?? group.AttributeKey, request.Values ?? before.Values, request.Condition ?? before.Condition, errors);
        if (errors.Any)
        {
            return errors.ToFailure();
        }

        group.Name = request.Name?.Trim() ?? group.Name;
        Apply(group, request);
        group.UpdatedAt = time.GetUtcNow();
        var after = ToDto(group);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "saved_group.updated", "saved_group", group.Id.ToString(), before, after);
        await db.SaveChangesAsync(ct);
        await changes.PublishAsync(caller.WorkspaceId, ct);
        return after;
    }

    /// <summary>Deletes a group that no rule or experiment uses; a group in use is a 409 naming its users.</summary>
    public async Task<Result<SavedGroupDto>> DeleteAsync(WorkspaceContext caller, Guid id, CancellationToken ct)
    {
        var group = await db.Set<SavedGroup>().FirstOrDefaultAsync(g => g.WorkspaceId == caller.WorkspaceId && g.Id == id, ct);
        if (group is null)
        {
            return Failure.NotFound("Saved group not found.");
        }

        if (!caller.Role.AtLeast(WorkspaceRole.Editor))
        {
            return Failure.Forbidden("Viewers cannot change saved groups.");
        }

        // A plain join: SQLite cannot run the APPLY a correlated SelectMany would need.
        var settings = await db.Set<FeatureEnvironmentSettings>().AsNoTracking()
            .Join(db.Set<Feature>().Where(f => f.WorkspaceId == caller.WorkspaceId), e => e.FeatureId, f => f.Id, (e, f) => new { f.Key, e.Rules })
            .ToListAsync(ct);
        var users = settings.Where(s => FeatureService.ParseRules(s.Rules).Any(r => r.SavedGroups?.Contains(group.Key) == true))
            .Select(s => s.Key).Distinct().Order(StringComparer.Ordinal).ToList();
        var experiments = await db.Set<Experiments.Experiment>().AsNoTracking().Where(e => e.WorkspaceId == caller.WorkspaceId).Select(e => new { e.Key, e.SavedGroups }).ToListAsync(ct);
        users.AddRange(experiments.Where(e => JsonSerializer.Deserialize<List<string>>(e.SavedGroups)?.Contains(group.Key) == true).Select(e => $"experiment {e.Key}").Order(StringComparer.Ordinal));
        if (users.Count > 0)
        {
            return Failure.Conflict($"The saved group '{group.Key}' is used by: {string.Join(", ", users)}.");
        }

        var dto = ToDto(group);
        db.Set<SavedGroup>().Remove(group);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "saved_group.deleted", "saved_group", group.Id.ToString(), dto, null);
        await db.SaveChangesAsync(ct);
        await changes.PublishAsync(caller.WorkspaceId, ct);
        return dto;
    }

    private static SavedGroupType? ParseType(string? text, FieldErrors errors)
    {
        if (Enum.TryParse<SavedGroupType>(text, ignoreCase: true, out var type) && !int.TryParse(text, out _))
        {
            return type;
        }

        errors.Add("type", "The type must be list or condition.");
        return null;
    }

    private static void CheckDefinition(SavedGroupType type, string? attributeKey, IReadOnlyList<JsonElement>? values, JsonElement? condition, FieldErrors errors)
    {
        if (type == SavedGroupType.List)
        {
            if (string.IsNullOrWhiteSpace(attributeKey) || attributeKey.Length > 200)
            {
                errors.Add("attributeKey", "A list group needs the attribute (1–200 characters) whose value is looked up.");
            }

            if (values is null || values.Count > MaxValues || values.Any(v => v.ValueKind is not (JsonValueKind.String or JsonValueKind.Number)))
            {
                errors.Add("values", $"A list group needs up to {MaxValues} string or number values.");
            }
        }
        else if (condition is not { ValueKind: JsonValueKind.Object })
        {
            errors.Add("condition", "A condition group needs a condition (a JSON object).");
        }
    }

    private static void Apply(SavedGroup group, SavedGroupRequest request)
    {
        if (group.Type == SavedGroupType.List)
        {
            group.AttributeKey = request.AttributeKey ?? group.AttributeKey;
            group.Values = request.Values is null ? group.Values : JsonSerializer.Serialize(request.Values.Select(v => v.Clone()).Distinct(JsonElementText.Comparer));
        }
        else
        {
            group.Condition = request.Condition?.GetRawText() ?? group.Condition;
        }
    }

    private static SavedGroupDto ToDto(SavedGroup g) => new(
        g.Id, g.Key, g.Name, g.Type, g.AttributeKey, JsonSerializer.Deserialize<List<JsonElement>>(g.Values) ?? [],
        g.Condition is null ? null : JsonSerializer.Deserialize<JsonElement>(g.Condition), g.CreatedAt, g.UpdatedAt);

    /// <summary>Compares JSON values by their text, so a list keeps each value once.</summary>
    private sealed class JsonElementText : IEqualityComparer<JsonElement>
    {
        public static readonly JsonElementText Comparer = new();

        public bool Equals(JsonElement x, JsonElement y) => x.GetRawText() == y.GetRawText();

        public int GetHashCode(JsonElement obj) => obj.GetRawText().GetHashCode(StringComparison.Ordinal);
    }
}
