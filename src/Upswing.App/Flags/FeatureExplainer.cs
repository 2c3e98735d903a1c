using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Upswing.Common;
using Upswing.Evaluation;
using Upswing.Workspaces;
using EvalRule = Upswing.Evaluation.FeatureRule;

namespace Upswing.Flags;

/// <summary>How one rule fared for a user.</summary>
public enum RuleOutcome
{
    /// <summary>The rule decided the value.</summary>
    Matched,

    /// <summary>The rule was evaluated and passed over; <see cref="RuleExplanation.Reason"/> says why.</summary>
    Skipped,

    /// <summary>The rule is switched off in the dashboard and not sent to SDKs.</summary>
    Disabled,

    /// <summary>An earlier rule (or the feature's state) decided before this rule was looked at.</summary>
    NotReached,
}

/// <summary>Why a rule did not serve its value.</summary>
public enum RuleSkipReason
{
    None,
    PrerequisiteFailed,
    FilteredOut,
    ConditionFalse,
    SavedGroupNotMatched,
    HashAttributeMissing,
    NotInRollout,
    UnsupportedHashVersion,
    NoVariations,
    ExperimentsDisabled,
    TooFewVariations,
    NotInNamespace,
    NotInExperimentBuckets,
    ForcedOutOfExperiment,
    QaMode,
    Passthrough,
}

/// <summary>One rule of a feature for one user: what happened and the numbers behind it.</summary>
public sealed record RuleExplanation
{
    /// <summary>1-based position in the environment's rule list.</summary>
    public required int Position { get; init; }

    public string? RuleId { get; init; }

    /// <summary>force, rollout or experiment.</summary>
    public required string Kind { get; init; }

    public string? Description { get; init; }

    public required RuleOutcome Outcome { get; init; }

    public RuleSkipReason Reason { get; init; }

    /// <summary>One sentence for people.</summary>
    public required string Message { get; init; }

    /// <summary>The condition that evaluated false (the rule's own, or a saved group's).</summary>
    public JsonNode? Condition { get; init; }

    /// <summary>The saved group the user is not in.</summary>
    public string? SavedGroup { get; init; }

    public string? HashAttribute { get; init; }

    public string? HashValue { get; init; }

    /// <summary>The user's hash in [0, 1) for this rule (rollout position or experiment bucket).</summary>
    public double? Hash { get; init; }

    public double? Coverage { get; init; }

    public string? ExperimentKey { get; init; }

    /// <summary>The experiment's bucket ranges, one per variation.</summary>
    public IReadOnlyList<BucketRange>? Ranges { get; init; }

    public int? Variation { get; init; }

    public bool? InExperiment { get; init; }

    /// <summary>The value the rule serves when it matched.</summary>
    public JsonNode? Value { get; init; }
}

/// <summary>A feature's value for one user in one environment, and per rule why it matched or was skipped.</summary>
public sealed record FeatureExplanation
{
    public required string Key { get; init; }

    public required JsonNode? Value { get; init; }

    public required FeatureSource Source { get; init; }

    /// <summary>GrowthBook's name of the source (defaultValue, force, experiment, …).</summary>
    public string SourceName => GrowthBookJson.SourceName(Source);

    public string RuleId { get; init; } = "";

    /// <summary>One sentence: why the feature has this value.</summary>
    public required string Summary { get; init; }

    public required IReadOnlyList<RuleExplanation> Rules { get; init; }

    /// <summary>False if <see cref="Evaluator.EvalFeature"/> answered differently (a bug in the explainer; the evaluator's answer is what SDKs see).</summary>
    public bool AgreesWithEvaluator { get; init; } = true;

    /// <summary>The evaluator's value, shown when it disagrees.</summary>
    public JsonNode? EvaluatorValue { get; init; }
}

/// <summary>
/// Explains feature evaluation for the dashboard's "try a user" panel. It walks the rules of the environment's
/// SDK payload (what SDKs evaluate) step by step with the public primitives of Upswing.Evaluation
/// (conditions, hashing, bucket ranges), in the evaluator's order, recording why each rule matched or was skipped,
/// then checks its answer against <see cref="Evaluator.EvalFeature"/>. Sticky bucketing is not modelled:
/// explanations run without a sticky-bucket store, as a first visit.
/// </summary>
public sealed class FeatureExplainer(SdkPayloadCache payloads, FeatureService features, SavedGroupService savedGroups)
{
    public const int MaxAttributesLength = 20_000;

