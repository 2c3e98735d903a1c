using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Upswing.Evaluation;

namespace Upswing.Sdk;

/// <summary>A parsed payload: the evaluation model every per-user context derives from, and when it was last changed.</summary>
internal sealed record FeaturePayload(EvaluationContext Model, DateTimeOffset? DateUpdated)
{
    public static readonly FeaturePayload Empty = new(new EvaluationContext(), null);

    /// <summary>Why a payload could not be used.</summary>
    public enum Problem
    {
        None,
        InvalidJson,
        EncryptedWithoutKey,
        DecryptionFailed,
    }

    /// <summary>Parses GrowthBook's payload JSON, decrypting encryptedFeatures / encryptedSavedGroups with <paramref name="decryptionKey"/>.</summary>
    public static (FeaturePayload? Payload, Problem Problem) Parse(ReadOnlySpan<byte> json, string? decryptionKey)
    {
        JsonObject root;
        try
        {
            if (JsonNode.Parse(json) is not JsonObject parsed)
            {
                return (null, Problem.InvalidJson);
            }

            root = parsed;
        }
        catch (JsonException)
        {
            return (null, Problem.InvalidJson);
        }

        var (features, featuresProblem) = Section(root, "features", "encryptedFeatures", decryptionKey);
        if (featuresProblem != Problem.None)
        {
            return (null, featuresProblem);
        }

        var (savedGroups, groupsProblem) = Section(root, "savedGroups", "encryptedSavedGroups", decryptionKey);
        if (groupsProblem != Problem.None)
        {
            return (null, groupsProblem);
        }

        // JSON nodes parsed from bytes build their children lazily; touching every node once here means the
        // shared model is only ever read afterwards, so concurrent evaluations never race on that first build.
        Materialize(features);
        Materialize(savedGroups);
        Materialize(root["experiments"]);
        var model = new EvaluationContext
        {
            Features = features is JsonObject f ? GrowthBookJson.ParseFeatures(f) : new Dictionary<string, FeatureDefinition>(StringComparer.Ordinal),
            SavedGroups = savedGroups as JsonObject,
            Experiments = root["experiments"] is JsonArray e ? e.OfType<JsonObject>().Select(GrowthBookJson.ParseExperiment).ToList() : [],
        };
        var updated = JsonText.AsString(root["dateUpdated"]) is { } text
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) ? date : (DateTimeOffset?)null;
        return (new FeaturePayload(model, updated), Problem.None);
    }

    private static (JsonNode? Node, Problem Problem) Section(JsonObject root, string plainName, string encryptedName, string? key)
    {
        if (JsonText.AsString(root[encryptedName]) is not { } encrypted)
        {
            return (root[plainName], Problem.None);
        }

        if (string.IsNullOrEmpty(key))
        {
            return (null, Problem.EncryptedWithoutKey);
        }

        if (Decryption.Decrypt(encrypted, key) is not { } plain)
        {
            return (null, Problem.DecryptionFailed);
        }

        try
        {
            return (JsonNode.Parse(plain), Problem.None);
        }
        catch (JsonException)
        {
            return (null, Problem.DecryptionFailed);
        }
    }

    private static void Materialize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, child) in o)
                {
                    Materialize(child);
                }

                break;
            case JsonArray a:
                foreach (var child in a)
                {
                    Materialize(child);
                }

                break;
        }
    }
}
