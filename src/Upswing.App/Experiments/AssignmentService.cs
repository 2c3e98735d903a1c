using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Common;
using Upswing.Data;
using Upswing.Evaluation;

namespace Upswing.Experiments;

/// <summary>Body of POST /v1/assignment: who the user is, their attributes, and which experiments (all running ones when omitted).</summary>
public sealed record AssignmentRequest
{
    // Init properties rather than a positional record: the serializer fills setters faster than it gathers constructor arguments.
    public string? UserId { get; init; }
    public string? AnonymousId { get; init; }
    public JsonObject? Attributes { get; init; }
    public IReadOnlyList<string>? Experiments { get; init; }

    /// <summary>
    /// Reads the body as the serializer would (property names in any case, unknown ones skipped, wrong types a
    /// <see cref="JsonException"/>), but builds the attributes straight into a <see cref="JsonObject"/>: through the
    /// serializer they were parsed twice, into a document and then into nodes, which was most of this hot path's garbage.
    /// Attribute names are case-sensitive, as in GrowthBook SDKs.
    /// </summary>
    public static AssignmentRequest? Read(ref Utf8JsonReader json, bool unused)
    {
        if (!json.Read() || json.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (json.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("The body must be a JSON object.");
        }

        string? userId = null, anonymousId = null;
        JsonObject? attributes = null;
        List<string>? experiments = null;
        while (json.Read() && json.TokenType == JsonTokenType.PropertyName)
        {
            var name = Property(ref json);
            json.Read();
            switch (name)
            {
                case "userId":
                    userId = Text(ref json, name);
                    break;
                case "anonymousId":
                    anonymousId = Text(ref json, name);
                    break;
                case "attributes":
                    attributes = Object(ref json);
                    break;
                case "experiments":
                    experiments = Texts(ref json);
                    break;
                default:
                    json.Skip();
                    break;
            }
        }

        return new AssignmentRequest { UserId = userId, AnonymousId = anonymousId, Attributes = attributes, Experiments = experiments };
    }

    private static readonly string[] Fields = ["userId", "attributes", "anonymousId", "experiments"];

    /// <summary>The field's canonical name (exact bytes first, then any case, as the serializer's web defaults match), or null.</summary>
    private static string? Property(ref Utf8JsonReader json)
    {
        foreach (var field in Fields)
        {
            if (json.ValueTextEquals(field))
            {
                return field;
            }
        }

        var name = json.GetString();
        return Array.Find(Fields, f => string.Equals(f, name, StringComparison.OrdinalIgnoreCase));
    }

    private static string? Text(ref Utf8JsonReader json, string name) => json.TokenType switch
    {
        JsonTokenType.String => json.GetString(),
        JsonTokenType.Null => null,
        _ => throw new JsonException($"'{name}' must be a string."),
    };

    private static List<string>? Texts(ref Utf8JsonReader json)
    {
        if (json.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (json.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("'experiments' must be an array of experiment keys.");
        }

        var keys = new List<string>();
        while (json.Read() && json.TokenType != JsonTokenType.EndArray)
        {
            keys.Add(Text(ref json, "experiments")!);
        }

        return keys;
    }

    private static JsonObject? Object(ref Utf8JsonReader json)
    {
        if (json.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (json.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("'attributes' must be an object.");
        }

        var attributes = new JsonObject();
        while (json.Read() && json.TokenType == JsonTokenType.PropertyName)
        {
            var name = json.GetString()!;
            json.Read();
            attributes[name] = json.TokenType switch
            {
                // Strings and booleans, most attributes, become nodes directly; numbers (their exact text kept),
                // objects and arrays through the node parser, as before.
                JsonTokenType.String => JsonValue.Create(json.GetString()),
                JsonTokenType.True => JsonValue.Create(true),
                JsonTokenType.False => JsonValue.Create(false),
                JsonTokenType.Null => null,
                _ => JsonNode.Parse(ref json),
            };
        }

        return attributes;
    }
}

/// <summary>The user's variation in one experiment. <see cref="Sticky"/> is true when it was stored by an earlier assignment.</summary>
public sealed record Assignment(string ExperimentKey, string VariationKey, int VariationIndex, bool InExperiment, string HashValue, bool Sticky, double? Bucket);

/// <summary>Answer of POST /v1/assignment.</summary>
public sealed record AssignmentResponse(IReadOnlyList<Assignment> Assignments)
{
    private static readonly JsonEncodedText AssignmentsName = JsonEncodedText.Encode("assignments");
    private static readonly JsonEncodedText ExperimentKeyName = JsonEncodedText.Encode("experimentKey");
    private static readonly JsonEncodedText VariationKeyName = JsonEncodedText.Encode("variationKey");
    private static readonly JsonEncodedText VariationIndexName = JsonEncodedText.Encode("variationIndex");
    private static readonly JsonEncodedText InExperimentName = JsonEncodedText.Encode("inExperiment");
    private static readonly JsonEncodedText HashValueName = JsonEncodedText.Encode("hashValue");
    private static readonly JsonEncodedText StickyName = JsonEncodedText.Encode("sticky");
    private static readonly JsonEncodedText BucketName = JsonEncodedText.Encode("bucket");

    /// <summary>The same JSON the serializer writes for this record (camelCase, nulls kept), without its reflection: the endpoint's hot path.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteStartArray(AssignmentsName);
        for (var i = 0; i < Assignments.Count; i++)
        {
            var a = Assignments[i];
            writer.WriteStartObject();
            writer.WriteString(ExperimentKeyName, a.ExperimentKey);
            writer.WriteString(VariationKeyName, a.VariationKey);
            writer.WriteNumber(VariationIndexName, a.VariationIndex);
            writer.WriteBoolean(InExperimentName, a.InExperiment);
            writer.WriteString(HashValueName, a.HashValue);
            writer.WriteBoolean(StickyName, a.Sticky);
            if (a.Bucket is { } bucket)
            {
                writer.WriteNumber(BucketName, bucket);
            }
            else
            {
                writer.WriteNull(BucketName);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}

/// <summary>
/// Server-side assignment. A user's first assignment to a running experiment is hashed exactly as GrowthBook SDKs
/// hash it, then stored: from then on the stored variation is returned whatever happens to weights or coverage,
/// and the row's time is the user's first exposure. Paused experiments keep their assigned users and admit no one;
/// stopped ones serve their winner (or control) to everyone.
/// </summary>
/// <remarks>
/// A singleton: a database context is rented (in a scope of its own) only when a unit is neither remembered nor known
/// to be unassigned, so a returning user's request touches no database and no DI scope.
/// </remarks>
public sealed class AssignmentService(IServiceScopeFactory scopes, SqlDialect dialect, ExperimentCatalogCache catalogs, AssignmentMemo memo, TimeProvider time)
{
    public const int MaxIdLength = 200;
    public const int MaxExperiments = 100;

    public async ValueTask<Result<AssignmentResponse>> AssignAsync(Guid workspaceId, AssignmentRequest request, CancellationToken ct)
    {
        if (Validate(request) is { } invalid)
        {
            return invalid.ToFailure();
        }

        var catalog = await catalogs.GetAsync(workspaceId, ct);
        IReadOnlyList<ExperimentEntry> entries;
        if (request.Experiments is null)
        {
            entries = catalog.Started;
        }
        else if (Named(catalog, request.Experiments, out var unknown) is { } named)
        {
            entries = named;
        }
        else
        {
            return unknown!;
        }

        var units = new string[entries.Count];
        for (var i = 0; i < units.Length; i++)
        {
            units[i] = Unit(request, entries[i].HashAttribute);
        }

        var stored = Remembered(catalog, entries, units, out var missing);
        if (missing is not null)
        {
            await LoadAsync(catalog, entries, units, missing, stored, ct);
        }

        // Built only when a unit has to be hashed: a returning user's request needs no evaluation context.
        Evaluation.EvaluationContext? context = null;
        var answers = new Assignment[entries.Count];
        List<(int Index, ExperimentAssignment Row)>? fresh = null;
        for (var i = 0; i < entries.Count; i++)
        {
            var (entry, unit) = (entries[i], units[i]);
            if (entry.Status == ExperimentStatus.Stopped)
            {
                answers[i] = Answer(entry, entry.Winner ?? 0, false, unit, false, null);
            }
            else if (stored[i] is { } row)
            {
                answers[i] = Answer(entry, row.VariationIndex, true, unit, true, row.Bucket);
            }
            else if (entry.Status == ExperimentStatus.Paused || unit.Length == 0)
            {
                answers[i] = Answer(entry, 0, false, unit, false, null);
            }
            else
            {
                var result = Evaluator.Run(context ??= catalog.Context with { Attributes = Attributes(request) }, entry.Definition);
                answers[i] = Answer(entry, result.VariationId, result.InExperiment, unit, false, result.Bucket);
                if (result is { InExperiment: true, HashUsed: true })
                {
                    (fresh ??= []).Add((i, new ExperimentAssignment
                    {
                        WorkspaceId = workspaceId,
                        ExperimentId = entry.Id,
                        UnitId = unit,
                        VariationIndex = result.VariationId,
                        VariationKey = entry.VariationKeys[result.VariationId],
                        Bucket = result.Bucket ?? 0,
                        Phase = entry.Phase,
                        Source = "assignment",
                        FirstExposedAt = time.GetUtcNow(),
                    }));
                }
            }
        }

        if (fresh is not null)
        {
            foreach (var (index, row) in await StoreAsync(fresh, ct))
            {
                // Another request assigned this user first; its answer is the one that sticks.
                answers[index] = Answer(entries[index], row.VariationIndex, true, row.UnitId, true, row.Bucket);
            }
        }

        return new AssignmentResponse(answers);
    }

    private static FieldErrors? Validate(AssignmentRequest request)
    {
        FieldErrors? errors = null;
        if (string.IsNullOrEmpty(request.UserId) && string.IsNullOrEmpty(request.AnonymousId))
        {
            (errors ??= new()).Add("userId", "Give a userId or an anonymousId.");
        }

        if (request.UserId is { Length: > MaxIdLength } || request.AnonymousId is { Length: > MaxIdLength })
        {
            (errors ??= new()).Add("userId", $"Ids are at most {MaxIdLength} characters.");
        }

        if (request.Experiments is { Count: > MaxExperiments })
        {
            (errors ??= new()).Add("experiments", $"At most {MaxExperiments} experiment keys per request.");
        }

        return errors;
    }

    /// <summary>The named experiments, once each, in the order given; null with a 404 failure when one is unknown or a draft.</summary>
    private static ExperimentEntry[]? Named(ExperimentCatalog catalog, IReadOnlyList<string> keys, out Failure? unknown)
    {
        var missing = keys.Where(k => k is null || catalog.Experiments.GetValueOrDefault(k) is null or { Status: ExperimentStatus.Draft }).ToList();
        if (missing.Count > 0)
        {
            unknown = Failure.NotFound($"No started experiment with key {string.Join(", ", missing.Select(k => $"'{k}'"))}.");
            return null;
        }

        unknown = null;
        return [.. keys.Distinct(StringComparer.Ordinal).Select(k => catalog.Experiments[k])];
    }

    private static Assignment Answer(ExperimentEntry entry, int index, bool inExperiment, string unit, bool sticky, double? bucket) =>
        new(entry.Key, entry.VariationKeys[index], index, inExperiment, unit, sticky, bucket);

    /// <summary>The attributes SDKs would see: the posted ones, with the ids filled in (id is the user id, else the anonymous id).</summary>
    private static JsonObject Attributes(AssignmentRequest request)
    {
        // The request's own object, parsed for this request only: filled in place rather than copied.
        var attributes = request.Attributes ?? [];
        if (!attributes.ContainsKey("id"))
        {
            attributes["id"] = string.IsNullOrEmpty(request.UserId) ? request.AnonymousId : request.UserId;
        }

        if (!string.IsNullOrEmpty(request.UserId) && !attributes.ContainsKey("userId"))
        {
            attributes["userId"] = request.UserId;
        }

        if (!string.IsNullOrEmpty(request.AnonymousId) && !attributes.ContainsKey("anonymousId"))
        {
            attributes["anonymousId"] = request.AnonymousId;
        }

        return attributes;
    }

    /// <summary>The unit: the hash attribute's value exactly as the evaluator hashes it; empty when missing, falsy or too long to store.</summary>
    /// <remarks>
    /// Read from the request as it is, without filling in the ids (<see cref="Attributes"/>), which only an evaluation
    /// needs: an id attribute the request does not carry is the id <see cref="Attributes"/> would put there.
    /// </remarks>
    private static string Unit(AssignmentRequest request, string hashAttribute)
    {
        var unit = request.Attributes is { } attributes && attributes.ContainsKey(hashAttribute)
            ? Evaluator.HashValue(attributes, hashAttribute)
            : hashAttribute switch
            {
                "id" => string.IsNullOrEmpty(request.UserId) ? request.AnonymousId ?? "" : request.UserId,
                "userId" => request.UserId ?? "",
                "anonymousId" => request.AnonymousId ?? "",
                _ => "",
            };
        return unit.Length > MaxIdLength ? "" : unit;
    }

    /// <summary>Stored assignments of these units, per entry, from memory; <paramref name="missing"/> lists the entries only the database can answer for.</summary>
    private AssignmentMemo.Stored?[] Remembered(ExperimentCatalog catalog, IReadOnlyList<ExperimentEntry> entries, string[] units, out List<int>? missing)
    {
        var stored = new AssignmentMemo.Stored?[entries.Count];
        missing = null;
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Status is not (ExperimentStatus.Running or ExperimentStatus.Paused) || units[i].Length == 0)
            {
                continue;
            }

            if (memo.TryGet(entries[i].Id, units[i], out var row))
            {
                stored[i] = row;
            }
            else if (!catalog.KnownUnassigned(entries[i].Id, units[i]))
            {
                (missing ??= []).Add(i);
            }
        }

        return stored;
    }

    /// <summary>One query for the <paramref name="missing"/> entries' stored assignments; units without one are remembered as unassigned.</summary>
    private async Task LoadAsync(ExperimentCatalog catalog, IReadOnlyList<ExperimentEntry> entries, string[] units, List<int> missing, AssignmentMemo.Stored?[] stored, CancellationToken ct)
    {
        var experimentIds = missing.Select(i => entries[i].Id).ToList();
        var unitIds = missing.Select(i => units[i]).Distinct().ToList();
        await using var scope = scopes.CreateAsyncScope();
        var rows = await scope.ServiceProvider.GetRequiredService<UpswingDb>().Set<ExperimentAssignment>().AsNoTracking()
            .Where(a => experimentIds.Contains(a.ExperimentId) && unitIds.Contains(a.UnitId)).ToListAsync(ct);
        foreach (var i in missing)
        {
            if (rows.Find(r => r.ExperimentId == entries[i].Id && r.UnitId == units[i]) is { } row)
            {
                stored[i] = memo.Remember(row);
            }
            else
            {
                catalog.RememberUnassigned(entries[i].Id, units[i]);
            }
        }
    }

    /// <summary>Stores new assignments; returns those that lost a race to a concurrent request, with the winner's row.</summary>
    /// <remarks>
    /// INSERT … ON CONFLICT DO NOTHING on the primary key (experiment, unit): a concurrent first request for the same
    /// user is an ordinary outcome, so it must not surface as a failed command in the error log.
    /// </remarks>
    private async Task<List<(int Index, ExperimentAssignment Row)>> StoreAsync(List<(int Index, ExperimentAssignment Row)> fresh, CancellationToken ct)
    {
        List<(int Index, ExperimentAssignment Row)>? taken = null;
        var stored = new List<ExperimentAssignment>(fresh.Count);
        await using (var connection = await dialect.OpenConnectionAsync(ct))
        {
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await using (var insert = new AssignmentInsert(connection, transaction, dialect))
            {
                foreach (var (index, row) in fresh)
                {
                    if (await insert.TryAddAsync(row, ct))
                    {
                        stored.Add(row);
                    }
                    else
                    {
                        (taken ??= []).Add((index, row));
                    }
                }
            }

            await transaction.CommitAsync(ct);
        }

        // Remembered once committed.
        foreach (var row in stored)
        {
            memo.Remember(row);
        }

        if (taken is null)
        {
            return [];
        }

        // Another request stored these first: its rows are the answers that stick.
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<UpswingDb>();
        var lost = new List<(int Index, ExperimentAssignment Row)>(taken.Count);
        foreach (var (index, row) in taken)
        {
            var winner = await db.Set<ExperimentAssignment>().AsNoTracking().FirstAsync(a => a.ExperimentId == row.ExperimentId && a.UnitId == row.UnitId, ct);
            memo.Remember(winner);
            lost.Add((index, winner));
        }

        return lost;
    }
}

/// <summary>
/// Stored assignments seen by this node. An assignment never changes once stored, so remembering it is safe on
/// any number of nodes; repeated requests for a known user need no database round trip.
/// </summary>
public sealed class AssignmentMemo
{
    public const int Capacity = 500_000;

    private readonly ConcurrentDictionary<(Guid Experiment, string Unit), Stored> rows = new();

    public readonly record struct Stored(int VariationIndex, double Bucket, DateTimeOffset FirstExposedAt);

    internal bool TryGet(Guid experiment, string unit, out Stored stored) => rows.TryGetValue((experiment, unit), out stored);

    internal Stored Remember(Guid experimentId, UnitAssignment row) =>
        Remember(experimentId, row.UnitId, new Stored(row.VariationIndex, row.Bucket, row.FirstExposedAt));

    internal Stored Remember(ExperimentAssignment row) =>
        Remember(row.ExperimentId, row.UnitId, new Stored(row.VariationIndex, row.Bucket, row.FirstExposedAt));

    private Stored Remember(Guid experimentId, string unitId, Stored stored)
    {
        if (rows.Count >= Capacity)
        {
            // Crude but bounded: forget everything; the database still has every row.
            rows.Clear();
        }

        rows[(experimentId, unitId)] = stored;
        return stored;
    }
}
