using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Upswing.Evaluation;

/// <summary>Reads GrowthBook's JSON shapes (context, features, experiments) and writes results in GrowthBook's result shape.</summary>
public static class GrowthBookJson
{
    /// <summary>Builds a context from GrowthBook's context JSON (attributes, features, url, forcedVariations, savedGroups, ...).</summary>
    public static EvaluationContext ParseContext(JsonObject json)
    {
        var forcedVariations = new Dictionary<string, int>(StringComparer.Ordinal);
        if (json["forcedVariations"] is JsonObject fv)
        {
            foreach (var (k, v) in fv)
            {
                if (GetInt(v) is { } i)
                {
                    forcedVariations[k] = i;
                }
            }
        }

        var forcedFeatures = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        if (json["forcedFeatures"] is JsonObject ff)
        {
            foreach (var (k, v) in ff)
            {
                forcedFeatures[k] = v?.DeepClone();
            }
        }

        var groups = new Dictionary<string, bool>(StringComparer.Ordinal);
        if (json["groups"] is JsonObject gs)
        {
            foreach (var (k, v) in gs)
            {
                groups[k] = JsValues.Truthy(v);
            }
        }

        var bandits = new Dictionary<string, ContextualBanditDefinition>(StringComparer.Ordinal);
        if (json["contextualBandits"] is JsonObject cbs)
        {
            foreach (var (k, v) in cbs)
            {
                if (v is JsonObject cb)
                {
                    bandits[k] = ParseContextualBandit(cb);
                }
            }
        }

        StickyBucketStore? sticky = null;
        if (json["stickyBucketAssignmentDocs"] is JsonObject docs)
        {
            sticky = new StickyBucketStore(docs.Select(d => d.Value).OfType<JsonObject>().Select(ParseStickyDocument).OfType<StickyAssignmentDocument>());
        }

        return new EvaluationContext
        {
            Attributes = json["attributes"] is JsonObject a ? ParseAttributes(a) : [],
            Url = GetString(json["url"]),
            Features = json["features"] is JsonObject f ? ParseFeatures(f) : new Dictionary<string, FeatureDefinition>(),
            Experiments = json["experiments"] is JsonArray e ? e.OfType<JsonObject>().Select(ParseExperiment).ToList() : [],
            ForcedVariations = forcedVariations,
            ForcedFeatures = forcedFeatures,
            SavedGroups = json["savedGroups"] is JsonObject sg ? ParseSavedGroups(sg) : null,
            ContextualBandits = bandits,
            Groups = groups,
            Enabled = GetBool(json["enabled"]) ?? true,
            QaMode = GetBool(json["qaMode"]) ?? false,
            StickyBuckets = sticky,
        };
    }

    /// <summary>
    /// User attributes ready for evaluation: a copy whose strings read without allocating (strings parsed from JSON
    /// text are decoded again on every read). Worth it whenever several features are evaluated for one user.
    /// </summary>
    public static JsonObject ParseAttributes(JsonObject json) => Prepare(json);

    /// <summary>Saved groups (id to list of values) ready for $inGroup/$notInGroup, prepared like <see cref="ParseAttributes"/>.</summary>
    public static JsonObject ParseSavedGroups(JsonObject json) => Prepare(json);

    private static JsonObject Prepare(JsonObject json) => (JsonObject)JsValues.CloneForEvaluation(json)!;

    /// <summary>Parses a GrowthBook "features" object (feature key to definition).</summary>
    public static Dictionary<string, FeatureDefinition> ParseFeatures(JsonObject json)
    {
        var features = new Dictionary<string, FeatureDefinition>(StringComparer.Ordinal);
        foreach (var (k, v) in json)
        {
            if (v is JsonObject f)
            {
                features[k] = ParseFeature(f);
            }
        }

        return features;
    }

