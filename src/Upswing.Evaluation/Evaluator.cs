using System.Globalization;
using System.Text.Json.Nodes;

namespace Upswing.Evaluation;

/// <summary>Evaluates features and runs experiments exactly like GrowthBook's SDKs.</summary>
public static class Evaluator
{
    private static readonly JsonObject EmptyCondition = [];

    /// <summary>Evaluates feature <paramref name="key"/> for the user in <paramref name="context"/>.</summary>
    public static FeatureResult EvalFeature(EvaluationContext context, string key) =>
        EvalFeature(context, key, new HashSet<string>(StringComparer.Ordinal));

    /// <summary>Runs an inline experiment for the user in <paramref name="context"/>.</summary>
    public static ExperimentResult Run(EvaluationContext context, Experiment experiment) =>
        RunCore(context, experiment, null, null, out _);

    private static FeatureResult EvalFeature(EvaluationContext ctx, string key, HashSet<string> stack)
    {
        if (!stack.Add(key))
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

        foreach (var rule in feature.Rules)
        {
            if (rule.ParentConditions is { } parents)
            {
                switch (EvalPrerequisites(ctx, parents, stack))
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
                if (!IsIncludedInRollout(ctx, rule.Seed ?? key, rule.HashAttribute, fallback, rule.Range, rule.Coverage, rule.HashVersion))
                {
                    continue;
                }

                return new FeatureResult { Value = rule.Force, Source = FeatureSource.Force, RuleId = rule.Id ?? "" };
            }

            var variations = rule.Variations;
            var weights = rule.Weights;
            ContextualBanditAssignment? bandit = null;
            if (rule.ContextualBanditRef is { } banditRef && rule.ContextualVariations is { } contextual)
            {
                variations = contextual;
                if (ctx.ContextualBandits.TryGetValue(banditRef, out var definition))
                {
                    bandit = RouteBandit(ctx, definition, rule.Weights ?? Buckets.GetEqualWeights(contextual.Count));
                    weights = bandit.VariationWeights;
                }
            }

            if (variations is null)
            {
                continue;
            }

            var experiment = new Experiment
            {
                Key = string.IsNullOrEmpty(rule.Key) ? key : rule.Key,
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

            var result = RunCore(ctx, experiment, key, stack, out var ran, bandit);
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

    private static string AttributeString(EvaluationContext ctx, string name) =>
        ctx.Attributes.TryGetPropertyValue(name, out var node) && JsValues.Truthy(node) ? JsValues.ToJsString(node) : "";

    private static bool IsFilteredOut(EvaluationContext ctx, IReadOnlyList<HashFilter> filters)
    {
        foreach (var filter in filters)
        {
            var (_, value) = GetHashAttribute(ctx, filter.Attribute, null);
            if (value.Length == 0)
            {
                return true;
            }

            if (Hashing.Hash(filter.Seed, value, filter.HashVersion ?? 2) is not { } n)
            {
                return true;
            }

            if (!filter.Ranges.Any(r => r.Contains(n)))
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

    private static ExperimentResult RunCore(EvaluationContext ctx, Experiment exp, string? featureId, HashSet<string>? stack, out Experiment ran, ContextualBanditAssignment? bandit = null)
    {
        ran = exp;
        var numVariations = exp.Variations.Count;
        if (numVariations < 2 || !ctx.Enabled)
        {
            return NotIn(ctx, exp, featureId);
        }

        if (Buckets.GetQueryStringOverride(exp.Key, ctx.Url, numVariations) is { } fromQuery)
        {
            return MakeResult(ctx, exp, fromQuery, false, featureId);
        }

        if (ctx.ForcedVariations.TryGetValue(exp.Key, out var forcedVariation))
        {
            return MakeResult(ctx, exp, forcedVariation, false, featureId);
        }

        if (exp.Status == "draft" || exp.Active == false)
        {
            return NotIn(ctx, exp, featureId);
        }

        var sticky = ctx.StickyBuckets is { } store && exp.DisableStickyBucketing != true ? store : null;
        var (hashAttribute, hashValue) = GetHashAttribute(ctx, exp.HashAttribute, sticky is not null ? exp.FallbackAttribute : null);
        if (hashValue.Length == 0)
        {
            return NotIn(ctx, exp, featureId);
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
                    return NotIn(ctx, exp, featureId);
                }
            }
            else if (exp.Namespace is { } ns && !Buckets.InNamespace(hashValue, ns))
            {
                return NotIn(ctx, exp, featureId);
            }

            if (exp.Condition is { } condition && !Conditions.Evaluate(ctx.Attributes, condition, ctx.SavedGroups))
            {
                return NotIn(ctx, exp, featureId);
            }

            if (exp.ParentConditions is { } parents
                && EvalPrerequisites(ctx, parents, stack ?? new HashSet<string>(StringComparer.Ordinal)) != Prerequisites.Passed)
            {
                return NotIn(ctx, exp, featureId);
            }
        }

        if (exp.Groups is { Count: > 0 } groups && !groups.Any(g => ctx.Groups.GetValueOrDefault(g)))
        {
            return NotIn(ctx, exp, featureId);
        }

        if (exp.Url is { } urlPattern && !UrlTargeting.MatchesLegacyUrl(ctx.Url, urlPattern))
        {
            return NotIn(ctx, exp, featureId);
        }

        if (exp.UrlPatterns is { Count: > 0 } patterns && !UrlTargeting.IsTargeted(ctx.Url ?? "", patterns))
        {
            return NotIn(ctx, exp, featureId);
        }

        if (Hashing.Hash(exp.Seed ?? exp.Key, hashValue, exp.HashVersion ?? 1) is not { } n)
        {
            return NotIn(ctx, exp, featureId);
        }

        if (!foundSticky)
        {
            var ranges = exp.Ranges ?? Buckets.GetBucketRanges(numVariations, exp.Coverage ?? 1, exp.Weights);
            assigned = Buckets.ChooseVariation(n, ranges);
        }

        if (versionBlocked)
        {
            return MakeResult(ctx, exp, -1, false, featureId, stickyBucketUsed: true);
        }

        if (assigned < 0)
        {
            return NotIn(ctx, exp, featureId);
        }

        if (exp.Force is { } force)
        {
            return MakeResult(ctx, exp, force, false, featureId);
        }

        if (ctx.QaMode || exp.Status == "stopped")
        {
            return NotIn(ctx, exp, featureId);
        }

        var result = MakeResult(ctx, exp, assigned, true, featureId, n, foundSticky);
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

    private static ExperimentResult NotIn(EvaluationContext ctx, Experiment exp, string? featureId) =>
        MakeResult(ctx, exp, -1, false, featureId);

    private static ExperimentResult MakeResult(EvaluationContext ctx, Experiment exp, int variation, bool hashUsed, string? featureId, double? bucket = null, bool stickyBucketUsed = false)
    {
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
            Key = string.IsNullOrEmpty(meta?.Key) ? variation.ToString(CultureInfo.InvariantCulture) : meta.Key,
            FeatureId = featureId,
            InExperiment = inExperiment,
            HashUsed = hashUsed,
            VariationId = variation,
            Value = exp.Variations.Count > variation ? exp.Variations[variation] : null,
            HashAttribute = hashAttribute,
            HashValue = hashValue,
            StickyBucketUsed = stickyBucketUsed,
            Name = string.IsNullOrEmpty(meta?.Name) ? null : meta.Name,
            Passthrough = meta?.Passthrough == true,
            Bucket = bucket,
        };
    }
}
