using System.Text.Json;
using Upswing.Common;
using Upswing.Flags;

namespace Upswing.Server.Components.Flags;

/// <summary>The rule editor's fields as typed, to fill the form again and to build the rule the service validates.</summary>
internal sealed class RuleForm
{
    public const int MinVariationRows = 3;

    public string? Id { get; set; }

    public string Type { get; set; } = "force";

    public string? Description { get; set; }

    public string? Condition { get; set; }

    public List<string> SavedGroups { get; set; } = [];

    public string? Value { get; set; }

    public string? Coverage { get; set; }

    public string? HashAttribute { get; set; }

    public string? ExperimentKey { get; set; }

    public List<(string? Value, string? Weight)> Variations { get; set; } = [];

    public bool Enabled { get; set; } = true;

    /// <summary>Variation rows to show: the filled ones and blanks up to at least <see cref="MinVariationRows"/>, always one spare.</summary>
    public IEnumerable<(string? Value, string? Weight)> VariationRows =>
        Variations.Concat(Enumerable.Repeat<(string?, string?)>((null, null), Math.Max(1, MinVariationRows - Variations.Count)));

    public static RuleForm For(FeatureDto feature) => new()
    {
        Value = feature.ValueType == FeatureValueType.Boolean ? "true" : null,
        Coverage = "100",
    };

    public static RuleForm From(FeatureRule rule, FeatureValueType type) => new()
    {
        Id = rule.Id,
        Type = rule.Type.ToString().ToLowerInvariant(),
        Description = rule.Description,
        Condition = rule.HasCondition ? FlagForms.Pretty(rule.Condition) : null,
        SavedGroups = rule.SavedGroups?.ToList() ?? [],
        Value = FlagForms.ToInput(rule.Value, type),
        Coverage = FlagForms.Percent(rule.Coverage ?? (rule.Type == FeatureRuleType.Force ? null : 1)),
        HashAttribute = rule.HashAttribute,
        ExperimentKey = rule.ExperimentKey,
        Variations = (rule.Variations ?? []).Select((v, i) => ((string?)FlagForms.ToInput(v, type), (string?)(rule.Weights is { } w && i < w.Count ? FlagForms.Percent(w[i]) : null))).ToList(),
        Enabled = rule.Enabled,
    };

    public static RuleForm From(IFormCollection form)
    {
        var rows = new List<(string?, string?)>();
        for (var i = 0; i < 50 && (form.ContainsKey($"VariationValue_{i}") || form.ContainsKey($"VariationWeight_{i}")); i++)
        {
            var value = form[$"VariationValue_{i}"].ToString();
            var weight = form[$"VariationWeight_{i}"].ToString();
            if (value.Length > 0 || weight.Trim().Length > 0)
            {
                rows.Add((value, weight));
            }
        }

        return new RuleForm
        {
            Id = NullIfBlank(form["RuleId"]),
            Type = form["Type"].ToString(),
            Description = form["Description"].ToString(),
            Condition = form["Condition"].ToString(),
            SavedGroups = form["SavedGroups"].Where(g => !string.IsNullOrEmpty(g)).Select(g => g!).ToList(),
            Value = form["Value"].ToString(),
            Coverage = form["Coverage"].ToString(),
            HashAttribute = form["HashAttribute"].ToString(),
            ExperimentKey = form["ExperimentKey"].ToString(),
            Variations = rows,
            Enabled = form["Enabled"].ToString() != "false",
        };
    }

    /// <summary>The rule, or null with the problems in <paramref name="errors"/> under the service's field names.</summary>
    public FeatureRule? ToRule(FeatureValueType valueType, FieldErrors errors)
    {
        if (!Enum.TryParse<FeatureRuleType>(Type, ignoreCase: true, out var type) || int.TryParse(Type, out _))
        {
            errors.Add("type", "Choose force, rollout or experiment.");
            return null;
        }

        var condition = FlagForms.ParseCondition(Condition, "condition", errors);
        var rule = new FeatureRule
        {
            Id = Id,
            Type = type,
            Description = string.IsNullOrWhiteSpace(Description) ? null : Description.Trim(),
            Condition = condition,
            SavedGroups = SavedGroups.Count == 0 ? null : SavedGroups,
            Enabled = Enabled,
        };
        var hashAttribute = string.IsNullOrWhiteSpace(HashAttribute) ? null : HashAttribute.Trim();
        switch (type)
        {
            case FeatureRuleType.Force:
                return rule with { Value = FlagForms.ParseValue(Value, valueType, "value", errors) };
            case FeatureRuleType.Rollout:
                var coverage = FlagForms.ParsePercent(Coverage, "coverage", errors);
                if (coverage is null && string.IsNullOrWhiteSpace(Coverage))
                {
                    errors.Add("coverage", "A rollout needs a coverage from 0 to 100%.");
                }

                return rule with { Value = FlagForms.ParseValue(Value, valueType, "value", errors), Coverage = coverage, HashAttribute = hashAttribute };
            default:
                var variations = new List<JsonElement>();
                for (var i = 0; i < Variations.Count; i++)
                {
                    if (FlagForms.ParseValue(Variations[i].Value, valueType, $"variations[{i}]", errors) is { } v)
                    {
                        variations.Add(v);
                    }
                }

                return rule with
                {
                    Variations = variations,
                    Weights = Weights(errors),
                    Coverage = FlagForms.ParsePercent(Coverage, "coverage", errors),
                    HashAttribute = hashAttribute,
                    ExperimentKey = string.IsNullOrWhiteSpace(ExperimentKey) ? null : ExperimentKey.Trim(),
                };
        }
    }

    // Percentages per variation; all blank is an equal split.
    private List<double>? Weights(FieldErrors errors)
    {
        if (Variations.All(v => string.IsNullOrWhiteSpace(v.Weight)))
        {
            return null;
        }

        if (Variations.Any(v => string.IsNullOrWhiteSpace(v.Weight)))
        {
            errors.Add("weights", "Give every variation a weight, or none for an equal split.");
            return null;
        }

        var local = new FieldErrors();
        var weights = Variations.Select((v, i) => FlagForms.ParsePercent(v.Weight, "weights", local) ?? 0).ToList();
        if (local.Any || Math.Abs(weights.Sum() - 1) > 0.001)
        {
            errors.Add("weights", "Weights are percentages that add up to 100.");
            return null;
        }

        return weights;
    }

    private static string? NullIfBlank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
