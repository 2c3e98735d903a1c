using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Upswing.Data;

namespace Upswing.Flags;

/// <summary>A built SDK payload: the exact bytes served, their ETag, and (parsed once, on first use) the evaluation model.</summary>
public sealed record SdkPayload(byte[] Json, string ETag, DateTimeOffset DateUpdated)
{
    private Evaluation.EvaluationContext? model;

    /// <summary>Features and saved groups ready for the evaluator; per-user contexts derive from it with `with`.</summary>
    public Evaluation.EvaluationContext Model => model ??= Parse(Json);

    private static Evaluation.EvaluationContext Parse(byte[] json)
    {
        var payload = JsonNode.Parse(json)!.AsObject();
        return new Evaluation.EvaluationContext
        {
            Features = Evaluation.GrowthBookJson.ParseFeatures(payload["features"]!.AsObject()),
            SavedGroups = payload["savedGroups"] is JsonObject groups ? Evaluation.GrowthBookJson.ParseSavedGroups(groups) : null,
        };
    }
}

/// <summary>
/// Builds the payload GrowthBook SDKs fetch from /api/features/{clientKey}: every feature switched on in the
/// key's environment, with its rules in GrowthBook's format, and the list saved groups its conditions use.
/// </summary>
public sealed class SdkPayloadBuilder(UpswingDb db)
{
    public async Task<SdkPayload> BuildAsync(Guid workspaceId, Guid environmentId, CancellationToken ct)
    {
        var features = await db.Set<Feature>().AsNoTracking()
            .Where(f => f.WorkspaceId == workspaceId && !f.Archived)
            .Join(db.Set<FeatureEnvironmentSettings>().Where(e => e.EnvironmentId == environmentId && e.Enabled), f => f.Id, e => e.FeatureId, (f, e) => new { Feature = f, e.Rules })
            .ToListAsync(ct);
        var groups = await db.Set<SavedGroup>().AsNoTracking().Where(g => g.WorkspaceId == workspaceId).ToListAsync(ct);
        var groupsByKey = groups.ToDictionary(g => g.Key, StringComparer.Ordinal);

        var featuresJson = new JsonObject();
        var usedListGroups = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var row in features.OrderBy(r => r.Feature.Key, StringComparer.Ordinal))
        {
            var rules = new JsonArray();
            foreach (var rule in FeatureService.ParseRules(row.Rules).Where(r => r.Enabled))
            {
                rules.Add(ToGrowthBookRule(row.Feature.Key, rule, groupsByKey, usedListGroups));
            }

            var definition = new JsonObject { ["defaultValue"] = JsonNode.Parse(row.Feature.DefaultValue) };
            if (rules.Count > 0)
            {
                definition["rules"] = rules;
            }

            featuresJson[row.Feature.Key] = definition;
        }

        var savedGroups = new JsonObject();
        foreach (var key in usedListGroups)
        {
            savedGroups[key] = JsonNode.Parse(groupsByKey[key].Values);
        }

        // The newest change among what the payload holds; SDKs compare it to skip stale updates.
        var updated = features.Select(r => r.Feature.UpdatedAt).Concat(groups.Select(g => g.UpdatedAt)).DefaultIfEmpty(DateTimeOffset.UnixEpoch).Max();
        var payload = new JsonObject
        {
            ["status"] = 200,
            ["features"] = featuresJson,
            ["experiments"] = new JsonArray(),
            ["savedGroups"] = savedGroups,
            ["dateUpdated"] = updated.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
        };
        var bytes = JsonSerializer.SerializeToUtf8Bytes(payload);
        var etag = Common.Http.ETags.For(bytes);
        return new SdkPayload(bytes, etag, updated);
    }

    private static JsonObject ToGrowthBookRule(string featureKey, FeatureRule rule, Dictionary<string, SavedGroup> groups, SortedSet<string> usedListGroups)
    {
        var json = new JsonObject { ["id"] = rule.Id };
        if (Condition(rule, groups, usedListGroups) is { } condition)
        {
            json["condition"] = condition;
        }

        switch (rule.Type)
        {
            case FeatureRuleType.Force:
                json["force"] = Node(rule.Value);
                break;
            case FeatureRuleType.Rollout:
                // GrowthBook spells a rollout as a forced value with a coverage over a hashed attribute.
                json["force"] = Node(rule.Value);
                json["coverage"] = rule.Coverage ?? 1;
                json["hashAttribute"] = rule.HashAttribute ?? "id";
                break;
            case FeatureRuleType.Experiment:
                var variations = rule.Variations ?? [];
                json["key"] = rule.ExperimentKey ?? featureKey;
                json["variations"] = new JsonArray(variations.Select(v => Node(v)).ToArray());
                json["weights"] = new JsonArray((rule.Weights ?? EqualWeights(variations.Count)).Select(w => (JsonNode?)JsonValue.Create(w)).ToArray());
                json["coverage"] = rule.Coverage ?? 1;
                json["hashAttribute"] = rule.HashAttribute ?? "id";
                if (rule.FallbackAttribute is { } fallback)
                {
                    json["fallbackAttribute"] = fallback;
                }

                json["hashVersion"] = 2;
                json["meta"] = new JsonArray(Enumerable.Range(0, variations.Count).Select(i => (JsonNode?)new JsonObject { ["key"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) }).ToArray());
                break;
        }

        return json;
    }

    /// <summary>The rule's condition and its saved groups, combined with $and (list groups as $inGroup, condition groups inline).</summary>
    private static JsonNode? Condition(FeatureRule rule, Dictionary<string, SavedGroup> groups, SortedSet<string> usedListGroups)
    {
        var parts = new List<JsonNode>();
        if (rule.HasCondition)
        {
            parts.Add(JsonNode.Parse(rule.Condition!.Value.GetRawText())!);
        }

        foreach (var key in rule.SavedGroups ?? [])
        {
            if (!groups.TryGetValue(key, out var group))
            {
                // Validation keeps references intact; a group deleted meanwhile matches nobody rather than everybody.
                parts.Add(new JsonObject { ["$not"] = new JsonObject() });
                continue;
            }

            if (group.Type == SavedGroupType.List)
            {
                usedListGroups.Add(group.Key);
                parts.Add(new JsonObject { [group.AttributeKey!] = new JsonObject { ["$inGroup"] = group.Key } });
            }
            else if (group.Condition is not null)
            {
                parts.Add(JsonNode.Parse(group.Condition)!);
            }
        }

        return parts.Count switch
        {
            0 => null,
            1 => parts[0],
            _ => new JsonObject { ["$and"] = new JsonArray([.. parts]) },
        };
    }

    private static JsonNode? Node(JsonElement? value) => value is { } v ? JsonNode.Parse(v.GetRawText()) : null;

    private static double[] EqualWeights(int n) => n <= 0 ? [] : Enumerable.Repeat(1.0 / n, n).ToArray();
}
