using System.Text.Json;
using System.Text.Json.Nodes;
using Upswing.Evaluation;
using Upswing.Flags;

namespace Upswing.App.Tests.Flags;

/// <summary>The "try a user" explainer: its answer is the evaluator's, and each skip gives its reason and numbers.</summary>
public sealed class FeatureExplainerTests
{
    private const string Env = "production";

    // Rules as the SDK payload spells them (what SdkPayloadBuilder writes), plus rule shapes only other
    // GrowthBook sources use (prerequisites, filters, namespaces, ranges, passthrough), so agreement covers the evaluator's paths.
    private const string Payload = """
        {
          "flag-a": { "defaultValue": false, "rules": [
            { "id": "beta", "condition": { "email": { "$inGroup": "beta" } }, "force": true },
            { "id": "eu", "condition": { "country": { "$in": ["FR", "DE"] } }, "force": true, "coverage": 0.3, "hashAttribute": "id" },
            { "id": "ramp", "force": true, "coverage": 0.5, "hashAttribute": "id" } ] },
          "price": { "defaultValue": 0, "rules": [
            { "id": "exp", "key": "price-test", "variations": [0, 10, 20], "weights": [0.5, 0.25, 0.25], "coverage": 0.8,
              "hashAttribute": "id", "hashVersion": 2, "meta": [{ "key": "0" }, { "key": "1" }, { "key": "2" }],
              "condition": { "plan": { "$ne": "enterprise" } } } ] },
          "child": { "defaultValue": "off", "rules": [
            { "id": "needs-a", "parentConditions": [{ "id": "flag-a", "condition": { "value": true } }], "force": "on" },
            { "id": "gate", "parentConditions": [{ "id": "price", "condition": { "value": { "$gt": 15 } }, "gate": true }], "force": "gated" } ] },
          "exotic": { "defaultValue": "d", "rules": [
            { "id": "ranged", "force": "r", "range": [0.1, 0.4], "hashAttribute": "company", "seed": "s1", "hashVersion": 2 },
            { "id": "filtered", "force": "f", "filters": [{ "seed": "h", "ranges": [[0, 0.5]], "attribute": "id" }] },
            { "id": "ns", "key": "ns-exp", "variations": ["a", "b"], "namespace": ["ns1", 0, 0.6], "hashAttribute": "id" },
            { "id": "pass", "key": "pass-exp", "variations": ["p0", "p1"], "meta": [{ "key": "0", "passthrough": true }, { "key": "1" }] } ] },
          "cycle-1": { "defaultValue": 1, "rules": [ { "id": "c1", "parentConditions": [{ "id": "cycle-2", "condition": { "value": 2 } }], "force": 3 } ] },
          "cycle-2": { "defaultValue": 2, "rules": [ { "force": 9, "condition": { "x": 1 } }, { "parentConditions": [{ "id": "cycle-1", "condition": { "value": 1 } }], "force": 4 } ] }
        }
        """;

    private static readonly EvaluationContext Model = new()
    {
        Features = GrowthBookJson.ParseFeatures(JsonNode.Parse(Payload)!.AsObject()),
        SavedGroups = new JsonObject { ["beta"] = new JsonArray("maya@example.com", "lucas@example.com") },
    };

    private static readonly SavedGroupDto Beta = new(Guid.NewGuid(), "beta", "Beta testers", SavedGroupType.List, "email",
        [Json("\"maya@example.com\""), Json("\"lucas@example.com\"")], null, default, default);

    [Fact]
    public void Explain_RandomUsers_AgreesWithTheEvaluatorOnEveryFeature()
    {
        var random = new Random(20261122);
        for (var i = 0; i < 3000; i++)
        {
            var context = Model with
            {
                Attributes = RandomUser(random),
                ForcedVariations = random.Next(20) == 0 ? new Dictionary<string, int> { ["price-test"] = random.Next(-1, 4) } : Model.ForcedVariations,
                Url = random.Next(20) == 0 ? $"https://app.example/?price-test={random.Next(0, 4)}" : null,
            };
            foreach (var key in Model.Features.Keys.Append("missing"))
            {
                AssertAgrees(context, key, null);
            }
        }
    }

    [Fact]
    public void Explain_ConditionFalse_ShowsTheCondition()
    {
        var explanation = Explain(new JsonObject { ["id"] = "u1", ["country"] = "US" }, "flag-a");

        var eu = explanation.Rules[1];
        Assert.Equal(RuleOutcome.Skipped, eu.Outcome);
        Assert.Equal(RuleSkipReason.ConditionFalse, eu.Reason);
        Assert.Equal("""{"country":{"$in":["FR","DE"]}}""", eu.Condition!.ToJsonString());
    }