    /// <summary>Parses one feature definition.</summary>
    public static FeatureDefinition ParseFeature(JsonObject json) => new()
    {
        DefaultValue = json["defaultValue"]?.DeepClone(),
        Rules = json["rules"] is JsonArray rules ? rules.OfType<JsonObject>().Select(ParseRule).ToList() : [],
    };

    /// <summary>Parses one feature rule.</summary>
    public static FeatureRule ParseRule(JsonObject json) => new()
    {
        Id = GetString(json["id"]),
        Condition = json["condition"] is JsonObject c ? Prepare(c) : null,
        ParentConditions = ParseParents(json["parentConditions"]),
        HasForce = json.ContainsKey("force"),
        Force = json["force"]?.DeepClone(),
        Variations = ParseValues(json["variations"]),
        ContextualVariations = ParseValues(json["contextualVariations"]),
        ContextualBanditRef = GetString(json["contextualBanditRef"]),
        Weights = ParseDoubles(json["weights"]),
        Key = GetString(json["key"]),
        HashAttribute = GetString(json["hashAttribute"]),
        FallbackAttribute = GetString(json["fallbackAttribute"]),
        DisableStickyBucketing = GetBool(json["disableStickyBucketing"]),
        BucketVersion = GetInt(json["bucketVersion"]),
        MinBucketVersion = GetInt(json["minBucketVersion"]),
        Coverage = GetDouble(json["coverage"]),
        Range = ParseRange(json["range"]),
        Namespace = ParseNamespace(json["namespace"]),
        Meta = ParseMeta(json["meta"]),
        Ranges = ParseRanges(json["ranges"]),
        Name = GetString(json["name"]),
        Phase = GetString(json["phase"]),
        Seed = GetString(json["seed"]),
        HashVersion = GetInt(json["hashVersion"]),
        Filters = ParseFilters(json["filters"]),
    };

    /// <summary>Parses an inline experiment.</summary>
    public static Experiment ParseExperiment(JsonObject json) => new()
    {
        Key = GetString(json["key"]) ?? "",
        Variations = ParseValues(json["variations"]) ?? [],
        Weights = ParseDoubles(json["weights"]),
        Coverage = GetDouble(json["coverage"]),
        Ranges = ParseRanges(json["ranges"]),
        Active = GetBool(json["active"]),
        Status = GetString(json["status"]),
        HashAttribute = GetString(json["hashAttribute"]),
        FallbackAttribute = GetString(json["fallbackAttribute"]),
        HashVersion = GetInt(json["hashVersion"]),
        Seed = GetString(json["seed"]),
        Namespace = ParseNamespace(json["namespace"]),
        Meta = ParseMeta(json["meta"]),
        Filters = ParseFilters(json["filters"]),
        Condition = json["condition"] is JsonObject c ? Prepare(c) : null,
        ParentConditions = ParseParents(json["parentConditions"]),
        Force = GetInt(json["force"]),
        Name = GetString(json["name"]),
        Phase = GetString(json["phase"]),
        DisableStickyBucketing = GetBool(json["disableStickyBucketing"]),
        BucketVersion = GetInt(json["bucketVersion"]),
        MinBucketVersion = GetInt(json["minBucketVersion"]),
        UrlPatterns = json["urlPatterns"] is JsonArray up
            ? up.OfType<JsonObject>().Select(p => new UrlPattern(GetString(p["type"]) ?? "simple", GetBool(p["include"]) ?? true, GetString(p["pattern"]) ?? "")).ToList()
            : null,
        PersistQueryString = GetBool(json["persistQueryString"]),
        Url = GetString(json["url"]),
        Groups = json["groups"] is JsonArray g ? g.Select(GetString).OfType<string>().ToList() : null,
    };

