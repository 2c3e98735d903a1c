using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Upswing.Access;
using Upswing.Audit;
using Upswing.Common;
using Upswing.Data;

namespace Upswing.Flags;

/// <summary>A feature as the API shows it, with its settings in every environment of the workspace.</summary>
public sealed record FeatureDto(
    Guid Id, string Key, FeatureValueType ValueType, JsonElement DefaultValue, string? Description, IReadOnlyList<string> Tags,
    bool Archived, int Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyDictionary<string, FeatureEnvironmentDto> Environments);

/// <summary>A feature's settings in one environment.</summary>
public sealed record FeatureEnvironmentDto(bool Enabled, IReadOnlyList<FeatureRule> Rules);

/// <summary>Body of POST /api/v1/features.</summary>
public sealed record CreateFeatureRequest(
    string? Key, string? ValueType, JsonElement? DefaultValue, string? Description, IReadOnlyList<string>? Tags,
    Dictionary<string, FeatureEnvironmentRequest>? Environments);

/// <summary>Body of PATCH /api/v1/features/{key}: only the fields present change.</summary>
public sealed record UpdateFeatureRequest(JsonElement? DefaultValue, string? Description, IReadOnlyList<string>? Tags, bool? Archived);

/// <summary>Body of PUT /api/v1/features/{key}/environments/{environment}: the environment's switch and its whole rule list.</summary>
public sealed record FeatureEnvironmentRequest(bool? Enabled, IReadOnlyList<FeatureRule>? Rules);

/// <summary>Creates, changes and lists feature flags; validates values against the feature's type and rules against the workspace.</summary>
public sealed class FeatureService(UpswingDb db, AuditLog audit, TimeProvider time, FlagChangeFeed changes)
{
    public const int MaxRulesPerEnvironment = 100;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public async Task<IReadOnlyList<FeatureDto>> ListAsync(Guid workspaceId, bool includeArchived, CancellationToken ct)
    {
        var features = await db.Set<Feature>().AsNoTracking().Include(f => f.Environments)
            .Where(f => f.WorkspaceId == workspaceId && (includeArchived || !f.Archived)).OrderBy(f => f.Key).ToListAsync(ct);
        var environments = await EnvironmentsAsync(workspaceId, ct);
        return features.ConvertAll(f => ToDto(f, environments));
    }

    public async Task<FeatureDto?> GetAsync(Guid workspaceId, string key, CancellationToken ct)
    {
        var feature = await db.Set<Feature>().AsNoTracking().Include(f => f.Environments).FirstOrDefaultAsync(f => f.WorkspaceId == workspaceId && f.Key == key, ct);
        return feature is null ? null : ToDto(feature, await EnvironmentsAsync(workspaceId, ct));
    }

    public async Task<Result<FeatureDto>> CreateAsync(WorkspaceContext caller, CreateFeatureRequest request, CancellationToken ct)
    {
        if (!caller.Role.AtLeast(WorkspaceRole.Editor))
        {
            return Failure.Forbidden("Viewers cannot change features.");
        }

        var errors = new FieldErrors();
        FlagKeys.Check("key", request.Key, errors);

        var valueType = ParseValueType(request.ValueType, errors);
        if (request.DefaultValue is not { } defaultValue)
        {
            errors.Add("defaultValue", "The defaultValue field is required.");
        }
        else if (valueType is { } type)
        {
            CheckValue("defaultValue", defaultValue, type, errors);
        }

        CheckDescriptionAndTags(request.Description, request.Tags, errors);
        var environments = await EnvironmentsAsync(caller.WorkspaceId, ct);
        var groups = await SavedGroupKeysAsync(caller.WorkspaceId, ct);
        var experiments = await ExperimentArmsAsync(caller.WorkspaceId, ct);
        var settings = new Dictionary<Guid, (bool Enabled, List<FeatureRule> Rules)>();
        foreach (var (envKey, envRequest) in request.Environments ?? [])
        {
            if (environments.FirstOrDefault(e => e.Value == envKey) is not { Value: not null } env)
            {
                errors.Add($"environments.{envKey}", $"The workspace has no environment '{envKey}'.");
                continue;
            }

            settings[env.Key] = (envRequest.Enabled ?? true, CheckRules($"environments.{envKey}.rules", envRequest.Rules, new RuleScope(request.Key ?? "", valueType, groups, experiments), errors));
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        if (await db.Set<Feature>().AnyAsync(f => f.WorkspaceId == caller.WorkspaceId && f.Key == request.Key, ct))
        {
            return Failure.Conflict($"A feature with key '{request.Key}' already exists.");
        }

        var now = time.GetUtcNow();
        var feature = new Feature
        {
            Id = Ids.New(time),
            WorkspaceId = caller.WorkspaceId,
            Key = request.Key!,
            ValueType = valueType!.Value,
            DefaultValue = request.DefaultValue!.Value.GetRawText(),
            Description = request.Description,
            Tags = JsonSerializer.Serialize(request.Tags ?? [], Json),
            Version = 1,
            CreatedAt = now,
            UpdatedAt = now,
        };
        foreach (var envId in environments.Keys)
        {
            // Environments not mentioned serve the default value: switched on, no rules.
            var (enabled, rules) = settings.TryGetValue(envId, out var s) ? s : (true, []);
            feature.Environments.Add(new FeatureEnvironmentSettings { FeatureId = feature.Id, EnvironmentId = envId, Enabled = enabled, Rules = JsonSerializer.Serialize(rules, Json) });
        }

        db.Set<Feature>().Add(feature);
        var dto = ToDto(feature, environments);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "feature.created", "feature", feature.Key, null, dto);
        return await SaveAsync(caller, dto, $"A feature with key '{request.Key}' already exists.", ct);
    }

