using System.Text.Json.Nodes;

namespace Upswing.Evaluation.Tests;

/// <summary>GrowthBook's SDK conformance suite: one test result per case.</summary>
public sealed class GrowthBookConformanceTests
{
    public static IEnumerable<TheoryDataRow<string>> Cases(string section) => ConformanceCases.Section(section);

    private static (JsonArray Case, int Index) Load(string id)
    {
        var slash = id.IndexOf('/');
        var index = int.Parse(id[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        return (ConformanceCases.Get(id[..slash], index), index);
    }

    private static double Num(JsonNode? node) => node!.GetValue<double>();

    [Theory]
    [MemberData(nameof(Cases), "evalCondition")]
    public void EvalCondition(string id)
    {
        var (c, _) = Load(id);
        var savedGroups = c.Count > 4 ? c[4] as JsonObject : null;
        var actual = Conditions.Evaluate(c[2], (JsonObject)c[1]!, savedGroups);
        Assert.Equal(c[3]!.GetValue<bool>(), actual);
    }

    [Theory]
    [MemberData(nameof(Cases), "hash")]
    public void Hash(string id)
    {
        var (c, _) = Load(id);
        var actual = Hashing.Hash(c[0]!.GetValue<string>(), c[1]!.GetValue<string>(), c[2]!.GetValue<int>());
        Assert.Equal(c[3] is null ? null : Num(c[3]), actual);
    }

    [Theory]
    [MemberData(nameof(Cases), "getBucketRange")]
    public void GetBucketRange(string id)
    {
        var (c, _) = Load(id);
        var args = (JsonArray)c[1]!;
        var weights = args[2] is JsonArray w ? w.Select(Num).ToList() : null;
        var ranges = Buckets.GetBucketRanges(args[0]!.GetValue<int>(), Num(args[1]), weights);
        var expected = ((JsonArray)c[2]!).Select(r => (Floor(Num(r![0])), Floor(Num(r[1])))).ToList();
        Assert.Equal(expected, ranges.Select(r => (Floor(r.Start), Floor(r.End))).ToList());

        static double Floor(double x) => Math.Floor(x * 1e8) / 1e8;
    }

    [Theory]
    [MemberData(nameof(Cases), "feature")]
    public void Feature(string id)
    {
        var (c, _) = Load(id);
        var context = GrowthBookJson.ParseContext((JsonObject)c[1]!);
        var result = Evaluator.EvalFeature(context, c[2]!.GetValue<string>());
        JsonAssert.Equal(c[3], GrowthBookJson.ToJson(result));
    }

    [Theory]
    [MemberData(nameof(Cases), "run")]
    public void Run(string id)
    {
        var (c, _) = Load(id);
        var context = GrowthBookJson.ParseContext((JsonObject)c[1]!);
        var result = Evaluator.Run(context, GrowthBookJson.ParseExperiment((JsonObject)c[2]!));
        JsonAssert.Equal(c[3], result.Value);
        Assert.Equal(c[4]!.GetValue<bool>(), result.InExperiment);
        Assert.Equal(c[5]!.GetValue<bool>(), result.HashUsed);
    }

    [Theory]
    [MemberData(nameof(Cases), "chooseVariation")]
    public void ChooseVariation(string id)
    {
        var (c, _) = Load(id);
        var ranges = ((JsonArray)c[2]!).Select(r => new BucketRange(Num(r![0]), Num(r[1]))).ToList();
        Assert.Equal(c[3]!.GetValue<int>(), Buckets.ChooseVariation(Num(c[1]), ranges));
    }

    [Theory]
    [MemberData(nameof(Cases), "getQueryStringOverride")]
    public void GetQueryStringOverride(string id)
    {
        var (c, _) = Load(id);
        var actual = Buckets.GetQueryStringOverride(c[1]!.GetValue<string>(), c[2]!.GetValue<string>(), c[3]!.GetValue<int>());
        Assert.Equal(c[4]?.GetValue<int>(), actual);
    }

    [Theory]
    [MemberData(nameof(Cases), "inNamespace")]
    public void InNamespace(string id)
    {
        var (c, _) = Load(id);
        var ns = (JsonArray)c[2]!;
        var actual = Buckets.InNamespace(c[1]!.GetValue<string>(), new ExperimentNamespace(ns[0]!.GetValue<string>(), Num(ns[1]), Num(ns[2])));
        Assert.Equal(c[3]!.GetValue<bool>(), actual);
    }

    [Theory]
    [MemberData(nameof(Cases), "getEqualWeights")]
    public void GetEqualWeights(string id)
    {
        var (c, _) = Load(id);
        var expected = ((JsonArray)c[1]!).Select(w => Math.Round(Num(w), 8)).ToList();
        Assert.Equal(expected, Buckets.GetEqualWeights(c[0]!.GetValue<int>()).Select(w => Math.Round(w, 8)).ToList());
    }

    [Theory]
    [MemberData(nameof(Cases), "decrypt")]
    public void Decrypt(string id)
    {
        var (c, _) = Load(id);
        Assert.Equal(c[3]?.GetValue<string>(), Decryption.Decrypt(c[1]!.GetValue<string>(), c[2]!.GetValue<string>()));
    }

    [Theory]
    [MemberData(nameof(Cases), "stickyBucket")]
    public void StickyBucket(string id)
    {
        var (c, _) = Load(id);
        var parsed = GrowthBookJson.ParseContext((JsonObject)c[1]!);
        // The case's documents are what a sticky bucket service holds; an SDK loads only those of this user's attribute
        // values (GrowthBook's refreshStickyBuckets), so another device's assignments are never seen or written back.
        var stored = ((JsonArray)c[2]!).OfType<JsonObject>().Select(GrowthBookJson.ParseStickyDocument).OfType<StickyAssignmentDocument>()
            .Where(d => Evaluator.HashValue(parsed.Attributes, d.AttributeName) == d.AttributeValue);
        var documents = (parsed.StickyBuckets?.Documents.Values ?? []).Concat(stored);
        var store = new StickyBucketStore(documents);
        var context = parsed with { StickyBuckets = store };

        var result = Evaluator.EvalFeature(context, c[3]!.GetValue<string>());

        JsonAssert.Equal(c[4], result.ExperimentResult is { } r ? GrowthBookJson.ToJson(r) : null);
        JsonAssert.Equal(c[5], GrowthBookJson.ToJson(store));
    }

    [Theory]
    [MemberData(nameof(Cases), "urlRedirect")]
    public void UrlRedirect(string id)
    {
        var (c, _) = Load(id);
        var context = GrowthBookJson.ParseContext((JsonObject)c[1]!);
        var redirects = UrlTargeting.GetRedirects(context);
        var actual = new JsonArray(redirects.Select(r => (JsonNode)new JsonObject
        {
            ["inExperiment"] = r.InExperiment,
            ["urlRedirect"] = r.RedirectUrl,
            ["urlWithParams"] = r.UrlWithParams,
        }).ToArray());
        JsonAssert.Equal(c[2], actual);
    }

    [Theory]
    [MemberData(nameof(Cases), "contextualBandit")]
    public void ContextualBandit(string id)
    {
        var (c, _) = Load(id);
        var context = GrowthBookJson.ParseContext((JsonObject)c[1]!);
        var result = Evaluator.EvalFeature(context, c[2]!.GetValue<string>());
        JsonAssert.Equal(c[3], GrowthBookJson.ToJson(result));
    }
}
