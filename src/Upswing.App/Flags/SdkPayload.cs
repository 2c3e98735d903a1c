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
/// Experiment rules linked to a managed experiment (by key) take its traffic settings and follow its lifecycle.
/// </summary>
public sealed class SdkPayloadBuilder(UpswingDb db, Experiments.ExperimentCatalogCache experiments)
{
    public async Task<SdkPayload> BuildAsync(Guid workspaceId, Guid environmentId, CancellationToken ct)
    {
        var features = await db.Set<Feature>().AsNoTracking()
            .Where(f => f.WorkspaceId == workspaceId && !f.Archived)
            .Join(db.Set<FeatureEnvironmentSettings>().Where(e => e.EnvironmentId == environmentId && e.Enabled), f => f.Id, e => e.FeatureId, (f, e) => new { Feature = f, e.Rules })
            .ToListAsync(ct);
        var groups = await db.Set<SavedGroup>().AsNoTracking().Where(g => g.WorkspaceId == workspaceId).ToListAsync(ct);
        var groupsByKey = groups.ToDictionary(g => g.Key, StringComparer.Ordinal);
        var catalog = await experiments.GetAsync(workspaceId, ct);

        var featuresJson = new JsonObject();
        var usedListGroups = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var row in features.OrderBy(r => r.Feature.Key, StringComparer.Ordinal))
        {
            var rules = new JsonArray();
            foreach (var rule in FeatureService.ParseRules(row.Rules).Where(r => r.Enabled))
            {
                if (ToGrowthBookRule(row.Feature.Key, rule, catalog, groupsByKey, usedListGroups) is { } json)
                {
                    rules.Add(json);
                }
            }

            var definition = new JsonObject { ["defaultValue"] = JsonNode.Parse(row.Feature.DefaultValue) };
            if (rules.Count > 0)
            {
                definition["rules"] = rules;
            }

            featuresJson[row.Feature.Key] = definition;
        }

        foreach (var (key, holdout) in catalog.HoldoutFeatures)
        {
            featuresJson[key] = holdout.DeepClone();
        }

        var savedGroups = new JsonObject();
        foreach (var key in usedListGroups)
        {
            savedGroups[key] = JsonNode.Parse(groupsByKey[key].Values);
        }

        foreach (var (key, values) in catalog.SavedGroups)
        {
            savedGroups[key] ??= values?.DeepClone();
        }

        // The newest change among what the payload holds; SDKs compare it to skip stale updates.
        var updated = features.Select(r => r.Feature.UpdatedAt).Concat(groups.Select(g => g.UpdatedAt)).Append(catalog.Updated).DefaultIfEmpty(DateTimeOffset.UnixEpoch).Max();
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

    /// <summary>The rule in GrowthBook's format, or null when it serves nobody now (its experiment is paused or over).</summary>
    private static JsonObject? ToGrowthBookRule(string featureKey, FeatureRule rule, Experiments.ExperimentCatalog catalog, Dictionary<string, SavedGroup> groups, SortedSet<string> usedListGroups)
    {
        var ruleCondition = rule.HasCondition ? JsonNode.Parse(rule.Condition!.Value.GetRawText()) : null;
        if (rule.Type == FeatureRuleType.Experiment && catalog.Experiments.TryGetValue(rule.ExperimentKey ?? featureKey, out var linked))
        {
            return LinkedExperimentRule(rule, ruleCondition, linked, groups, usedListGroups);
        }

        var json = new JsonObject { ["id"] = rule.Id };
        if (SavedGroupConditions.Combine([ruleCondition], rule.SavedGroups, groups, usedListGroups) is { } condition)
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

    /// <summary>
    /// A rule linked to a managed experiment: running, it is that experiment with the rule's values; stopped with
    /// a winner, it serves the winner's value to everyone it targets; paused or stopped without one, it is left out.
    /// </summary>
    private static JsonObject? LinkedExperimentRule(FeatureRule rule, JsonNode? ruleCondition, Experiments.ExperimentEntry experiment, Dictionary<string, SavedGroup> groups, SortedSet<string> usedListGroups)
    {
        var values = rule.Variations ?? [];
        if (values.Count != experiment.Variations.Count)
        {
            // The experiment's arms changed after the rule was written; serving a mismatched split would be wrong.
            return null;
        }

        var condition = SavedGroupConditions.Combine([ruleCondition], rule.SavedGroups, groups, usedListGroups);
        switch (experiment.Status)
        {
            case Experiments.ExperimentStatus.Running:
                var json = experiment.WithVariations(values.Select(v => Node(v)));
                json["id"] = rule.Id;
                if (condition is not null)
                {
                    json["condition"] = json["condition"] is { } own ? new JsonObject { ["$and"] = new JsonArray(own.DeepClone(), condition) } : condition;
                }

                return json;
            case Experiments.ExperimentStatus.Stopped when experiment.Winner is { } winner:
                var force = new JsonObject { ["id"] = rule.Id, ["force"] = Node(values[winner]) };
                var targeting = experiment.Rule["condition"] is { } own2 ? condition is null ? own2.DeepClone() : new JsonObject { ["$and"] = new JsonArray(own2.DeepClone(), condition) } : condition;
                if (targeting is not null)
                {
                    force["condition"] = targeting;
                }

                return force;
            default:
                return null;
        }
    }

    private static JsonNode? Node(JsonElement? value) => value is { } v ? JsonNode.Parse(v.GetRawText()) : null;

    private static double[] EqualWeights(int n) => n <= 0 ? [] : Enumerable.Repeat(1.0 / n, n).ToArray();
}
