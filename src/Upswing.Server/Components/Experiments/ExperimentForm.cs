using System.Globalization;
using System.Text.Json;
using Upswing.Common;
using Upswing.Experiments;
using Upswing.Server.Components.Flags;

namespace Upswing.Server.Components.Experiments;

/// <summary>
/// The experiment form's fields as typed: fills the form again after a failed post, and builds the create
/// request or, on the detail page, an update request holding only what changed. Shares are typed as
/// percentages (as in the rules editor) and sent to the service as 0–1.
/// </summary>
public sealed class ExperimentForm
{
    public const int MaxRows = ExperimentService.MaxVariations;

    public string Key { get; set; } = "";

    public string Name { get; set; } = "";

    public string Hypothesis { get; set; } = "";

    public string HashAttribute { get; set; } = "id";

    public List<VariationRow> Variations { get; set; } = [new("control", "Control", "50"), new("treatment", "Treatment", "50")];

    public string Coverage { get; set; } = "100";

    public string Condition { get; set; } = "";

    public List<string> SavedGroups { get; set; } = [];

    public string NamespaceName { get; set; } = "";

    public string NamespaceStart { get; set; } = "0";

    public string NamespaceEnd { get; set; } = "100";

    public string Holdout { get; set; } = "";

    public string PrimaryMetrics { get; set; } = "";

    public string SecondaryMetrics { get; set; } = "";

    public string GuardrailMetrics { get; set; } = "";

    public string Reason { get; set; } = "";

    /// <summary>One variation row: key, display name and weight %.</summary>
    public sealed record VariationRow(string Key, string Name, string Weight);

    public static ExperimentForm From(ExperimentDto e) => new()
    {
        Key = e.Key,
        Name = e.Name,
        Hypothesis = e.Hypothesis ?? "",
        HashAttribute = e.HashAttribute,
        Variations = e.Variations.Select(v => new VariationRow(v.Key, v.Name, FlagForms.Percent(v.Weight))).ToList(),
        Coverage = FlagForms.Percent(e.Coverage),
        Condition = FlagForms.Pretty(e.Condition),
        SavedGroups = e.SavedGroups.ToList(),
        NamespaceName = e.Namespace?.Name ?? "",
        NamespaceStart = FlagForms.Percent(e.Namespace?.Start ?? 0),
        NamespaceEnd = FlagForms.Percent(e.Namespace?.End ?? 1),
        Holdout = e.Holdout ?? "",
        PrimaryMetrics = string.Join(", ", e.Metrics.Primary ?? []),
        SecondaryMetrics = string.Join(", ", e.Metrics.Secondary ?? []),
        GuardrailMetrics = string.Join(", ", e.Metrics.Guardrail ?? []),
    };

    public static ExperimentForm From(IFormCollection form)
    {
        var rows = new List<VariationRow>();
        for (var i = 0; i < MaxRows + 1 && form.ContainsKey($"VariationKey_{i}"); i++)
        {
            var row = new VariationRow(form[$"VariationKey_{i}"].ToString().Trim(), form[$"VariationName_{i}"].ToString().Trim(), form[$"VariationWeight_{i}"].ToString().Trim());
            if (row is not { Key: "", Name: "", Weight: "" })
            {
                rows.Add(row);
            }
        }

        return new ExperimentForm
        {
            Key = form["Key"].ToString().Trim(),
            Name = form["Name"].ToString(),
            Hypothesis = form["Hypothesis"].ToString(),
            HashAttribute = form["HashAttribute"].ToString().Trim(),
            Variations = rows,
            Coverage = form["Coverage"].ToString(),
            Condition = form["Condition"].ToString(),
            SavedGroups = form["SavedGroups"].Where(g => !string.IsNullOrEmpty(g)).Select(g => g!).ToList(),
            NamespaceName = form["NamespaceName"].ToString().Trim(),
            NamespaceStart = form["NamespaceStart"].ToString(),
            NamespaceEnd = form["NamespaceEnd"].ToString(),
            Holdout = form["Holdout"].ToString(),
            PrimaryMetrics = form["PrimaryMetrics"].ToString(),
            SecondaryMetrics = form["SecondaryMetrics"].ToString(),
            GuardrailMetrics = form["GuardrailMetrics"].ToString(),
            Reason = form["Reason"].ToString(),
        };
    }

