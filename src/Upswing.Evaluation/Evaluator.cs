using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Upswing.Evaluation;

/// <summary>
/// Evaluates features and runs experiments exactly like GrowthBook's SDKs. Evaluating a typical flag (a force rule
/// behind a condition, a rollout, an experiment) allocates nothing once the model is parsed: results are structs, and
/// what an experiment rule needs besides the user (the experiment, its bucket ranges, its variation keys) is built once
/// per rule and kept beside it.
/// </summary>
public static class Evaluator
{
    private static readonly JsonObject EmptyCondition = [];

    // Keyed by the model's own objects, so a plan lives exactly as long as the rule (or inline experiment) it
    // belongs to, and a changed copy (`with`) gets a plan of its own.
    private static readonly ConditionalWeakTable<FeatureRule, ExperimentPlan> RulePlans = new();
    private static readonly ConditionalWeakTable<Experiment, ExperimentPlan> InlinePlans = new();

    /// <summary>Evaluates feature <paramref name="key"/> for the user in <paramref name="context"/>.</summary>
    public static FeatureResult EvalFeature(EvaluationContext context, string key) => EvalFeature(context, key, null);

    /// <summary>Runs an inline experiment for the user in <paramref name="context"/>.</summary>
    public static ExperimentResult Run(EvaluationContext context, Experiment experiment)
    {
        if (!InlinePlans.TryGetValue(experiment, out var plan))
        {
            plan = new ExperimentPlan(experiment, null);
            InlinePlans.AddOrUpdate(experiment, plan);
        }

        return RunCore(context, plan, null, null, out _);
    }

    // `path` holds the features above this one in a prerequisite chain, for cycle detection. It is null at the top,
    // where the path is just this key, and only materialised when a rule has prerequisites.
    private static FeatureResult EvalFeature(EvaluationContext ctx, string key, HashSet<string>? path)
    {
        if (path is not null && !path.Add(key))
        {
            return new FeatureResult { Value = null, Source = FeatureSource.CyclicPrerequisite };
        }

        if (ctx.ForcedFeatures.TryGetValue(key, out var forced))
        {
            return new FeatureResult { Value = forced, Source = FeatureSource.Override };
        }

        if (!ctx.Features.TryGetValue(key, out var feature))
        {
            return new FeatureResult { Value = null, Source = FeatureSource.UnknownFeature };
        }

        var rules = feature.Rules;
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            if (rule.ParentConditions is { } parents)
            {
                switch (EvalPrerequisites(ctx, parents, path ?? new HashSet<string>(StringComparer.Ordinal) { key }))
                {
                    case Prerequisites.Cyclic:
                        return new FeatureResult { Value = null, Source = FeatureSource.CyclicPrerequisite };
                    case Prerequisites.GateFailed:
                        return new FeatureResult { Value = null, Source = FeatureSource.Prerequisite };
                    case Prerequisites.Failed:
                        continue;
                }
            }

            if (rule.Filters is { } filters && IsFilteredOut(ctx, filters))
            {
                continue;
            }

            if (rule.HasForce)
            {
                if (rule.Condition is { } condition && !Conditions.Evaluate(ctx.Attributes, condition, ctx.SavedGroups))
                {
                    continue;
                }

                var fallback = ctx.StickyBuckets is not null && rule.DisableStickyBucketing != true ? rule.FallbackAttribute : null;
                if (!IsIncludedInRollout(ctx, NullIfEmpty(rule.Seed) ?? key, rule.HashAttribute, fallback, rule.Range, rule.Coverage, rule.HashVersion))
                {
                    continue;
                }

                return new FeatureResult { Value = rule.Force, Source = FeatureSource.Force, RuleId = rule.Id ?? "" };
            }

            ExperimentPlan plan;
            ContextualBanditAssignment? bandit = null;
            if (rule.ContextualBanditRef is { } banditRef && rule.ContextualVariations is { } contextual)
            {
                // Routed per user, so built per evaluation.
                var weights = rule.Weights;
                if (ctx.ContextualBandits.TryGetValue(banditRef, out var definition))
                {
                    bandit = RouteBandit(ctx, definition, rule.Weights ?? Buckets.GetEqualWeights(contextual.Count));
                    weights = bandit.VariationWeights;
                }

                plan = new ExperimentPlan(ToExperiment(rule, key, contextual, weights), key);
            }
            else if (rule.Variations is { } variations)
            {
                if (!RulePlans.TryGetValue(rule, out plan!) || !string.Equals(plan.FeatureKey, key, StringComparison.Ordinal))
                {
                    plan = new ExperimentPlan(ToExperiment(rule, key, variations, rule.Weights), key);
                    RulePlans.AddOrUpdate(rule, plan);
                }
            }
            else
            {
                continue;
            }

            var result = RunCore(ctx, plan, key, path, out var ran, bandit);
            if (result.InExperiment && !result.Passthrough)
            {
                return new FeatureResult
                {
                    Value = result.Value,
                    Source = FeatureSource.Experiment,
                    RuleId = rule.Id ?? "",
                    Experiment = ran,
                    ExperimentResult = result,
                };
            }
        }