    [Fact]
    public void Explain_UserOutsideTheSavedGroup_NamesTheGroup()
    {
        var feature = Stored("flag-a", new Upswing.Flags.FeatureRule { Id = "beta", Type = FeatureRuleType.Force, SavedGroups = ["beta"], Value = Json("true") });

        var explanation = FeatureExplainer.Explain(Model with { Attributes = new JsonObject { ["id"] = "u1", ["email"] = "tom@example.com" } }, "flag-a", feature, Env, [Beta]);

        var beta = explanation.Rules[0];
        Assert.Equal(RuleSkipReason.SavedGroupNotMatched, beta.Reason);
        Assert.Equal("beta", beta.SavedGroup);
        Assert.Contains("\"tom@example.com\"", beta.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_UserOutsideTheRollout_ShowsTheirHashAgainstTheCoverage()
    {
        var (user, hash) = FirstUser("flag-a", n => n > 0.5);

        var ramp = Explain(new JsonObject { ["id"] = user }, "flag-a").Rules[2];

        Assert.Equal(RuleSkipReason.NotInRollout, ramp.Reason);
        Assert.Equal(hash, ramp.Hash);
        Assert.Equal(0.5, ramp.Coverage);
        Assert.Equal(user, ramp.HashValue);
    }

    [Fact]
    public void Explain_UserInsideTheRollout_MatchesAndLaterRulesAreNotReached()
    {
        var (user, _) = FirstUser("flag-a", n => n <= 0.5);
        var feature = Stored(
            "flag-a",
            new Upswing.Flags.FeatureRule { Id = "off", Type = FeatureRuleType.Force, Value = Json("true"), Enabled = false },
            new Upswing.Flags.FeatureRule { Id = "beta", Type = FeatureRuleType.Force, SavedGroups = ["beta"], Value = Json("true") },
            new Upswing.Flags.FeatureRule { Id = "eu", Type = FeatureRuleType.Rollout, Condition = Json("""{"country":{"$in":["FR","DE"]}}"""), Value = Json("true"), Coverage = 0.3 },
            new Upswing.Flags.FeatureRule { Id = "ramp", Type = FeatureRuleType.Rollout, Value = Json("true"), Coverage = 0.5 },
            new Upswing.Flags.FeatureRule { Id = "later", Type = FeatureRuleType.Force, Value = Json("false") });

        var explanation = FeatureExplainer.Explain(Model with { Attributes = new JsonObject { ["id"] = user } }, "flag-a", feature, Env, [Beta]);

        Assert.Equal(FeatureSource.Force, explanation.Source);
        Assert.Equal("ramp", explanation.RuleId);
        Assert.Equal([RuleOutcome.Disabled, RuleOutcome.Skipped, RuleOutcome.Skipped, RuleOutcome.Matched, RuleOutcome.NotReached], explanation.Rules.Select(r => r.Outcome));
        Assert.Equal("rollout", explanation.Rules[3].Kind);
        Assert.Contains("Rule 4 (rollout)", explanation.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_UserWithoutTheHashAttribute_IsSkippedForThatReason()
    {
        var explanation = Explain(new JsonObject { ["email"] = "tom@example.com" }, "flag-a");

        Assert.Equal(RuleSkipReason.HashAttributeMissing, explanation.Rules[2].Reason);
        Assert.Equal("id", explanation.Rules[2].HashAttribute);
        Assert.Equal(FeatureSource.DefaultValue, explanation.Source);
    }

    [Fact]
    public void Explain_ExperimentRule_ShowsBucketVariationAndInExperiment()
    {
        var inside = Explain(new JsonObject { ["id"] = FirstUserInExperiment(true) }, "price");
        var outside = Explain(new JsonObject { ["id"] = FirstUserInExperiment(false) }, "price");

        Assert.Equal(FeatureSource.Experiment, inside.Source);
        var rule = inside.Rules[0];
        Assert.Equal(RuleOutcome.Matched, rule.Outcome);
        Assert.True(rule.InExperiment);
        Assert.Equal("price-test", rule.ExperimentKey);
        Assert.True(rule.Ranges![rule.Variation!.Value].Contains(rule.Hash!.Value));
        Assert.Equal(RuleSkipReason.NotInExperimentBuckets, outside.Rules[0].Reason);
        Assert.False(outside.Rules[0].InExperiment);
        Assert.Equal(FeatureSource.DefaultValue, outside.Source);
    }

    [Fact]
    public void Explain_FailedPrerequisite_SkipsTheRule_AndAFailedGateEndsEvaluation()
    {
        var explanation = Explain(new JsonObject { ["email"] = "nobody@example.com" }, "child");

        Assert.Equal(RuleSkipReason.PrerequisiteFailed, explanation.Rules[0].Reason);
        Assert.Contains("'flag-a'", explanation.Rules[0].Message, StringComparison.Ordinal);
        Assert.Equal(FeatureSource.Prerequisite, explanation.Source);
        Assert.Null(explanation.Value);
    }

    [Fact]
    public void Explain_PrerequisiteCycle_IsCyclicPrerequisite()
    {
        var explanation = Explain(new JsonObject { ["id"] = "u1" }, "cycle-1");

        Assert.Equal(FeatureSource.CyclicPrerequisite, explanation.Source);
        Assert.True(explanation.AgreesWithEvaluator);
    }

    [Fact]
    public void Explain_FeatureSwitchedOffInTheEnvironment_IsUnknownAndSaysWhy()
    {
        var feature = Stored("gone", new Upswing.Flags.FeatureRule { Id = "r", Type = FeatureRuleType.Force, Value = Json("true") }) with
        {
            Environments = new Dictionary<string, FeatureEnvironmentDto> { [Env] = new(false, [new Upswing.Flags.FeatureRule { Id = "r", Type = FeatureRuleType.Force, Value = Json("true") }]) },
        };

        var explanation = FeatureExplainer.Explain(Model, "gone", feature, Env, []);

        Assert.Equal(FeatureSource.UnknownFeature, explanation.Source);
        Assert.Contains("switched off in production", explanation.Summary, StringComparison.Ordinal);
        Assert.Equal(RuleOutcome.NotReached, Assert.Single(explanation.Rules).Outcome);
    }

    [Theory]
    [InlineData("{\"id\": \"user-1\"}", true)]
    [InlineData("", true)]
    [InlineData("[1, 2]", false)]
    [InlineData("{\"id\": ", false)]
    public void ParseAttributes_AcceptsOnlyAJsonObject(string json, bool ok)
    {
        var result = FeatureExplainer.ParseAttributes(json);

        Assert.Equal(ok, result.Succeeded);
        Assert.True(ok || result.Failure!.Errors!.ContainsKey("attributes"));
    }

    internal static void AssertAgrees(EvaluationContext context, string key, FeatureDto? feature, IReadOnlyList<SavedGroupDto>? groups = null, string environment = Env)
    {
        var expected = Evaluator.EvalFeature(context, key);
        var explanation = FeatureExplainer.Explain(context, key, feature, environment, groups ?? [Beta]);
        var user = context.Attributes.ToJsonString();
        Assert.True(expected.Source == explanation.Source, $"{key} for {user}: evaluator {expected.Source}, explainer {explanation.Source}");
        Assert.True(expected.RuleId == explanation.RuleId, $"{key} for {user}: evaluator rule '{expected.RuleId}', explainer '{explanation.RuleId}'");
        Assert.True(JsonNode.DeepEquals(expected.Value, explanation.Value), $"{key} for {user}: evaluator {expected.Value?.ToJsonString()}, explainer {explanation.Value?.ToJsonString()}");
        Assert.True(explanation.AgreesWithEvaluator);
        Assert.Equal(explanation.Source is FeatureSource.Force or FeatureSource.Experiment ? 1 : 0, explanation.Rules.Count(r => r.Outcome == RuleOutcome.Matched && r.Reason == RuleSkipReason.None));
    }

    internal static JsonObject RandomUser(Random random)
    {
        var user = new JsonObject();
        switch (random.Next(8))
        {
            case 0:
                break;
            case 1:
                user["id"] = "";
                break;
            case 2:
                user["id"] = random.Next(100_000);
                break;
            case 3:
                user["id"] = random.NextDouble() * 1000;
                break;
            case 4:
                user["id"] = random.Next(2) == 0;
                break;
            default:
                user["id"] = $"user-{random.Next(1_000_000)}";
                break;
        }

        user["email"] = random.Next(5) switch
        {
            0 => "maya@example.com",
            1 => "lucas.bergstrom@example.com",
            2 => "maya.okafor@example.com",
            _ => $"someone{random.Next(1000)}@example.com",
        };
        if (random.Next(4) > 0)
        {
            user["country"] = new[] { "FR", "DE", "NL", "US", "" }[random.Next(5)];
        }

        if (random.Next(3) == 0)
        {
            user["company"] = $"co-{random.Next(50)}";
        }

        if (random.Next(3) == 0)
        {
            user["plan"] = random.Next(2) == 0 ? "enterprise" : "free";
        }

        if (random.Next(10) == 0)
        {
            user["x"] = 1;
        }

        return user;
    }

    private static FeatureExplanation Explain(JsonObject attributes, string key)
    {
        var context = Model with { Attributes = attributes };
        AssertAgrees(context, key, null);
        return FeatureExplainer.Explain(context, key, null, Env, [Beta]);
    }

    // A rollout without a seed hashes on the feature key, version 1.
    private static (string User, double Hash) FirstUser(string key, Func<double, bool> predicate)
    {
        for (var i = 0; ; i++)
        {
            var user = $"user-{i}";
            var n = Hashing.Hash(key, user, 1)!.Value;
            if (predicate(n))
            {
                return (user, n);
            }
        }
    }

    private static string FirstUserInExperiment(bool inExperiment)
    {
        for (var i = 0; ; i++)
        {
            var user = $"user-{i}";
            var result = Evaluator.EvalFeature(Model with { Attributes = new JsonObject { ["id"] = user } }, "price");
            if ((result.Source == FeatureSource.Experiment) == inExperiment)
            {
                return user;
            }
        }
    }

    private static FeatureDto Stored(string key, params Upswing.Flags.FeatureRule[] rules) => new(
        Guid.NewGuid(), key, FeatureValueType.Boolean, Json("false"), null, [], false, 1, default, default,
        new Dictionary<string, FeatureEnvironmentDto> { [Env] = new(true, rules) });

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