    /// <summary>
    /// "add" appends a blank variation row, "remove:{i}" drops row i: the form comes back with the rows
    /// changed and nothing saved, so rows can be added and removed without JavaScript. False for other values.
    /// </summary>
    public bool ApplyRowAction(string? action)
    {
        if (action == "add")
        {
            if (Variations.Count < MaxRows)
            {
                Variations.Add(new VariationRow("", "", ""));
            }

            return true;
        }

        if (action?.StartsWith("remove:", StringComparison.Ordinal) == true
            && int.TryParse(action.AsSpan("remove:".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            if (index >= 0 && index < Variations.Count)
            {
                Variations.RemoveAt(index);
            }

            return true;
        }

        return false;
    }

    public CreateExperimentRequest ToCreateRequest(FieldErrors errors) => new(
        Key, Name, Blank(Hypothesis), Blank(HashAttribute), null, null, null,
        VariationRequests(errors), FlagForms.ParsePercent(Coverage, "coverage", errors), FlagForms.ParseCondition(Condition, "condition", errors),
        SavedGroups, Namespace(errors), Blank(Holdout), Metrics());

    /// <summary>
    /// Only the fields that differ from <paramref name="current"/>: a stopped experiment can still be renamed,
    /// and an unchanged traffic setting never opens a new phase.
    /// </summary>
    public UpdateExperimentRequest ToUpdateRequest(ExperimentDto current, FieldErrors errors)
    {
        var variations = VariationRequests(errors);
        var coverage = FlagForms.ParsePercent(Coverage, "coverage", errors) ?? 1;
        var condition = FlagForms.ParseCondition(Condition, "condition", errors);
        var ns = Namespace(errors);
        if (ns is null && current.Namespace is not null)
        {
            errors.Add("namespace.name", "A namespace cannot be removed; give the experiment the whole range (0 to 100) instead.");
        }

        var metrics = Metrics();
        var holdout = Holdout.Trim();
        var conditionChanged = (condition, current.Condition) switch
        {
            (null, null) => false,
            ({ } a, { } b) => !JsonElement.DeepEquals(a, b),
            _ => true,
        };
        return new UpdateExperimentRequest(
            Name.Trim() == current.Name ? null : Name,
            Hypothesis == (current.Hypothesis ?? "") ? null : Hypothesis,
            HashAttribute == current.HashAttribute ? null : HashAttribute,
            null, null, null,
            SameVariations(variations, current.Variations) ? null : variations,
            Math.Abs(coverage - current.Coverage) < 1e-6 ? null : coverage,
            // JSON null clears the condition; C# null leaves it as it is.
            conditionChanged ? condition ?? JsonSerializer.SerializeToElement<object?>(null) : null,
            SavedGroups.Order(StringComparer.Ordinal).SequenceEqual(current.SavedGroups.Order(StringComparer.Ordinal)) ? null : SavedGroups,
            ns is null || ns == current.Namespace ? null : ns,
            holdout == (current.Holdout ?? "") ? null : holdout,
            SameMetrics(metrics, current.Metrics) ? null : metrics,
            Blank(Reason));
    }

    private List<ExperimentVariationRequest> VariationRequests(FieldErrors errors) =>
        Variations.Select((v, i) => new ExperimentVariationRequest(v.Key, Blank(v.Name), FlagForms.ParsePercent(v.Weight, $"variations[{i}].weight", errors))).ToList();

    private ExperimentNamespaceRange? Namespace(FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(NamespaceName))
        {
            return null;
        }

        var start = FlagForms.ParsePercent(NamespaceStart, "namespace", errors) ?? 0;
        var end = FlagForms.ParsePercent(NamespaceEnd, "namespace", errors) ?? 1;
        return new ExperimentNamespaceRange(NamespaceName, start, end);
    }

    private ExperimentMetrics Metrics() =>
        new(FlagForms.ParseTags(PrimaryMetrics), FlagForms.ParseTags(SecondaryMetrics), FlagForms.ParseTags(GuardrailMetrics));

    private static bool SameVariations(List<ExperimentVariationRequest> typed, IReadOnlyList<ExperimentVariation> current)
    {
        if (typed.Count != current.Count)
        {
            return false;
        }

        // A blank weight means an equal split, as the service reads it.
        var weighted = typed.All(v => v.Weight is not null);
        return typed.Select((v, i) => v.Key == current[i].Key
            && (v.Name ?? current[i].Name) == current[i].Name
            && Math.Abs((weighted ? v.Weight!.Value : 1.0 / typed.Count) - current[i].Weight) < 1e-5).All(same => same);
    }

    private static bool SameMetrics(ExperimentMetrics a, ExperimentMetrics b) =>
        (a.Primary ?? []).SequenceEqual(b.Primary ?? []) && (a.Secondary ?? []).SequenceEqual(b.Secondary ?? []) && (a.Guardrail ?? []).SequenceEqual(b.Guardrail ?? []);

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();
}