    /// <summary>Parses a contextual bandit definition.</summary>
    public static ContextualBanditDefinition ParseContextualBandit(JsonObject json) => new(
        GetInt(json["banditVersion"]),
        json["contexts"] is JsonArray contexts
            ? contexts.OfType<JsonObject>().Select(c => new ContextualBanditLeaf(
                GetInt(c["leafId"]) ?? -1,
                c["condition"] is JsonObject cond ? Prepare(cond) : [],
                ParseDoubles(c["weights"]) ?? [])).ToList()
            : null);

    /// <summary>Parses a sticky bucket document ({attributeName, attributeValue, assignments}).</summary>
    public static StickyAssignmentDocument? ParseStickyDocument(JsonObject json)
    {
        if (GetString(json["attributeName"]) is not { } name || json["attributeValue"] is not { } valueNode)
        {
            return null;
        }

        var assignments = new Dictionary<string, string>(StringComparer.Ordinal);
        if (json["assignments"] is JsonObject a)
        {
            foreach (var (k, v) in a)
            {
                assignments[k] = JsValues.ToJsString(v);
            }
        }

        return new StickyAssignmentDocument(name, JsValues.ToJsString(valueNode), assignments);
    }

    /// <summary>The feature result in GrowthBook's JSON shape.</summary>
    public static JsonObject ToJson(FeatureResult result)
    {
        var json = new JsonObject
        {
            ["value"] = result.Value?.DeepClone(),
            ["on"] = result.On,
            ["off"] = result.Off,
            ["source"] = SourceName(result.Source),
            ["ruleId"] = result.RuleId,
        };
        if (result.Experiment is { } e)
        {
            json["experiment"] = ToJson(e);
        }

        if (result.ExperimentResult is { } r)
        {
            json["experimentResult"] = ToJson(r);
        }

        return json;
    }

