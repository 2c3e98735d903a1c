using System.Text.Json;
using System.Text.Json.Nodes;

namespace Upswing.Evaluation.Tests;

public sealed class EdgeRuleTests
{
    private static JsonObject Obj(string json) => (JsonObject)JsonNode.Parse(json)!;

    [Fact]
    public void Regex_CatastrophicPattern_TimesOutAndEvaluatesFalse()
    {
        var condition = Obj("""{"s": {"$regex": "^(a+)+$"}}""");
        var attributes = Obj($$"""{"s": "{{new string('a', 5000)}}!"}""");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(Conditions.Evaluate(attributes, condition));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public void Regex_InvalidPattern_EvaluatesFalse() =>
        Assert.False(Conditions.Evaluate(Obj("""{"s": "x"}"""), Obj("""{"s": {"$regex": "[("}}""")));

    [Theory]
    [InlineData("""{"beta": false}""", """{}""", false)]
    [InlineData("""{"beta": false}""", """{"beta": null}""", false)]
    [InlineData("""{"beta": false}""", """{"beta": 0}""", true)]
    [InlineData("""{"beta": true}""", """{"beta": "yes"}""", true)]
    public void BooleanCondition_NeedsTheAttribute(string condition, string attributes, bool expected) =>
        Assert.Equal(expected, Conditions.Evaluate(Obj(attributes), Obj(condition)));

    [Theory]
    [InlineData("$notRegex", "^Mozilla", "Mozilla/5.0", false)]
    [InlineData("$notRegex", "^mozilla", "Mozilla/5.0", true)]
    [InlineData("$notRegexi", "^mozilla", "Mozilla/5.0", false)]
    [InlineData("$notRegexi", "^curl", "Mozilla/5.0", true)]
    [InlineData("$notRegex", "[(", "Mozilla/5.0", false)]
    public void NotRegex_IsTheNegation_AndAnInvalidPatternStillFails(string op, string pattern, string agent, bool expected) =>
        Assert.Equal(expected, Conditions.Evaluate(new JsonObject { ["ua"] = agent }, new JsonObject { ["ua"] = new JsonObject { [op] = pattern } }));

    [Fact]
    public void ForceRule_EmptySeed_HashesWithTheFeatureKey()
    {
        // Coverage 0.5 on seed "" must decide exactly as coverage 0.5 on the feature's own key.
        for (var id = 0; id < 50; id++)
        {
            var attributes = Obj($$"""{"id": "{{id}}"}""");
            var expected = Hashing.Hash("checkout", id.ToString(System.Globalization.CultureInfo.InvariantCulture), 1)!.Value <= 0.5;
            var context = new EvaluationContext
            {
                Attributes = attributes,
                Features = new Dictionary<string, FeatureDefinition>
                {
                    ["checkout"] = new() { DefaultValue = 0, Rules = [new FeatureRule { HasForce = true, Force = 1, Coverage = 0.5, Seed = "" }] },
                },
            };
            Assert.Equal(expected, Evaluator.EvalFeature(context, "checkout").Source == FeatureSource.Force);
        }
    }

    [Fact]
    public void ExperimentResult_NumericHashAttribute_IsReportedAsANumber()
    {
        var context = GrowthBookJson.ParseContext(Obj("""{"attributes": {"id": 42}, "features": {"f": {"defaultValue": 0, "rules": [{"variations": [0, 1]}]}}}"""));
        var result = Evaluator.EvalFeature(context, "f").ExperimentResult!.Value;
        Assert.Equal("42", result.HashValue);
        Assert.Equal(JsonValueKind.Number, GrowthBookJson.ToJson(result)["hashValue"]!.GetValueKind());
    }

    [Fact]
    public void NumberCondition_CoercesStringAttribute_LikeJavaScript() =>
        Assert.True(Conditions.Evaluate(Obj("""{"n": "10"}"""), Obj("""{"n": 10}""")));

    [Fact]
    public void Eq_IsStrict_NoCoercion() =>
        Assert.False(Conditions.Evaluate(Obj("""{"n": "10"}"""), Obj("""{"n": {"$eq": 10}}""")));

    [Fact]
    public void ForceRule_CoverageIsInclusive()
    {
        // hash v1 of "1" with seed "f" decides; coverage equal to the hash still includes the user.
        var n = Hashing.Hash("f", "1", 1)!.Value;
        var context = new EvaluationContext
        {
            Attributes = Obj("""{"id": "1"}"""),
            Features = new Dictionary<string, FeatureDefinition>
            {
                ["f"] = new() { DefaultValue = false, Rules = [new FeatureRule { HasForce = true, Force = true, Coverage = n }] },
            },
        };
        Assert.Equal(FeatureSource.Force, Evaluator.EvalFeature(context, "f").Source);
    }

    [Fact]
    public void Prerequisite_Cycle_IsReportedNotOverflowed()
    {
        var context = GrowthBookJson.ParseContext(Obj("""
            {"features": {
              "a": {"defaultValue": 1, "rules": [{"parentConditions": [{"id": "b", "condition": {"value": 1}}]}]},
              "b": {"defaultValue": 1, "rules": [{"parentConditions": [{"id": "a", "condition": {"value": 1}}]}]}}}
            """));
        Assert.Equal(FeatureSource.CyclicPrerequisite, Evaluator.EvalFeature(context, "a").Source);
    }

    [Fact]
    public void StickyBucket_NewAssignment_IsRecordedAsChanged()
    {
        var store = new StickyBucketStore();
        var context = GrowthBookJson.ParseContext(Obj("""{"attributes": {"id": "u1"}}""")) with { StickyBuckets = store };
        var result = Evaluator.Run(context, new Experiment { Key = "exp", Variations = [0, 1] });
        Assert.True(result.InExperiment);
        var doc = Assert.Single(store.Changed);
        Assert.Equal("id||u1", doc.StoreKey);
        Assert.Equal(result.Key, doc.Assignments["exp__0"]);
    }

    [Fact]
    public void Decrypt_GarbageInput_ReturnsNull()
    {
        Assert.Null(Decryption.Decrypt("not-a-payload", "AAAAAAAAAAAAAAAAAAAAAA=="));
        Assert.Null(Decryption.Decrypt("AAAAAAAAAAAAAAAAAAAAAA==.AAAA", "short"));
    }

    [Fact]
    public void Versions_PlainReleaseSortsAfterPrerelease() =>
        Assert.True(string.CompareOrdinal(Versions.Pad("1.0.0"), Versions.Pad("1.0.0-rc.1")) > 0);
}