    public async Task<Result<FeatureDto>> UpdateAsync(WorkspaceContext caller, string key, UpdateFeatureRequest request, CancellationToken ct)
    {
        var (feature, failure) = await LoadForWriteAsync(caller, key, ct);
        if (feature is null)
        {
            return failure!;
        }

        var errors = new FieldErrors();
        if (request.DefaultValue is { } value)
        {
            CheckValue("defaultValue", value, feature.ValueType, errors);
        }

        CheckDescriptionAndTags(request.Description, request.Tags, errors);
        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var environments = await EnvironmentsAsync(caller.WorkspaceId, ct);
        var before = ToDto(feature, environments);
        feature.DefaultValue = request.DefaultValue?.GetRawText() ?? feature.DefaultValue;
        feature.Description = request.Description ?? feature.Description;
        feature.Tags = request.Tags is null ? feature.Tags : JsonSerializer.Serialize(request.Tags, Json);
        feature.Archived = request.Archived ?? feature.Archived;
        Touch(feature);
        var after = ToDto(feature, environments);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "feature.updated", "feature", feature.Key, before, after);
        return await SaveAsync(caller, after, null, ct);
    }

    /// <summary>Replaces a feature's switch and rules in one environment.</summary>
    public async Task<Result<FeatureDto>> SetEnvironmentAsync(WorkspaceContext caller, string key, string environment, FeatureEnvironmentRequest request, CancellationToken ct)
    {
        var (feature, failure) = await LoadForWriteAsync(caller, key, ct);
        if (feature is null)
        {
            return failure!;
        }

        var environments = await EnvironmentsAsync(caller.WorkspaceId, ct);
        if (environments.FirstOrDefault(e => e.Value == environment) is not { Value: not null } env)
        {
            return Failure.NotFound($"The workspace has no environment '{environment}'.");
        }

        var errors = new FieldErrors();
        var scope = new RuleScope(feature.Key, feature.ValueType, await SavedGroupKeysAsync(caller.WorkspaceId, ct), await ExperimentArmsAsync(caller.WorkspaceId, ct));
        var rules = CheckRules("rules", request.Rules, scope, errors);
        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var before = ToDto(feature, environments);
        var settings = feature.Environments.FirstOrDefault(e => e.EnvironmentId == env.Key);
        if (settings is null)
        {
            settings = new FeatureEnvironmentSettings { FeatureId = feature.Id, EnvironmentId = env.Key };
            feature.Environments.Add(settings);
        }

        settings.Enabled = request.Enabled ?? settings.Enabled;
        settings.Rules = request.Rules is null ? settings.Rules : JsonSerializer.Serialize(rules, Json);
        Touch(feature);
        var after = ToDto(feature, environments);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "feature.environment_changed", "feature", feature.Key, before.Environments[environment], after.Environments[environment]);
        return await SaveAsync(caller, after, null, ct);
    }

    public async Task<Result<FeatureDto>> DeleteAsync(WorkspaceContext caller, string key, CancellationToken ct)
    {
        var (feature, failure) = await LoadForWriteAsync(caller, key, ct);
        if (feature is null)
        {
            return failure!;
        }

        var dto = ToDto(feature, await EnvironmentsAsync(caller.WorkspaceId, ct));
        db.Set<Feature>().Remove(feature);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "feature.deleted", "feature", feature.Key, dto, null);
        await db.SaveChangesAsync(ct);
        await changes.PublishAsync(caller.WorkspaceId, ct);
        return dto;
    }

    private async Task<(Feature? Feature, Failure? Failure)> LoadForWriteAsync(WorkspaceContext caller, string key, CancellationToken ct)
    {
        var feature = await db.Set<Feature>().Include(f => f.Environments).FirstOrDefaultAsync(f => f.WorkspaceId == caller.WorkspaceId && f.Key == key, ct);
        if (feature is null)
        {
            return (null, Failure.NotFound($"No feature with key '{key}'."));
        }

        return caller.Role.AtLeast(WorkspaceRole.Editor) ? (feature, null) : (null, Failure.Forbidden("Viewers cannot change features."));
    }

    private void Touch(Feature feature)
    {
        feature.Version++;
        feature.UpdatedAt = time.GetUtcNow();
    }

    private async Task<Result<FeatureDto>> SaveAsync(WorkspaceContext caller, FeatureDto dto, string? conflict, CancellationToken ct) =>
        await changes.CommitAsync(db, caller.WorkspaceId, conflict, ct) is { } failure ? failure : dto;

    private static FeatureValueType? ParseValueType(string? text, FieldErrors errors)
    {
        if (Enum.TryParse<FeatureValueType>(text, ignoreCase: true, out var type) && !int.TryParse(text, out _))
        {
            return type;
        }

        errors.Add("valueType", "The valueType must be boolean, string, number or json.");
        return null;
    }

    private static void CheckValue(string field, JsonElement value, FeatureValueType type, FieldErrors errors)
    {
        var ok = type switch
        {
            FeatureValueType.Boolean => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
            FeatureValueType.String => value.ValueKind == JsonValueKind.String,
            FeatureValueType.Number => value.ValueKind == JsonValueKind.Number,
            _ => value.ValueKind is not JsonValueKind.Undefined,
        };
        if (!ok)
        {
            errors.Add(field, $"The value must be a {type.ToString().ToLowerInvariant()}.");
        }
    }

    private static void CheckDescriptionAndTags(string? description, IReadOnlyList<string>? tags, FieldErrors errors)
    {
        if (description is { Length: > 2000 })
        {
            errors.Add("description", "The description must be at most 2000 characters.");
        }

        if (tags is not null && (tags.Count > 20 || tags.Any(t => string.IsNullOrWhiteSpace(t) || t.Length > 50)))
        {
            errors.Add("tags", "Up to 20 tags of 1–50 characters.");
        }
    }

    /// <summary>Validates a rule list and fills in ids; returns the rules to store.</summary>
    /// <summary>What rules are checked against: the feature, its value type, the workspace's saved groups, and its experiments' arm counts.</summary>
    private sealed record RuleScope(string FeatureKey, FeatureValueType? Type, HashSet<string> Groups, Dictionary<string, int> ExperimentArms);

    private static List<FeatureRule> CheckRules(string path, IReadOnlyList<FeatureRule>? rules, RuleScope scope, FieldErrors errors)
    {
        if (rules is null)
        {
            return [];
        }

        if (rules.Count > MaxRulesPerEnvironment)
        {
            errors.Add(path, $"At most {MaxRulesPerEnvironment} rules per environment.");
            return [];
        }

        var result = new List<FeatureRule>(rules.Count);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            var at = $"{path}[{i}]";
            if (rule is null)
            {
                errors.Add(at, "A rule cannot be null.");
                continue;
            }

            var id = rule.Id ?? "fr_" + Secrets.RandomToken(10);
            if (!FlagKeys.Pattern().IsMatch(id) || !ids.Add(id))
            {
                errors.Add($"{at}.id", "Rule ids are unique within an environment and use the key alphabet.");
            }

            if (rule.HasCondition && rule.Condition!.Value.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"{at}.condition", "A condition is a JSON object.");
            }

            foreach (var group in rule.SavedGroups ?? [])
            {
                if (!scope.Groups.Contains(group))
                {
                    errors.Add($"{at}.savedGroups", $"No saved group with key '{group}'.");
                }
            }

            if (rule.Coverage is { } coverage && (double.IsNaN(coverage) || coverage is < 0 or > 1))
            {
                errors.Add($"{at}.coverage", "Coverage is between 0 and 1.");
            }

            if (rule.HashAttribute is { } hash && (hash.Length is 0 or > 100))
            {
                errors.Add($"{at}.hashAttribute", "The hash attribute is 1–100 characters.");
            }

            CheckRuleShape(at, rule, scope.Type, errors);
            if (rule.Type == FeatureRuleType.Experiment && scope.ExperimentArms.TryGetValue(rule.ExperimentKey ?? scope.FeatureKey, out var arms) && rule.Variations?.Count != arms)
            {
                errors.Add($"{at}.variations", $"Experiment '{rule.ExperimentKey ?? scope.FeatureKey}' has {arms} variations; give one value for each, in order.");
            }

            result.Add(rule with { Id = id });
        }

        return result;
    }

    private static void CheckRuleShape(string at, FeatureRule rule, FeatureValueType? type, FieldErrors errors)
    {
        switch (rule.Type)
        {
            case FeatureRuleType.Force or FeatureRuleType.Rollout:
                if (rule.Value is not { } value)
                {
                    errors.Add($"{at}.value", "Force and rollout rules need a value.");
                }
                else if (type is { } t)
                {
                    CheckValue($"{at}.value", value, t, errors);
                }

                if (rule.Type == FeatureRuleType.Rollout && rule.Coverage is null)
                {
                    errors.Add($"{at}.coverage", "A rollout needs a coverage between 0 and 1.");
                }

                break;
            case FeatureRuleType.Experiment:
                if (rule.Variations is not { Count: >= 2 } variations)
                {
                    errors.Add($"{at}.variations", "An experiment needs at least two variations.");
                    break;
                }

                for (var v = 0; v < variations.Count && type is { } t; v++)
                {
                    CheckValue($"{at}.variations[{v}]", variations[v], t, errors);
                }

                if (rule.Weights is { } weights
                    && (weights.Count != variations.Count || weights.Any(w => double.IsNaN(w) || w < 0) || Math.Abs(weights.Sum() - 1) > 0.001))
                {
                    errors.Add($"{at}.weights", "One weight per variation, each at least 0, summing to 1.");
                }

                if (rule.ExperimentKey is { } key && !FlagKeys.Pattern().IsMatch(key))
                {
                    errors.Add($"{at}.experimentKey", "The experiment key uses the key alphabet.");
                }

                break;
            default:
                errors.Add($"{at}.type", "The type must be force, rollout or experiment.");
                break;
        }
    }

    private async Task<Dictionary<Guid, string>> EnvironmentsAsync(Guid workspaceId, CancellationToken ct) =>
        await db.Environments.AsNoTracking().Where(e => e.WorkspaceId == workspaceId).ToDictionaryAsync(e => e.Id, e => e.Key, ct);

    private async Task<HashSet<string>> SavedGroupKeysAsync(Guid workspaceId, CancellationToken ct) =>
        (await db.Set<SavedGroup>().AsNoTracking().Where(g => g.WorkspaceId == workspaceId).Select(g => g.Key).ToListAsync(ct)).ToHashSet(StringComparer.Ordinal);

    private async Task<Dictionary<string, int>> ExperimentArmsAsync(Guid workspaceId, CancellationToken ct) =>
        (await db.Set<Experiments.Experiment>().AsNoTracking().Where(e => e.WorkspaceId == workspaceId).Select(e => new { e.Key, e.Variations }).ToListAsync(ct))
            .ToDictionary(e => e.Key, e => JsonSerializer.Deserialize<JsonElement>(e.Variations).GetArrayLength(), StringComparer.Ordinal);

    internal static IReadOnlyList<FeatureRule> ParseRules(string json) => JsonSerializer.Deserialize<List<FeatureRule>>(json, Json) ?? [];

    private static FeatureDto ToDto(Feature f, Dictionary<Guid, string> environments) => new(
        f.Id, f.Key, f.ValueType, JsonSerializer.Deserialize<JsonElement>(f.DefaultValue), f.Description,
        JsonSerializer.Deserialize<List<string>>(f.Tags) ?? [], f.Archived, f.Version, f.CreatedAt, f.UpdatedAt,
        environments.ToDictionary(
            e => e.Value,
            e => f.Environments.FirstOrDefault(s => s.EnvironmentId == e.Key) is { } s
                ? new FeatureEnvironmentDto(s.Enabled, ParseRules(s.Rules))
                : new FeatureEnvironmentDto(true, []),
            StringComparer.Ordinal));
}