    /// <summary>The experiment result in GrowthBook's JSON shape.</summary>
    public static JsonObject ToJson(ExperimentResult result)
    {
        // One writer for both shapes, so the tree and the streamed form cannot drift apart.
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, result);
        }

        return JsonNode.Parse(buffer.WrittenSpan)!.AsObject();
    }

    /// <summary>Writes the experiment result in GrowthBook's JSON shape without building a tree (remote evaluation answers).</summary>
    public static void Write(Utf8JsonWriter writer, ExperimentResult result)
    {
        writer.WriteStartObject();
        writer.WriteString("featureId", result.FeatureId);
        writer.WritePropertyName("value");
        WriteValue(writer, result.Value);
        writer.WriteNumber("variationId", result.VariationId);
        writer.WriteBoolean("inExperiment", result.InExperiment);
        writer.WriteBoolean("hashUsed", result.HashUsed);
        writer.WriteString("hashAttribute", result.HashAttribute);
        if (result.NumericHashValue is { } number)
        {
            writer.WritePropertyName("hashValue");
            number.WriteTo(writer);
        }
        else
        {
            writer.WriteString("hashValue", result.HashValue);
        }

        writer.WriteString("key", result.Key);
        writer.WriteBoolean("stickyBucketUsed", result.StickyBucketUsed);
        if (result.Name is { } name)
        {
            writer.WriteString("name", name);
        }

        if (result.Bucket is { } bucket)
        {
            writer.WriteNumber("bucket", bucket);
        }

        if (result.Passthrough)
        {
            writer.WriteBoolean("passthrough", true);
        }

        if (result.LeafId is { } leaf)
        {
            writer.WriteNumber("leafId", leaf);
        }

        if (result.VariationWeights is { } weights)
        {
            writer.WriteStartArray("variationWeights");
            for (var i = 0; i < weights.Count; i++)
            {
                writer.WriteNumberValue(weights[i]);
            }

            writer.WriteEndArray();
        }

        if (result.BanditVersion is { } version)
        {
            writer.WriteNumber("banditVersion", version);
        }

        writer.WriteEndObject();
    }

    /// <summary>Writes a JSON value, null included.</summary>
    public static void WriteValue(Utf8JsonWriter writer, JsonNode? value)
    {
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            value.WriteTo(writer);
        }
    }

    /// <summary>The experiment in GrowthBook's JSON shape (only the fields that are set).</summary>
    public static JsonObject ToJson(Experiment e)
    {
        var json = new JsonObject
        {
            ["key"] = e.Key,
            ["variations"] = new JsonArray(e.Variations.Select(v => v?.DeepClone()).ToArray()),
        };
        Put(json, "weights", e.Weights is { } w ? Doubles(w) : null);
        Put(json, "coverage", e.Coverage);
        Put(json, "ranges", e.Ranges is { } r ? Ranges(r) : null);
        Put(json, "active", e.Active);
        Put(json, "status", e.Status);
        Put(json, "hashAttribute", e.HashAttribute);
        Put(json, "fallbackAttribute", e.FallbackAttribute);
        Put(json, "hashVersion", e.HashVersion);
        Put(json, "seed", e.Seed);
        Put(json, "namespace", e.Namespace is { } ns ? new JsonArray(ns.Id, ns.Start, ns.End) : null);
        Put(json, "meta", e.Meta is { } m ? new JsonArray(m.Select(MetaJson).ToArray()) : null);
        Put(json, "filters", e.Filters is { } f ? new JsonArray(f.Select(FilterJson).ToArray()) : null);
        Put(json, "condition", e.Condition?.DeepClone());
        Put(json, "parentConditions", e.ParentConditions is { } pc ? new JsonArray(pc.Select(ParentJson).ToArray()) : null);
        Put(json, "force", e.Force);
        Put(json, "name", e.Name);
        Put(json, "phase", e.Phase);
        Put(json, "disableStickyBucketing", e.DisableStickyBucketing);
        Put(json, "bucketVersion", e.BucketVersion);
        Put(json, "minBucketVersion", e.MinBucketVersion);
        Put(json, "persistQueryString", e.PersistQueryString);
        Put(json, "url", e.Url);
        Put(json, "groups", e.Groups is { } groups ? new JsonArray(groups.Select(g => (JsonNode)g).ToArray()) : null);
        if (e.ContextualBandit is { } cb)
        {
            var cbJson = new JsonObject { ["leafId"] = cb.LeafId, ["variationWeights"] = Doubles(cb.VariationWeights) };
            Put(cbJson, "banditVersion", cb.BanditVersion);
            json["contextualBandit"] = cbJson;
        }

        return json;
    }

    /// <summary>Sticky bucket documents keyed "attributeName||attributeValue", as GrowthBook stores them.</summary>
    public static JsonObject ToJson(StickyBucketStore store)
    {
        var json = new JsonObject();
        foreach (var (key, doc) in store.Documents)
        {
            var assignments = new JsonObject();
            foreach (var (k, v) in doc.Assignments)
            {
                assignments[k] = v;
            }

            json[key] = new JsonObject
            {
                ["attributeName"] = doc.AttributeName,
                ["attributeValue"] = doc.AttributeValue,
                ["assignments"] = assignments,
            };
        }

        return json;
    }

    /// <summary>GrowthBook's camelCase name for a feature source.</summary>
    public static string SourceName(FeatureSource source) => source switch
    {
        FeatureSource.UnknownFeature => "unknownFeature",
        FeatureSource.DefaultValue => "defaultValue",
        FeatureSource.Force => "force",
        FeatureSource.Override => "override",
        FeatureSource.Experiment => "experiment",
        FeatureSource.Prerequisite => "prerequisite",
        FeatureSource.CyclicPrerequisite => "cyclicPrerequisite",
        _ => throw new ArgumentOutOfRangeException(nameof(source)),
    };

    private static void Put<T>(JsonObject json, string name, T? value)
    {
        switch (value)
        {
            case null:
                return;
            case JsonNode node:
                json[name] = node;
                return;
            default:
                json[name] = JsonValue.Create(value);
                return;
        }
    }

    private static JsonArray Doubles(IEnumerable<double> values) => new(values.Select(v => (JsonNode)v).ToArray());

    private static JsonArray Ranges(IEnumerable<BucketRange> ranges) =>
        new(ranges.Select(r => (JsonNode)new JsonArray(r.Start, r.End)).ToArray());

    private static JsonObject MetaJson(VariationMeta m)
    {
        var json = new JsonObject();
        Put(json, "key", m.Key);
        Put(json, "name", m.Name);
        if (m.Passthrough)
        {
            json["passthrough"] = true;
        }

        return json;
    }

    private static JsonObject FilterJson(HashFilter f)
    {
        var json = new JsonObject();
        Put(json, "attribute", f.Attribute);
        json["seed"] = f.Seed;
        Put(json, "hashVersion", f.HashVersion);
        json["ranges"] = Ranges(f.Ranges);
        return json;
    }

    private static JsonObject ParentJson(ParentCondition p)
    {
        var json = new JsonObject { ["id"] = p.Id };
        Put(json, "condition", p.Condition?.DeepClone());
        if (p.Gate)
        {
            json["gate"] = true;
        }

        return json;
    }

    private static List<JsonNode?>? ParseValues(JsonNode? node) =>
        node is JsonArray a ? a.Select(v => v?.DeepClone()).ToList() : null;

    private static List<double>? ParseDoubles(JsonNode? node) =>
        node is JsonArray a ? a.Select(v => GetDouble(v) ?? 0).ToList() : null;

    private static BucketRange? ParseRange(JsonNode? node) =>
        node is JsonArray { Count: 2 } a && GetDouble(a[0]) is { } s && GetDouble(a[1]) is { } e ? new BucketRange(s, e) : null;

    private static List<BucketRange>? ParseRanges(JsonNode? node) =>
        node is JsonArray a ? a.Select(ParseRange).OfType<BucketRange>().ToList() : null;

    private static ExperimentNamespace? ParseNamespace(JsonNode? node) =>
        node is JsonArray { Count: 3 } a && GetString(a[0]) is { } id && GetDouble(a[1]) is { } s && GetDouble(a[2]) is { } e
            ? new ExperimentNamespace(id, s, e)
            : null;

    private static List<VariationMeta>? ParseMeta(JsonNode? node) =>
        node is JsonArray a
            ? a.Select(m => m is JsonObject o
                ? new VariationMeta { Key = GetString(o["key"]), Name = GetString(o["name"]), Passthrough = GetBool(o["passthrough"]) == true }
                : new VariationMeta()).ToList()
            : null;

    private static List<HashFilter>? ParseFilters(JsonNode? node) =>
        node is JsonArray a
            ? a.OfType<JsonObject>().Select(f => new HashFilter
            {
                Attribute = GetString(f["attribute"]),
                Seed = GetString(f["seed"]) ?? "",
                HashVersion = GetInt(f["hashVersion"]),
                Ranges = ParseRanges(f["ranges"]) ?? [],
            }).ToList()
            : null;

    private static List<ParentCondition>? ParseParents(JsonNode? node) =>
        node is JsonArray a
            ? a.OfType<JsonObject>().Select(p => new ParentCondition
            {
                Id = GetString(p["id"]) ?? "",
                Condition = p["condition"] is JsonObject c ? Prepare(c) : null,
                Gate = GetBool(p["gate"]) == true,
            }).ToList()
            : null;

    private static string? GetString(JsonNode? node) => JsValues.AsString(node);

    private static bool? GetBool(JsonNode? node) => JsValues.AsBool(node);

    private static double? GetDouble(JsonNode? node) => JsValues.TryGetNumber(node, out var d) ? d : null;

    private static int? GetInt(JsonNode? node) =>
        JsValues.TryGetNumber(node, out var d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue
            ? (int)d
            : JsValues.AsString(node) is { } s && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : null;
}
