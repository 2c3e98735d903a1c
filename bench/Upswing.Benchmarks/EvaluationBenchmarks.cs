using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Upswing.Evaluation;

namespace Upswing.Benchmarks;

/// <summary>In-process evaluation, the work behind /api/eval and the .NET SDK: hashing and typical flags.</summary>
[MemoryDiagnoser]
public class EvaluationBenchmarks
{
    private EvaluationContext context = null!;

    [GlobalSetup]
    public void Setup()
    {
        var features = JsonNode.Parse("""
            {
              "ramp": { "defaultValue": false, "rules": [ { "id": "r1", "force": true, "coverage": 0.3, "hashAttribute": "id" } ] },
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

    [Benchmark(Description = "eval rollout flag")]
    public FeatureResult Rollout() => Evaluator.EvalFeature(context, "ramp");

    [Benchmark(Description = "eval flag: regex condition + 3-arm experiment")]
    public FeatureResult Experiment() => Evaluator.EvalFeature(context, "layout");
}