    /// <summary>Parses attributes typed by a person: a JSON object.</summary>
    public static Result<JsonObject> ParseAttributes(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return new JsonObject();
        }

        if (json.Length > MaxAttributesLength)
        {
            return Failure.Invalid("attributes", $"Attributes are at most {MaxAttributesLength} characters of JSON.");
        }

        try
        {
            return JsonNode.Parse(json) is JsonObject attributes
                ? attributes
                : Failure.Invalid("attributes", "Attributes are a JSON object, like {\"id\": \"user-1\"}.");
        }
        catch (JsonException e)
        {
            return Failure.Invalid("attributes", $"Attributes are not valid JSON: {e.Message}");
        }
    }

    /// <summary>Explains one feature (or, with <paramref name="featureKey"/> null, every feature) for a user in an environment.</summary>
    public async Task<IReadOnlyList<FeatureExplanation>> ExplainAsync(Guid workspaceId, EnvironmentDto environment, JsonObject attributes, string? featureKey, CancellationToken ct)
    {
        var payload = await payloads.GetAsync(workspaceId, environment.Id, ct);
        var groups = await savedGroups.ListAsync(workspaceId, ct);
        var stored = featureKey is null
            ? await features.ListAsync(workspaceId, includeArchived: false, ct)
            : await features.GetAsync(workspaceId, featureKey, ct) is { } one ? [one] : [];
        var context = payload.Model with { Attributes = attributes };
        if (featureKey is not null && stored.Count == 0)
        {
            return [Explain(context, featureKey, null, environment.Key, groups)];
        }

        return stored.Select(f => Explain(context, f.Key, f, environment.Key, groups)).ToList();
    }

    /// <summary>
    /// Explains <paramref name="key"/> for the user in <paramref name="context"/> (a payload model with attributes).
    /// <paramref name="feature"/> adds what only the dashboard knows: disabled rules, descriptions, rule kinds and saved groups.
    /// </summary>
    public static FeatureExplanation Explain(EvaluationContext context, string key, FeatureDto? feature, string environment, IReadOnlyList<SavedGroupDto> groups)
    {
        context = context with { StickyBuckets = null };
        var trace = new List<RuleTrace>();
        var outcome = Walk(context, key, new HashSet<string>(StringComparer.Ordinal), trace);
        var evaluated = Evaluator.EvalFeature(context, key);
        var agrees = evaluated.Source == outcome.Source && evaluated.RuleId == outcome.RuleId && JsonNode.DeepEquals(evaluated.Value, outcome.Value);

        var stored = feature is not null && feature.Environments.TryGetValue(environment, out var settings) ? settings : null;
        var rules = Merge(context, key, trace, stored, groups, outcome);
        return new FeatureExplanation
        {
            Key = key,
            Value = outcome.Value,
            Source = outcome.Source,
            RuleId = outcome.RuleId,
            Summary = Summarize(outcome, feature, stored, environment, rules),
            Rules = rules,
            AgreesWithEvaluator = agrees,
            EvaluatorValue = evaluated.Value,
        };
    }

    private sealed record Outcome(JsonNode? Value, FeatureSource Source, string RuleId = "");

    /// <summary>What happened to one payload rule.</summary>
    private sealed record RuleTrace(EvalRule Rule, int PayloadIndex, RuleOutcome Outcome, RuleSkipReason Reason, string Message)
    {
        public JsonNode? Condition { get; init; }

        public string? HashAttribute { get; init; }

        public string? HashValue { get; init; }

        public double? Hash { get; init; }

        public double? Coverage { get; init; }

        public string? ExperimentKey { get; init; }

        public IReadOnlyList<BucketRange>? Ranges { get; init; }

        public int? Variation { get; init; }

        public bool? InExperiment { get; init; }

        public JsonNode? Value { get; init; }
    }

    // The evaluator's algorithm, step for step, with a note at every exit. Prerequisites recurse without a trace.
    private static Outcome Walk(EvaluationContext ctx, string key, HashSet<string> stack, List<RuleTrace>? trace)
    {
        if (!stack.Add(key))
        {
            return new Outcome(null, FeatureSource.CyclicPrerequisite);
        }

        if (ctx.ForcedFeatures.TryGetValue(key, out var forced))
        {
            return new Outcome(forced, FeatureSource.Override);
        }

        if (!ctx.Features.TryGetValue(key, out var feature))
        {
            return new Outcome(null, FeatureSource.UnknownFeature);
        }

        for (var i = 0; i < feature.Rules.Count; i++)
        {
            var rule = feature.Rules[i];
            if (rule.ParentConditions is { } parents)
            {
                var (verdict, parentKey, parentValue) = CheckPrerequisites(ctx, parents, stack);
                switch (verdict)
                {
                    case Prerequisite.Cyclic:
                        trace?.Add(new RuleTrace(rule, i, RuleOutcome.Matched, RuleSkipReason.PrerequisiteFailed, $"Prerequisite '{parentKey}' depends on this feature again: a cycle, so the feature evaluates to null."));
                        return new Outcome(null, FeatureSource.CyclicPrerequisite);
                    case Prerequisite.GateFailed:
                        trace?.Add(new RuleTrace(rule, i, RuleOutcome.Matched, RuleSkipReason.PrerequisiteFailed, $"Gating prerequisite '{parentKey}' is {Show(parentValue)}, which fails its condition: the feature evaluates to null."));
                        return new Outcome(null, FeatureSource.Prerequisite);
                    case Prerequisite.Failed:
                        trace?.Add(new RuleTrace(rule, i, RuleOutcome.Skipped, RuleSkipReason.PrerequisiteFailed, $"Prerequisite '{parentKey}' is {Show(parentValue)}, which fails its condition."));
                        continue;
                }
            }

            if (rule.Filters is { } filters && IsFilteredOut(ctx, filters))
            {
                trace?.Add(new RuleTrace(rule, i, RuleOutcome.Skipped, RuleSkipReason.FilteredOut, "The user's hash is outside the rule's filters (a namespace or holdout)."));
                continue;
            }

            if (rule.HasForce)
            {
                if (rule.Condition is { } condition && !Conditions.Evaluate(ctx.Attributes, condition, ctx.SavedGroups))
                {
                    trace?.Add(new RuleTrace(rule, i, RuleOutcome.Skipped, RuleSkipReason.ConditionFalse, "The condition is false for these attributes.") { Condition = condition });
                    continue;
                }

                var rollout = CheckRollout(ctx, rule.Seed ?? key, rule);
                if (rollout.Reason != RuleSkipReason.None)
                {
                    trace?.Add(rollout with { Rule = rule, PayloadIndex = i });
                    continue;
                }

                trace?.Add(rollout with { Rule = rule, PayloadIndex = i, Outcome = RuleOutcome.Matched, Value = rule.Force });
                return new Outcome(rule.Force, FeatureSource.Force, rule.Id ?? "");
            }

            var experiment = RunExperiment(ctx, key, rule);
            if (experiment.Outcome == RuleOutcome.Matched)
            {
                trace?.Add(experiment with { Rule = rule, PayloadIndex = i });
                return new Outcome(experiment.Value, FeatureSource.Experiment, rule.Id ?? "");
            }

            trace?.Add(experiment with { Rule = rule, PayloadIndex = i });
        }

        return new Outcome(feature.DefaultValue, FeatureSource.DefaultValue);
    }

    private enum Prerequisite
    {
        Passed,
        Failed,
        GateFailed,
        Cyclic,
    }

    private static (Prerequisite Verdict, string? Parent, JsonNode? ParentValue) CheckPrerequisites(EvaluationContext ctx, IReadOnlyList<ParentCondition> parents, HashSet<string> stack)
    {
        foreach (var parent in parents)
        {
            // Each branch walks with its own copy of the path, so a diamond is not a cycle.
            var result = Walk(ctx, parent.Id, new HashSet<string>(stack, StringComparer.Ordinal), null);
            if (result.Source == FeatureSource.CyclicPrerequisite)
            {
                return (Prerequisite.Cyclic, parent.Id, null);
            }

            var subject = new JsonObject { ["value"] = result.Value?.DeepClone() };
            if (!Conditions.Evaluate(subject, parent.Condition ?? [], ctx.SavedGroups))
            {
                return (parent.Gate ? Prerequisite.GateFailed : Prerequisite.Failed, parent.Id, result.Value);
            }
        }

        return (Prerequisite.Passed, null, null);
    }

    private static RuleTrace Note(RuleOutcome outcome, RuleSkipReason reason, string message) => new(null!, 0, outcome, reason, message);

    // A force rule with a coverage (or range) is a rollout: hashed on an attribute, inclusive at the coverage.
    private static RuleTrace CheckRollout(EvaluationContext ctx, string seed, EvalRule rule)
    {
        if (rule.Range is null && rule.Coverage is null)
        {
            return Note(RuleOutcome.Skipped, RuleSkipReason.None, rule.Condition is null ? "No condition: the value is forced for everyone." : "The condition is true: the value is forced.");
        }

        if (rule.Range is null && rule.Coverage == 0)
        {
            return Note(RuleOutcome.Skipped, RuleSkipReason.NotInRollout, "The rollout's coverage is 0%: nobody is included.") with { Coverage = 0 };
        }

        var (attribute, value) = HashAttributeOf(ctx, rule.HashAttribute);
        if (value.Length == 0)
        {
            return Note(RuleOutcome.Skipped, RuleSkipReason.HashAttributeMissing, $"The user has no '{attribute}' attribute to hash, so the rollout skips them.") with { HashAttribute = attribute };
        }

        var version = rule.HashVersion is null or 0 ? 1 : rule.HashVersion.Value;
        if (Hashing.Hash(seed, value, version) is not { } n)
        {
            return Note(RuleOutcome.Skipped, RuleSkipReason.UnsupportedHashVersion, $"Hash version {version} is not supported.") with { HashAttribute = attribute, HashValue = value };
        }

        var included = rule.Range is { } range ? range.Contains(n) : n <= rule.Coverage!.Value;
        var where = rule.Range is { } r ? $"the range [{F(r.Start)}, {F(r.End)})" : $"coverage {F(rule.Coverage!.Value)}";
        var message = included
            ? $"The hash of {attribute} '{value}' is {F(n)}, within {where}: inside the rollout."
            : $"The hash of {attribute} '{value}' is {F(n)}, outside {where}: not in the rollout.";
        return Note(RuleOutcome.Skipped, included ? RuleSkipReason.None : RuleSkipReason.NotInRollout, message)
            with
        { HashAttribute = attribute, HashValue = value, Hash = n, Coverage = rule.Coverage };
    }

    // The evaluator's experiment run for a rule, without sticky buckets: each early exit is a reason.
    private static RuleTrace RunExperiment(EvaluationContext ctx, string featureKey, EvalRule rule)
    {
        var variations = rule.Variations;
        var weights = rule.Weights;
        if (rule.ContextualBanditRef is { } banditRef && rule.ContextualVariations is { } contextual)
        {
            variations = contextual;
            if (ctx.ContextualBandits.TryGetValue(banditRef, out var definition))
            {
                weights = definition.Contexts?.FirstOrDefault(leaf => Conditions.Evaluate(ctx.Attributes, leaf.Condition, ctx.SavedGroups))?.Weights
                    ?? rule.Weights ?? Buckets.GetEqualWeights(contextual.Count);
            }
        }

        if (variations is null)
        {
            return Note(RuleOutcome.Skipped, RuleSkipReason.NoVariations, "The rule forces nothing and has no variations.");
        }

        var experimentKey = string.IsNullOrEmpty(rule.Key) ? featureKey : rule.Key;
        var skipped = Note(RuleOutcome.Skipped, RuleSkipReason.None, "") with { ExperimentKey = experimentKey, Coverage = rule.Coverage ?? 1, InExperiment = false };
        if (variations.Count < 2)
        {
            return skipped with { Reason = RuleSkipReason.TooFewVariations, Message = "An experiment needs at least two variations." };
        }

        if (!ctx.Enabled)
        {
            return skipped with { Reason = RuleSkipReason.ExperimentsDisabled, Message = "Experiments are switched off for this context." };
        }

        if (Buckets.GetQueryStringOverride(experimentKey, ctx.Url, variations.Count) is { } fromUrl)
        {
            return Assigned(skipped, rule, variations, fromUrl, null, $"The URL forces variation {fromUrl}.");
        }

        if (ctx.ForcedVariations.TryGetValue(experimentKey, out var forcedVariation))
        {
            return forcedVariation >= 0 && forcedVariation < variations.Count
                ? Assigned(skipped, rule, variations, forcedVariation, null, $"Variation {forcedVariation} is forced for experiment '{experimentKey}'.")
                : skipped with { Reason = RuleSkipReason.ForcedOutOfExperiment, Message = $"Experiment '{experimentKey}' is forced to a variation that does not exist: not in the experiment." };
        }

        var (attribute, value) = HashAttributeOf(ctx, rule.HashAttribute);
        skipped = skipped with { HashAttribute = attribute };
        if (value.Length == 0)
        {
            return skipped with { Reason = RuleSkipReason.HashAttributeMissing, Message = $"The user has no '{attribute}' attribute to hash, so the experiment skips them." };
        }

        skipped = skipped with { HashValue = value };
        if (rule.Filters is { } filters)
        {
            if (IsFilteredOut(ctx, filters))
            {
                return skipped with { Reason = RuleSkipReason.FilteredOut, Message = "The user's hash is outside the experiment's filters." };
            }
        }
        else if (rule.Namespace is { } ns && !Buckets.InNamespace(value, ns))
        {
            return skipped with { Reason = RuleSkipReason.NotInNamespace, Message = $"The user is outside namespace '{ns.Id}' [{F(ns.Start)}, {F(ns.End)})." };
        }

        if (rule.Condition is { } condition && !Conditions.Evaluate(ctx.Attributes, condition, ctx.SavedGroups))
        {
            return skipped with { Reason = RuleSkipReason.ConditionFalse, Message = "The condition is false for these attributes.", Condition = condition };
        }

        var seed = string.IsNullOrEmpty(rule.Seed) ? experimentKey : rule.Seed;
        var version = rule.HashVersion is null or 0 ? 1 : rule.HashVersion.Value;
        if (Hashing.Hash(seed, value, version) is not { } n)
        {
            return skipped with { Reason = RuleSkipReason.UnsupportedHashVersion, Message = $"Hash version {version} is not supported." };
        }

        var ranges = rule.Ranges ?? Buckets.GetBucketRanges(variations.Count, rule.Coverage ?? 1, weights);
        skipped = skipped with { Hash = n, Ranges = ranges };
        var assigned = Buckets.ChooseVariation(n, ranges);
        if (assigned < 0)
        {
            return skipped with
            {
                Reason = RuleSkipReason.NotInExperimentBuckets,
                Message = $"The bucket of {attribute} '{value}' is {F(n)}, outside every variation's range (coverage {F(rule.Coverage ?? 1)}): not in the experiment.",
            };
        }

        if (ctx.QaMode)
        {
            return skipped with { Reason = RuleSkipReason.QaMode, Message = "QA mode: nobody is hashed into experiments." };
        }

        var range = ranges[assigned];
        return Assigned(skipped, rule, variations, assigned, n, $"The bucket of {attribute} '{value}' is {F(n)}, in variation {assigned}'s range [{F(range.Start)}, {F(range.End)}): variation {assigned}, in the experiment.");
    }

    private static RuleTrace Assigned(RuleTrace skipped, EvalRule rule, IReadOnlyList<JsonNode?> variations, int variation, double? bucket, string message)
    {
        var assigned = skipped with { Variation = variation, Hash = bucket ?? skipped.Hash, Value = variations[variation] };
        if (rule.Meta is { } meta && variation < meta.Count && meta[variation].Passthrough)
        {
            return assigned with { Reason = RuleSkipReason.Passthrough, InExperiment = true, Message = message + " The variation is a passthrough, so evaluation goes on." };
        }

        return assigned with { Outcome = RuleOutcome.Matched, InExperiment = true, Message = message };
    }

    private static bool IsFilteredOut(EvaluationContext ctx, IReadOnlyList<HashFilter> filters)
    {
        foreach (var filter in filters)
        {
            var (_, value) = HashAttributeOf(ctx, filter.Attribute);
            if (value.Length == 0 || Hashing.Hash(filter.Seed, value, filter.HashVersion ?? 2) is not { } n || !filter.Ranges.Any(r => r.Contains(n)))
            {
                return true;
            }
        }

        return false;
    }

    // Without sticky bucketing the evaluator never uses the fallback attribute: the hash attribute or nothing.
    private static (string Attribute, string Value) HashAttributeOf(EvaluationContext ctx, string? attribute)
    {
        var name = string.IsNullOrEmpty(attribute) ? "id" : attribute;
        return (name, Evaluator.HashValue(ctx.Attributes, name));
    }

    /// <summary>Lines the payload trace up with the stored rules: disabled rules appear, rules after the decision are not reached.</summary>
    private static List<RuleExplanation> Merge(EvaluationContext ctx, string key, List<RuleTrace> trace, FeatureEnvironmentDto? stored, IReadOnlyList<SavedGroupDto> groups, Outcome outcome)
    {
        var result = new List<RuleExplanation>();
        var served = ctx.Features.ContainsKey(key) && outcome.Source is not FeatureSource.Override;
        if (stored is null)
        {
            result.AddRange(trace.Select(t => ToExplanation(t, t.PayloadIndex + 1, null, ctx, groups)));
            return result;
        }

        var byId = trace.Where(t => t.Rule.Id is not null).ToDictionary(t => t.Rule.Id!, StringComparer.Ordinal);
        var inPayload = ctx.Features.TryGetValue(key, out var definition)
            ? definition.Rules.Select(r => r.Id).OfType<string>().ToHashSet(StringComparer.Ordinal)
            : [];
        for (var i = 0; i < stored.Rules.Count; i++)
        {
            var rule = stored.Rules[i];
            var kind = rule.Type.ToString().ToLowerInvariant();
            if (!rule.Enabled)
            {
                result.Add(new RuleExplanation { Position = i + 1, RuleId = rule.Id, Kind = kind, Description = rule.Description, Outcome = RuleOutcome.Disabled, Message = "Disabled: kept in the list, not sent to SDKs." });
            }
            else if (rule.Id is not null && byId.Remove(rule.Id, out var t))
            {
                result.Add(ToExplanation(t, i + 1, rule, ctx, groups));
            }
            else
            {
                var why = !served ? "Not evaluated: SDKs do not get this feature's rules here."
                    : rule.Id is not null && !inPayload.Contains(rule.Id) ? "Not sent to SDKs: the experiment it is linked to is not running (draft, paused, or stopped without a winner)."
                    : "Not evaluated: an earlier rule decided the value.";
                result.Add(new RuleExplanation { Position = i + 1, RuleId = rule.Id, Kind = kind, Description = rule.Description, Outcome = RuleOutcome.NotReached, Message = why });
            }
        }

        // Rules the payload has and the stored list does not (a write between the two reads).
        result.AddRange(byId.Values.OrderBy(t => t.PayloadIndex).Select(t => ToExplanation(t, result.Count + 1, null, ctx, groups)));
        return result;
    }

    private static RuleExplanation ToExplanation(RuleTrace t, int position, FeatureRule? stored, EvaluationContext ctx, IReadOnlyList<SavedGroupDto> groups)
    {
        var kind = stored?.Type.ToString().ToLowerInvariant()
            ?? (t.Rule.HasForce ? (t.Rule.Coverage is null && t.Rule.Range is null ? "force" : "rollout") : "experiment");
        var explanation = new RuleExplanation
        {
            Position = position,
            RuleId = t.Rule.Id,
            Kind = kind,
            Description = stored?.Description,
            Outcome = t.Outcome,
            Reason = t.Reason,
            Message = t.Message,
            Condition = t.Condition,
            HashAttribute = t.HashAttribute,
            HashValue = t.HashValue,
            Hash = t.Hash,
            Coverage = t.Coverage,
            ExperimentKey = t.ExperimentKey,
            Ranges = t.Ranges,
            Variation = t.Variation,
            InExperiment = t.InExperiment,
            Value = t.Value,
        };
        if (stored is { Type: FeatureRuleType.Experiment } && t.Rule.HasForce)
        {
            explanation = explanation with { Message = explanation.Message + " Its experiment has stopped: the winning variation goes to everyone it targets." };
        }

        return t.Reason == RuleSkipReason.ConditionFalse && stored is not null ? Diagnose(explanation, stored, ctx, groups) : explanation;
    }

    // The payload joins a rule's condition and its saved groups with $and; say which part failed.
    private static RuleExplanation Diagnose(RuleExplanation explanation, FeatureRule stored, EvaluationContext ctx, IReadOnlyList<SavedGroupDto> groups)
    {
        if (stored.HasCondition && JsonNode.Parse(stored.Condition!.Value.GetRawText()) is JsonObject own && !Conditions.Evaluate(ctx.Attributes, own, ctx.SavedGroups))
        {
            return explanation with { Condition = own, Message = "The condition is false for these attributes." };
        }

        foreach (var key in stored.SavedGroups ?? [])
        {
            if (groups.FirstOrDefault(g => g.Key == key) is not { } group)
            {
                return explanation with { Reason = RuleSkipReason.SavedGroupNotMatched, SavedGroup = key, Condition = null, Message = $"Saved group '{key}' no longer exists, so it matches nobody." };
            }

            if (group.Type == SavedGroupType.List)
            {
                var inGroup = new JsonObject { [group.AttributeKey!] = new JsonObject { ["$inGroup"] = group.Key } };
                if (!Conditions.Evaluate(ctx.Attributes, inGroup, ctx.SavedGroups))
                {
                    var shown = ctx.Attributes.TryGetPropertyValue(group.AttributeKey!, out var v) ? Show(v) : "missing";
                    return explanation with
                    {
                        Reason = RuleSkipReason.SavedGroupNotMatched,
                        SavedGroup = key,
                        Condition = inGroup,
                        Message = $"Not in saved group '{group.Name}' ({key}): {group.AttributeKey} is {shown}, not one of its {group.Values.Count} values.",
                    };
                }
            }
            else if (group.Condition is { } c && JsonNode.Parse(c.GetRawText()) is JsonObject groupCondition && !Conditions.Evaluate(ctx.Attributes, groupCondition, ctx.SavedGroups))
            {
                return explanation with
                {
                    Reason = RuleSkipReason.SavedGroupNotMatched,
                    SavedGroup = key,
                    Condition = groupCondition,
                    Message = $"Not in saved group '{group.Name}' ({key}): its condition is false for these attributes.",
                };
            }
        }

        // Neither the rule's own condition nor its groups: the targeting of the experiment it is linked to.
        return stored.Type == FeatureRuleType.Experiment
            ? explanation with { Message = "The linked experiment's targeting condition is false for these attributes." }
            : explanation;
    }

    private static string Summarize(Outcome outcome, FeatureDto? feature, FeatureEnvironmentDto? stored, string environment, List<RuleExplanation> rules)
    {
        switch (outcome.Source)
        {
            case FeatureSource.UnknownFeature when feature is { Archived: true }:
                return "The feature is archived: SDKs do not get it and evaluate it as unknown (null).";
            case FeatureSource.UnknownFeature when stored is { Enabled: false }:
                return $"The feature is switched off in {environment}: SDKs do not get it and evaluate it as unknown (null).";
            case FeatureSource.UnknownFeature:
                return "SDKs do not know this feature here: the value is null.";
            case FeatureSource.Override:
                return "The value is overridden for this context.";
            case FeatureSource.CyclicPrerequisite:
                return "Prerequisites form a cycle: the value is null.";
            case FeatureSource.Prerequisite:
                return "A gating prerequisite failed: the value is null.";
            case FeatureSource.DefaultValue:
                return rules.Count == 0 ? "No rules: the default value." : "No rule matched: the default value.";
            default:
                var rule = rules.FirstOrDefault(r => r.Outcome == RuleOutcome.Matched);
                return rule is null
                    ? $"Rule '{outcome.RuleId}' decided the value."
                    : $"Rule {rule.Position} ({rule.Kind}{(rule.Description is { Length: > 0 } d ? ": " + d : "")}) matched. {rule.Message}";
        }
    }

    private static string Show(JsonNode? value) => value is null ? "null" : value.ToJsonString();

    private static string F(double d) => d.ToString("0.####", CultureInfo.InvariantCulture);
}