        return new FeatureResult { Value = feature.DefaultValue, Source = FeatureSource.DefaultValue };
    }

    private static Experiment ToExperiment(FeatureRule rule, string featureKey, IReadOnlyList<JsonNode?> variations, IReadOnlyList<double>? weights) => new()
    {
        Key = string.IsNullOrEmpty(rule.Key) ? featureKey : rule.Key,
        Variations = variations,
        Coverage = rule.Coverage,
        Weights = weights,
        HashAttribute = NullIfEmpty(rule.HashAttribute),
        FallbackAttribute = NullIfEmpty(rule.FallbackAttribute),
        DisableStickyBucketing = rule.DisableStickyBucketing == true ? true : null,
        BucketVersion = rule.BucketVersion,
        MinBucketVersion = rule.MinBucketVersion,
        Namespace = rule.Namespace,
        Meta = rule.Meta,
        Ranges = rule.Ranges,
        Name = NullIfEmpty(rule.Name),
        Phase = NullIfEmpty(rule.Phase),
        Seed = NullIfEmpty(rule.Seed),
        HashVersion = rule.HashVersion is 0 ? null : rule.HashVersion,
        Filters = rule.Filters,
        Condition = rule.Condition,
    };

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    // First leaf whose condition matches wins; with no match the rule's own (marginal) weights apply as leaf -1.
    private static ContextualBanditAssignment RouteBandit(EvaluationContext ctx, ContextualBanditDefinition definition, IReadOnlyList<double> marginal)
    {
        foreach (var leaf in definition.Contexts ?? [])
        {
            if (Conditions.Evaluate(ctx.Attributes, leaf.Condition, ctx.SavedGroups))
            {
                return new ContextualBanditAssignment(leaf.LeafId, leaf.Weights, definition.BanditVersion);
            }
        }

        return new ContextualBanditAssignment(-1, marginal, definition.BanditVersion);
    }

    private enum Prerequisites
    {
        Passed,
        Failed,
        GateFailed,
        Cyclic,
    }

    private static Prerequisites EvalPrerequisites(EvaluationContext ctx, IReadOnlyList<ParentCondition> parents, HashSet<string> stack)
    {
        foreach (var parent in parents)
        {
            // Each branch gets its own copy of the path, so a diamond (two references to one parent) is not a cycle.
            var parentResult = EvalFeature(ctx, parent.Id, new HashSet<string>(stack, StringComparer.Ordinal));
            if (parentResult.Source == FeatureSource.CyclicPrerequisite)
            {
                return Prerequisites.Cyclic;
            }

            var subject = new JsonObject { ["value"] = parentResult.Value?.DeepClone() };
            if (!Conditions.Evaluate(subject, parent.Condition ?? EmptyCondition, ctx.SavedGroups))
            {
                return parent.Gate ? Prerequisites.GateFailed : Prerequisites.Failed;
            }
        }

        return Prerequisites.Passed;
    }

    private static (string Attribute, string Value) GetHashAttribute(EvaluationContext ctx, string? attribute, string? fallback)
    {
        var name = string.IsNullOrEmpty(attribute) ? "id" : attribute;
        var value = AttributeString(ctx, name);
        if (value.Length == 0 && !string.IsNullOrEmpty(fallback))
        {
            var fallbackValue = AttributeString(ctx, fallback);
            if (fallbackValue.Length > 0)
            {
                return (fallback, fallbackValue);
            }
        }

        return (name, value);
    }

    private static string AttributeString(EvaluationContext ctx, string name) => HashValue(ctx.Attributes, name);

    /// <summary>
    /// The string GrowthBook hashes for an attribute: JavaScript's String() of its value, or "" when it is missing or
    /// falsy (then the user is in no rollout or experiment on it).
    /// </summary>
    public static string HashValue(JsonObject attributes, string attribute) =>
        attributes.TryGetPropertyValue(attribute, out var node) && JsValues.Truthy(node) ? JsValues.ToJsString(node) : "";

    private static bool IsFilteredOut(EvaluationContext ctx, IReadOnlyList<HashFilter> filters)
    {
        for (var i = 0; i < filters.Count; i++)
        {
            var filter = filters[i];
            var (_, value) = GetHashAttribute(ctx, filter.Attribute, null);
            if (value.Length == 0)
            {
                return true;
            }

            if (Hashing.Hash(filter.Seed, value, filter.HashVersion ?? 2) is not { } n)
            {
                return true;
            }

            if (!InAnyRange(filter.Ranges, n))
            {
                return true;
            }
        }

        return false;
    }

    // A loop, not a lambda: a lambda capturing the context would allocate its closure on every run.
    private static bool InAnyGroup(EvaluationContext ctx, IReadOnlyList<string> groups)
    {
        for (var i = 0; i < groups.Count; i++)
        {
            if (ctx.Groups.GetValueOrDefault(groups[i]))
            {
                return true;
            }
        }

        return false;
    }

    private static bool InAnyRange(IReadOnlyList<BucketRange> ranges, double n)
    {
        for (var i = 0; i < ranges.Count; i++)
        {
            if (ranges[i].Contains(n))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsIncludedInRollout(EvaluationContext ctx, string seed, string? hashAttribute, string? fallback, BucketRange? range, double? coverage, int? hashVersion)
    {
        if (range is null && coverage is null)
        {
            return true;
        }

        if (range is null && coverage == 0)
        {
            return false;
        }

        var (_, value) = GetHashAttribute(ctx, hashAttribute, fallback);
        if (value.Length == 0)
        {
            return false;
        }

        if (Hashing.Hash(seed, value, hashVersion is null or 0 ? 1 : hashVersion.Value) is not { } n)
        {
            return false;
        }

        // Rollout coverage is inclusive, unlike experiment bucket ranges.
        return range is { } r ? r.Contains(n) : n <= coverage!.Value;
    }

    private static ExperimentResult RunCore(EvaluationContext ctx, ExperimentPlan plan, string? featureId, HashSet<string>? stack, out Experiment ran, ContextualBanditAssignment? bandit = null)
    {
        var exp = plan.Experiment;
        ran = exp;
        var numVariations = exp.Variations.Count;
        if (numVariations < 2 || !ctx.Enabled)
        {
            return NotIn(ctx, plan, featureId);
        }

        if (Buckets.GetQueryStringOverride(exp.Key, ctx.Url, numVariations) is { } fromQuery)
        {
            return MakeResult(ctx, plan, fromQuery, false, featureId);
        }

        if (ctx.ForcedVariations.TryGetValue(exp.Key, out var forcedVariation))
        {
            return MakeResult(ctx, plan, forcedVariation, false, featureId);
        }

        if (exp.Status == "draft" || exp.Active == false)
        {
            return NotIn(ctx, plan, featureId);
        }

        var sticky = ctx.StickyBuckets is { } store && exp.DisableStickyBucketing != true ? store : null;
        var (hashAttribute, hashValue) = GetHashAttribute(ctx, exp.HashAttribute, sticky is not null ? exp.FallbackAttribute : null);
        if (hashValue.Length == 0)
        {
            return NotIn(ctx, plan, featureId);
        }

        var assigned = -1;
        var versionBlocked = false;
        if (sticky is not null)
        {
            (assigned, versionBlocked) = GetStickyBucketVariation(ctx, sticky, exp);
        }

        var foundSticky = assigned >= 0;
        if (!foundSticky)
        {
            if (exp.Filters is { } filters)
            {
                if (IsFilteredOut(ctx, filters))
                {
                    return NotIn(ctx, plan, featureId);
                }
            }
            else if (exp.Namespace is { } ns && !Buckets.InNamespace(hashValue, ns))
            {
                return NotIn(ctx, plan, featureId);
            }

            if (exp.Condition is { } condition && !Conditions.Evaluate(ctx.Attributes, condition, ctx.SavedGroups))
            {
                return NotIn(ctx, plan, featureId);
            }

            if (exp.ParentConditions is { } parents
                && EvalPrerequisites(ctx, parents, stack ?? new HashSet<string>(StringComparer.Ordinal)) != Prerequisites.Passed)
            {
                return NotIn(ctx, plan, featureId);
            }
        }

        if (exp.Groups is { Count: > 0 } groups && !InAnyGroup(ctx, groups))
        {
            return NotIn(ctx, plan, featureId);
        }

        if (exp.Url is { } urlPattern && !UrlTargeting.MatchesLegacyUrl(ctx.Url, urlPattern))
        {
            return NotIn(ctx, plan, featureId);
        }

        if (exp.UrlPatterns is { Count: > 0 } patterns && !UrlTargeting.IsTargeted(ctx.Url ?? "", patterns))
        {
            return NotIn(ctx, plan, featureId);
        }

        if (Hashing.Hash(exp.Seed ?? exp.Key, hashValue, exp.HashVersion ?? 1) is not { } n)
        {
            return NotIn(ctx, plan, featureId);
        }

        if (!foundSticky)
        {
            assigned = Buckets.ChooseVariation(n, plan.Ranges);
        }

        if (versionBlocked)
        {
            return MakeResult(ctx, plan, -1, false, featureId, stickyBucketUsed: true);
        }

        if (assigned < 0)
        {
            return NotIn(ctx, plan, featureId);
        }

        if (exp.Force is { } force)
        {
            return MakeResult(ctx, plan, force, false, featureId);
        }

        if (ctx.QaMode || exp.Status == "stopped")
        {
            return NotIn(ctx, plan, featureId);
        }

        var result = MakeResult(ctx, plan, assigned, true, featureId, n, foundSticky);
        if (bandit is not null)
        {
            ran = exp with { ContextualBandit = bandit };
            result = result with { LeafId = bandit.LeafId, VariationWeights = bandit.VariationWeights, BanditVersion = bandit.BanditVersion };
        }

        sticky?.Assign(hashAttribute, hashValue, StickyKey(exp.Key, exp.BucketVersion), result.Key);
        return result;
    }

    private static string StickyKey(string experimentKey, int? bucketVersion) =>
        experimentKey + "__" + (bucketVersion ?? 0).ToString(CultureInfo.InvariantCulture);

    private static (int Variation, bool VersionBlocked) GetStickyBucketVariation(EvaluationContext ctx, StickyBucketStore store, Experiment exp)
    {
        // Fallback-attribute assignments first, so the primary attribute's document wins on conflicts.
        var assignments = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!string.IsNullOrEmpty(exp.FallbackAttribute))
        {
            var (fallbackName, fallbackValue) = GetHashAttribute(ctx, exp.FallbackAttribute, null);
            if (fallbackValue.Length > 0 && store.Get(fallbackName, fallbackValue) is { } fallbackDoc)
            {
                foreach (var (k, v) in fallbackDoc.Assignments)
                {
                    assignments[k] = v;
                }
            }
        }

        var (name, value) = GetHashAttribute(ctx, exp.HashAttribute, null);
        if (store.Get(name, value) is { } doc)
        {
            foreach (var (k, v) in doc.Assignments)
            {
                assignments[k] = v;
            }
        }

        for (var version = 0; version < (exp.MinBucketVersion ?? 0); version++)
        {
            if (assignments.ContainsKey(StickyKey(exp.Key, version)))
            {
                return (-1, true);
            }
        }

        if (!assignments.TryGetValue(StickyKey(exp.Key, exp.BucketVersion), out var variationKey))
        {
            return (-1, false);
        }

        var meta = exp.Meta ?? [];
        for (var i = 0; i < meta.Count; i++)
        {
            if (meta[i].Key == variationKey)
            {
                return (i, false);
            }
        }

        return (-1, false);
    }

    private static ExperimentResult NotIn(EvaluationContext ctx, ExperimentPlan plan, string? featureId) =>
        MakeResult(ctx, plan, -1, false, featureId);

    private static ExperimentResult MakeResult(EvaluationContext ctx, ExperimentPlan plan, int variation, bool hashUsed, string? featureId, double? bucket = null, bool stickyBucketUsed = false)
    {
        var exp = plan.Experiment;
        var inExperiment = true;
        if (variation < 0 || variation >= exp.Variations.Count)
        {
            variation = 0;
            inExperiment = false;
        }

        var fallback = ctx.StickyBuckets is not null && exp.DisableStickyBucketing != true ? exp.FallbackAttribute : null;
        var (hashAttribute, hashValue) = GetHashAttribute(ctx, exp.HashAttribute, fallback);
        var meta = exp.Meta is { } m && variation < m.Count ? m[variation] : null;
        return new ExperimentResult
        {
            Key = plan.VariationKey(variation),
            FeatureId = featureId,
            InExperiment = inExperiment,
            HashUsed = hashUsed,
            VariationId = variation,
            Value = exp.Variations.Count > variation ? exp.Variations[variation] : null,
            HashAttribute = hashAttribute,
            HashValue = hashValue,
            NumericHashValue = hashValue.Length > 0 && ctx.Attributes.TryGetPropertyValue(hashAttribute, out var raw) && raw?.GetValueKind() == JsonValueKind.Number ? raw : null,
            StickyBucketUsed = stickyBucketUsed,
            Name = string.IsNullOrEmpty(meta?.Name) ? null : meta.Name,
            Passthrough = meta?.Passthrough == true,
            Bucket = bucket,
        };
    }

    /// <summary>What running one experiment needs besides the user, worked out once: bucket ranges and variation keys.</summary>
    private sealed class ExperimentPlan
    {
        private readonly string[] variationKeys;

        public ExperimentPlan(Experiment experiment, string? featureKey)
        {
            Experiment = experiment;
            FeatureKey = featureKey;
            var count = experiment.Variations.Count;
            Ranges = experiment.Ranges ?? Buckets.GetBucketRanges(count, experiment.Coverage ?? 1, experiment.Weights);
            // A result outside the experiment reports variation 0, so there is always a key for it.
            variationKeys = new string[Math.Max(count, 1)];
            for (var i = 0; i < variationKeys.Length; i++)
            {
                var meta = experiment.Meta is { } m && i < m.Count ? m[i] : null;
                variationKeys[i] = string.IsNullOrEmpty(meta?.Key) ? i.ToString(CultureInfo.InvariantCulture) : meta.Key;
            }
        }

        public Experiment Experiment { get; }

        /// <summary>The feature whose rule this plan was built for (its key is the experiment key's default); null for inline experiments.</summary>
        public string? FeatureKey { get; }

        public IReadOnlyList<BucketRange> Ranges { get; }

        /// <summary>The meta key of the variation, or its index as text.</summary>
        public string VariationKey(int variation) => variationKeys[variation];
    }
}
