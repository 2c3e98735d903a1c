using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Upswing.Evaluation;

namespace Upswing.Benchmarks;

/// <summary>
/// In-process evaluation, the work behind /api/eval, OFREP and the .NET SDK: hashing and the typical flags of issue 3
/// (a force rule behind an $in condition, a percentage rollout, a 3-arm experiment). The model is parsed once in
/// setup, as the server and the SDK do; each benchmark is one evaluation, which should allocate nothing.
/// </summary>
[MemoryDiagnoser]
public class EvaluationBenchmarks
{
    private EvaluationContext context = null!;

    [GlobalSetup]
    public void Setup()
    {
        var features = JsonNode.Parse("""
            {
              "eu-launch": { "defaultValue": false, "rules": [ { "id": "eu", "condition": { "country": { "$in": ["DE", "FR", "NL"] } }, "force": true } ] },
              "ramp": { "defaultValue": false, "rules": [ { "id": "r1", "force": true, "coverage": 0.3, "hashAttribute": "id" } ] },
              "discount": { "defaultValue": 0, "rules": [
                { "id": "exp", "key": "discount-test", "variations": [0, 10, 20], "weights": [0.34, 0.33, 0.33], "coverage": 1, "hashAttribute": "id", "hashVersion": 2,
                  "meta": [ { "key": "0" }, { "key": "1" }, { "key": "2" } ] } ] },
              "layout": { "defaultValue": "control", "rules": [
                { "id": "staff", "condition": { "email": { "$regex": "@acme\\.com$" } }, "force": "staff" },
                { "id": "exp", "key": "layout-test", "variations": ["a", "b", "c"], "weights": [0.5, 0.25, 0.25], "coverage": 0.8, "hashAttribute": "id", "hashVersion": 2,
                  "meta": [ { "key": "0" }, { "key": "1" }, { "key": "2" } ] } ] }
            }
            """)!.AsObject();
        context = new EvaluationContext
        {
            Features = GrowthBookJson.ParseFeatures(features),
            Attributes = new JsonObject { ["id"] = "user-12345", ["email"] = "ann@example.com", ["country"] = "FR" },
        };
    }

    [Benchmark(Description = "hash v2 (seed + id)")]
    public double? Hash() => Hashing.Hash("layout-test", "user-12345", 2);

    [Benchmark(Description = "eval force rule behind $in condition")]
    public FeatureResult ForceBehindCondition() => Evaluator.EvalFeature(context, "eu-launch");

    [Benchmark(Description = "eval rollout flag")]
    public FeatureResult Rollout() => Evaluator.EvalFeature(context, "ramp");

    [Benchmark(Description = "eval 3-arm experiment")]
    public FeatureResult Experiment() => Evaluator.EvalFeature(context, "discount");

    [Benchmark(Description = "eval flag: regex condition + 3-arm experiment")]
    public FeatureResult RegexThenExperiment() => Evaluator.EvalFeature(context, "layout");
}
