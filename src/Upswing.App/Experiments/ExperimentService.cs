using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Upswing.Access;
using Upswing.Audit;
using Upswing.Common;
using Upswing.Data;
using Upswing.Flags;

namespace Upswing.Experiments;

/// <summary>
/// Creates, changes and runs experiments: validation, the lifecycle (draft → running ⇄ paused → stopped),
/// phases when traffic changes, and an audit entry for every change.
/// </summary>
public sealed class ExperimentService(UpswingDb db, AuditLog audit, TimeProvider time, FlagChangeFeed changes)
{
    public const int MaxVariations = 20;
    public const int MaxMetricsPerKind = 20;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public async Task<IReadOnlyList<ExperimentDto>> ListAsync(Guid workspaceId, ExperimentStatus? status, CancellationToken ct)
    {
        var experiments = await db.Set<Experiment>().AsNoTracking()
            .Where(e => e.WorkspaceId == workspaceId && (status == null || e.Status == status)).OrderBy(e => e.Key).ToListAsync(ct);
        var holdouts = await HoldoutKeysAsync(workspaceId, ct);
        return experiments.ConvertAll(e => ToDto(e, holdouts));
    }

    public async Task<ExperimentDto?> GetAsync(Guid workspaceId, string key, CancellationToken ct) =>
        await db.Set<Experiment>().AsNoTracking().FirstOrDefaultAsync(e => e.WorkspaceId == workspaceId && e.Key == key, ct) is { } experiment
            ? ToDto(experiment, await HoldoutKeysAsync(workspaceId, ct))
            : null;

    public async Task<Result<ExperimentDto>> CreateAsync(WorkspaceContext caller, CreateExperimentRequest request, CancellationToken ct)
    {
        if (!caller.Role.AtLeast(WorkspaceRole.Editor))
        {
            return Failure.Forbidden("Viewers cannot change experiments.");
        }

        var errors = new FieldErrors();
        FlagKeys.Check("key", request.Key, errors);
        errors.Require("name", request.Name, 200);
        CheckText(request.Hypothesis, errors);
        var hashAttribute = CheckAttribute("hashAttribute", request.HashAttribute, errors) ?? "id";
        var fallback = CheckAttribute("fallbackAttribute", request.FallbackAttribute, errors);
        var hashVersion = CheckHashVersion(request.HashVersion, errors);
        var seed = CheckSeed(request.Seed, errors) ?? request.Key ?? "";
        var variations = CheckVariations(request.Variations, errors);
        var coverage = CheckCoverage(request.Coverage, errors);
        var condition = CheckCondition(request.Condition, errors);
        var groups = await CheckSavedGroupsAsync(caller.WorkspaceId, request.SavedGroups, errors, ct);
        CheckNamespace(request.Namespace, errors);
        var holdout = await CheckHoldoutAsync(caller.WorkspaceId, request.Holdout, errors, ct);
        var metrics = CheckMetrics(request.Metrics, errors);
        if (errors.Any)
        {
            return errors.ToFailure();
        }

        if (await db.Set<Experiment>().AnyAsync(e => e.WorkspaceId == caller.WorkspaceId && e.Key == request.Key, ct))
        {
            return Failure.Conflict($"An experiment with key '{request.Key}' already exists.");
        }

        var now = time.GetUtcNow();
        var experiment = new Experiment
        {
            Id = Ids.New(time),
            WorkspaceId = caller.WorkspaceId,
            Key = request.Key!,
            Name = request.Name!.Trim(),
            Hypothesis = request.Hypothesis,
            HashAttribute = hashAttribute,
            FallbackAttribute = fallback,
            HashVersion = hashVersion ?? 2,
            Seed = seed,
            Variations = JsonSerializer.Serialize(variations, Json),
            Coverage = coverage ?? 1,
            Condition = condition,
            SavedGroups = JsonSerializer.Serialize(groups ?? [], Json),
            Namespace = request.Namespace?.Name,
            NamespaceStart = request.Namespace?.Start ?? 0,
            NamespaceEnd = request.Namespace?.End ?? 1,
            HoldoutId = holdout,
            Metrics = JsonSerializer.Serialize(metrics ?? new ExperimentMetrics([], [], []), Json),
            Status = ExperimentStatus.Draft,
            Version = 1,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Set<Experiment>().Add(experiment);
        var dto = ToDto(experiment, await HoldoutKeysAsync(caller.WorkspaceId, ct));
        audit.Record(db, caller.WorkspaceId, caller.Actor, "experiment.created", "experiment", experiment.Key, null, dto);
        return await SaveAsync(caller, dto, $"An experiment with key '{request.Key}' already exists.", ct);
    }

    public async Task<Result<ExperimentDto>> UpdateAsync(WorkspaceContext caller, string key, UpdateExperimentRequest request, CancellationToken ct)
    {
        var (experiment, failure) = await LoadForWriteAsync(caller, key, ct);
        if (experiment is null)
        {
            return failure!;
        }

        var errors = new FieldErrors();
        if (request.Name is not null)
        {
            errors.Require("name", request.Name, 200);
        }

        CheckText(request.Hypothesis, errors);
        var hashAttribute = CheckAttribute("hashAttribute", request.HashAttribute, errors);
        var fallback = CheckAttribute("fallbackAttribute", request.FallbackAttribute, errors);
        var hashVersion = CheckHashVersion(request.HashVersion, errors);
        var seed = CheckSeed(request.Seed, errors);
        var variations = request.Variations is null ? null : CheckVariations(request.Variations, errors);
        var coverage = CheckCoverage(request.Coverage, errors);
        var condition = request.Condition is null ? null : CheckCondition(request.Condition, errors);
        var groups = await CheckSavedGroupsAsync(caller.WorkspaceId, request.SavedGroups, errors, ct);
        CheckNamespace(request.Namespace, errors);
        var holdout = await CheckHoldoutAsync(caller.WorkspaceId, request.Holdout, errors, ct);
        var metrics = CheckMetrics(request.Metrics, errors);
        if (request.Reason is { Length: > 500 })
        {
            errors.Add("reason", "The reason must be at most 500 characters.");
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var current = VariationsOf(experiment);
        var started = experiment.Status != ExperimentStatus.Draft;
        if (started)
        {
            // Assigned users are keyed by how they were hashed and which arm they got: those cannot move.
            var fixedFields = new List<string>();
            if (hashAttribute is not null && hashAttribute != experiment.HashAttribute)
            {
                fixedFields.Add("hashAttribute");
            }

            if (seed is not null && seed != experiment.Seed)
            {
                fixedFields.Add("seed");
            }

            if (hashVersion is not null && hashVersion != experiment.HashVersion)
            {
                fixedFields.Add("hashVersion");
            }

            if (variations is not null && !variations.Select(v => v.Key).SequenceEqual(current.Select(v => v.Key), StringComparer.Ordinal))
            {
                fixedFields.Add("variations");
            }

            if (request.Holdout is not null && holdout != experiment.HoldoutId)
            {
                fixedFields.Add("holdout");
            }

            if (fixedFields.Count > 0)
            {
                return Failure.Conflict($"Once an experiment has started, {string.Join(", ", fixedFields)} cannot change (variation names and weights can). Create a new experiment instead.");
            }

            if (experiment.Status == ExperimentStatus.Stopped && (variations is not null || coverage is not null || request.Condition is not null || groups is not null || request.Namespace is not null))
            {
                return Failure.Conflict("A stopped experiment's traffic settings cannot change.");
            }
        }

        var holdouts = await HoldoutKeysAsync(caller.WorkspaceId, ct);
        var before = ToDto(experiment, holdouts);
        experiment.Name = request.Name?.Trim() ?? experiment.Name;
        experiment.Hypothesis = request.Hypothesis ?? experiment.Hypothesis;
        experiment.HashAttribute = hashAttribute ?? experiment.HashAttribute;
        experiment.FallbackAttribute = fallback ?? experiment.FallbackAttribute;
        experiment.HashVersion = hashVersion ?? experiment.HashVersion;
        experiment.Seed = seed ?? experiment.Seed;
        experiment.Variations = variations is null ? experiment.Variations : JsonSerializer.Serialize(variations, Json);
        experiment.Coverage = coverage ?? experiment.Coverage;
        experiment.Condition = request.Condition is null ? experiment.Condition : condition;
        experiment.SavedGroups = groups is null ? experiment.SavedGroups : JsonSerializer.Serialize(groups, Json);
        if (request.Namespace is { } ns)
        {
            experiment.Namespace = ns.Name;
            experiment.NamespaceStart = ns.Start;
            experiment.NamespaceEnd = ns.End;
        }

        experiment.HoldoutId = request.Holdout is null ? experiment.HoldoutId : holdout;
        experiment.Metrics = metrics is null ? experiment.Metrics : JsonSerializer.Serialize(metrics, Json);
        if (experiment.Status is ExperimentStatus.Running or ExperimentStatus.Paused)
        {
            if (experiment.Namespace is not null && await NamespaceClashAsync(experiment, ct) is { } clash)
            {
                return Failure.Conflict(clash);
            }

            if (TrafficChanged(before, experiment))
            {
                StartPhase(experiment, request.Reason ?? "Traffic settings changed.");
            }
        }

        Touch(experiment);
        var after = ToDto(experiment, holdouts);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "experiment.updated", "experiment", experiment.Key, before, after);
        return await SaveAsync(caller, after, null, ct);
    }

    /// <summary>Draft or paused → running. Starting a draft opens its first phase.</summary>
    public async Task<Result<ExperimentDto>> StartAsync(WorkspaceContext caller, string key, CancellationToken ct)
    {
        var (experiment, failure) = await LoadForWriteAsync(caller, key, ct);
        if (experiment is null)
        {
            return failure!;
        }

        if (experiment.Status is not (ExperimentStatus.Draft or ExperimentStatus.Paused))
        {
            return Failure.Conflict($"Only a draft or paused experiment can start; '{key}' is {Lower(experiment.Status)}.");
        }

        if (experiment.Namespace is not null && await NamespaceClashAsync(experiment, ct) is { } clash)
        {
            return Failure.Conflict(clash);
        }

        return await TransitionAsync(caller, experiment, ExperimentStatus.Running, "experiment.started", e =>
        {
            if (e.Status == ExperimentStatus.Draft)
            {
                StartPhase(e, "Started.");
            }
        }, ct);
    }

    /// <summary>Running → paused: assigned users keep their variation, nobody new enters.</summary>
    public async Task<Result<ExperimentDto>> PauseAsync(WorkspaceContext caller, string key, CancellationToken ct)
    {
        var (experiment, failure) = await LoadForWriteAsync(caller, key, ct);
        if (experiment is null)
        {
            return failure!;
        }

        return experiment.Status != ExperimentStatus.Running
            ? Failure.Conflict($"Only a running experiment can pause; '{key}' is {Lower(experiment.Status)}.")
            : await TransitionAsync(caller, experiment, ExperimentStatus.Paused, "experiment.paused", _ => { }, ct);
    }

    /// <summary>Running or paused → stopped, optionally rolling a winning variation out to everyone.</summary>
    public async Task<Result<ExperimentDto>> StopAsync(WorkspaceContext caller, string key, StopExperimentRequest request, CancellationToken ct)
    {
        var (experiment, failure) = await LoadForWriteAsync(caller, key, ct);
        if (experiment is null)
        {
            return failure!;
        }

        if (experiment.Status is not (ExperimentStatus.Running or ExperimentStatus.Paused))
        {
            return Failure.Conflict($"Only a running or paused experiment can stop; '{key}' is {Lower(experiment.Status)}.");
        }

        int? winner = null;
        if (request.Winner is not null)
        {
            var index = VariationsOf(experiment).FindIndex(v => v.Key == request.Winner);
            if (index < 0)
            {
                return Failure.Invalid("winner", $"The experiment has no variation '{request.Winner}'.");
            }

            winner = index;
        }

        return await TransitionAsync(caller, experiment, ExperimentStatus.Stopped, "experiment.stopped", e =>
        {
            e.WinnerIndex = winner;
            EndPhase(e, request.Reason);
        }, ct);
    }

    public async Task<Result<ExperimentDto>> DeleteAsync(WorkspaceContext caller, string key, CancellationToken ct)
    {
        var (experiment, failure) = await LoadForWriteAsync(caller, key, ct);
        if (experiment is null)
        {
            return failure!;
        }

        if (experiment.Status is ExperimentStatus.Running or ExperimentStatus.Paused)
        {
            return Failure.Conflict("Stop the experiment before deleting it.");
        }

        var dto = ToDto(experiment, await HoldoutKeysAsync(caller.WorkspaceId, ct));
        db.Set<Experiment>().Remove(experiment);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "experiment.deleted", "experiment", experiment.Key, dto, null);
        return await SaveAsync(caller, dto, null, ct);
    }

    /// <summary>How many users are assigned to each variation (the input of the sample-ratio check).</summary>
    public async Task<ExperimentAssignmentCounts?> CountAssignmentsAsync(Guid workspaceId, string key, CancellationToken ct)
    {
        if (await db.Set<Experiment>().AsNoTracking().FirstOrDefaultAsync(e => e.WorkspaceId == workspaceId && e.Key == key, ct) is not { } experiment)
        {
            return null;
        }

        var counts = await db.Set<ExperimentAssignment>().AsNoTracking().Where(a => a.ExperimentId == experiment.Id)
            .GroupBy(a => a.VariationIndex).Select(g => new { Index = g.Key, Users = g.LongCount() }).ToListAsync(ct);
        var variations = VariationsOf(experiment).Select((v, i) => new VariationCount(v.Key, i, counts.FirstOrDefault(c => c.Index == i)?.Users ?? 0)).ToList();
        return new ExperimentAssignmentCounts(experiment.Key, variations, variations.Sum(v => v.Users));
    }

    private async Task<Result<ExperimentDto>> TransitionAsync(WorkspaceContext caller, Experiment experiment, ExperimentStatus to, string action, Action<Experiment> apply, CancellationToken ct)
    {
        var holdouts = await HoldoutKeysAsync(caller.WorkspaceId, ct);
        var before = ToDto(experiment, holdouts);
        apply(experiment);
        experiment.Status = to;
        Touch(experiment);
        var after = ToDto(experiment, holdouts);
        audit.Record(db, caller.WorkspaceId, caller.Actor, action, "experiment", experiment.Key, before, after);
        return await SaveAsync(caller, after, null, ct);
    }

    private void StartPhase(Experiment experiment, string reason)
    {
        EndPhase(experiment, null);
        var phases = PhasesOf(experiment);
        var condition = experiment.Condition is null ? (JsonElement?)null : JsonSerializer.Deserialize<JsonElement>(experiment.Condition);
        phases.Add(new ExperimentPhase(time.GetUtcNow(), null, experiment.Coverage, VariationsOf(experiment).ConvertAll(v => v.Weight), condition, NamespaceOf(experiment), reason));
        experiment.Phases = JsonSerializer.Serialize(phases, Json);
    }

    private void EndPhase(Experiment experiment, string? reason)
    {
        var phases = PhasesOf(experiment);
        if (phases is [.., { EndedAt: null } last])
        {
            phases[^1] = last with { EndedAt = time.GetUtcNow(), Reason = reason is null ? last.Reason : $"{last.Reason} Ended: {reason}" };
            experiment.Phases = JsonSerializer.Serialize(phases, Json);
        }
    }

    private static bool TrafficChanged(ExperimentDto before, Experiment after) =>
        before.Coverage != after.Coverage
        || !before.Variations.Select(v => v.Weight).SequenceEqual(VariationsOf(after).Select(v => v.Weight))
        || before.Condition?.GetRawText() != after.Condition
        || !before.SavedGroups.SequenceEqual(JsonSerializer.Deserialize<List<string>>(after.SavedGroups) ?? [])
        || before.Namespace != NamespaceOf(after);

    /// <summary>Running experiments of one namespace take disjoint slices, so a user is in at most one of them.</summary>
    private async Task<string?> NamespaceClashAsync(Experiment experiment, CancellationToken ct)
    {
        var others = await db.Set<Experiment>().AsNoTracking()
            .Where(e => e.WorkspaceId == experiment.WorkspaceId && e.Id != experiment.Id && e.Namespace == experiment.Namespace
                && (e.Status == ExperimentStatus.Running || e.Status == ExperimentStatus.Paused))
            .ToListAsync(ct);
        var clash = others.FirstOrDefault(o => o.NamespaceStart < experiment.NamespaceEnd && experiment.NamespaceStart < o.NamespaceEnd);
        return clash is null
            ? null
            : $"Namespace '{experiment.Namespace}' range [{experiment.NamespaceStart}, {experiment.NamespaceEnd}) overlaps experiment '{clash.Key}' [{clash.NamespaceStart}, {clash.NamespaceEnd}).";
    }

    private async Task<(Experiment? Experiment, Failure? Failure)> LoadForWriteAsync(WorkspaceContext caller, string key, CancellationToken ct)
    {
        var experiment = await db.Set<Experiment>().FirstOrDefaultAsync(e => e.WorkspaceId == caller.WorkspaceId && e.Key == key, ct);
        if (experiment is null)
        {
            return (null, Failure.NotFound($"No experiment with key '{key}'."));
        }

        return caller.Role.AtLeast(WorkspaceRole.Editor) ? (experiment, null) : (null, Failure.Forbidden("Viewers cannot change experiments."));
    }

    private void Touch(Experiment experiment)
    {
        experiment.Version++;
        experiment.UpdatedAt = time.GetUtcNow();
    }

    private async Task<Result<ExperimentDto>> SaveAsync(WorkspaceContext caller, ExperimentDto dto, string? conflict, CancellationToken ct) =>
        await changes.CommitAsync(db, caller.WorkspaceId, conflict, ct) is { } failure ? failure : dto;

    private static void CheckText(string? hypothesis, FieldErrors errors)
    {
        if (hypothesis is { Length: > 4000 })
        {
            errors.Add("hypothesis", "The hypothesis must be at most 4000 characters.");
        }
    }

    private static string? CheckAttribute(string field, string? attribute, FieldErrors errors)
    {
        if (attribute is not null && (attribute.Length is 0 or > 100 || string.IsNullOrWhiteSpace(attribute)))
        {
            errors.Add(field, $"The {field} is 1–100 characters.");
        }

        return attribute;
    }

    private static int? CheckHashVersion(int? version, FieldErrors errors)
    {
        if (version is not (null or 1 or 2))
        {
            errors.Add("hashVersion", "The hashVersion is 1 or 2 (2 is the default and spreads users more evenly).");
        }

        return version;
    }

    private static string? CheckSeed(string? seed, FieldErrors errors)
    {
        if (seed is not null && (seed.Length is 0 or > 200))
        {
            errors.Add("seed", "The seed is 1–200 characters.");
        }

        return seed;
    }

    private static List<ExperimentVariation> CheckVariations(IReadOnlyList<ExperimentVariationRequest>? variations, FieldErrors errors)
    {
        if (variations is not { Count: >= 2 } || variations.Count > MaxVariations)
        {
            errors.Add("variations", $"An experiment has 2–{MaxVariations} variations.");
            return [];
        }

        var weighted = variations.Count(v => v?.Weight is not null);
        if (weighted != 0 && weighted != variations.Count)
        {
            errors.Add("variations", "Give every variation a weight, or none for an equal split.");
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<ExperimentVariation>(variations.Count);
        for (var i = 0; i < variations.Count; i++)
        {
            var v = variations[i];
            var key = v?.Key ?? i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!FlagKeys.Pattern().IsMatch(key) || !keys.Add(key))
            {
                errors.Add($"variations[{i}].key", "Variation keys are unique and use the key alphabet.");
            }

            if (v?.Name is { Length: > 200 })
            {
                errors.Add($"variations[{i}].name", "The name must be at most 200 characters.");
            }

            var weight = v?.Weight ?? 1.0 / variations.Count;
            if (double.IsNaN(weight) || weight is < 0 or > 1)
            {
                errors.Add($"variations[{i}].weight", "A weight is between 0 and 1.");
            }

            result.Add(new ExperimentVariation(key, string.IsNullOrWhiteSpace(v?.Name) ? (i == 0 ? "Control" : $"Variation {i}") : v.Name.Trim(), weight));
        }

        if (weighted == variations.Count && Math.Abs(result.Sum(v => v.Weight) - 1) > 0.001)
        {
            errors.Add("variations", "The weights must sum to 1.");
        }

        return result;
    }

    private static double? CheckCoverage(double? coverage, FieldErrors errors)
    {
        if (coverage is { } c && (double.IsNaN(c) || c is < 0 or > 1))
        {
            errors.Add("coverage", "Coverage is between 0 and 1.");
        }

        return coverage;
    }

    private static string? CheckCondition(JsonElement? condition, FieldErrors errors)
    {
        if (condition is not { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } c)
        {
            return null;
        }

        if (c.ValueKind != JsonValueKind.Object)
        {
            errors.Add("condition", "A condition is a JSON object.");
            return null;
        }

        return c.GetRawText();
    }

    private async Task<IReadOnlyList<string>?> CheckSavedGroupsAsync(Guid workspaceId, IReadOnlyList<string>? groups, FieldErrors errors, CancellationToken ct)
    {
        if (groups is null || groups.Count == 0)
        {
            return groups;
        }

        var known = await db.Set<SavedGroup>().AsNoTracking().Where(g => g.WorkspaceId == workspaceId).Select(g => g.Key).ToListAsync(ct);
        foreach (var missing in groups.Except(known, StringComparer.Ordinal))
        {
            errors.Add("savedGroups", $"No saved group with key '{missing}'.");
        }

        return groups;
    }

    private static void CheckNamespace(ExperimentNamespaceRange? ns, FieldErrors errors)
    {
        if (ns is null)
        {
            return;
        }

        FlagKeys.Check("namespace.name", ns.Name, errors);
        if (double.IsNaN(ns.Start) || double.IsNaN(ns.End) || ns.Start < 0 || ns.End > 1 || ns.Start >= ns.End)
        {
            errors.Add("namespace", "A namespace range is [start, end) with 0 ≤ start < end ≤ 1.");
        }
    }

    private async Task<Guid?> CheckHoldoutAsync(Guid workspaceId, string? key, FieldErrors errors, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(key))
        {
            return null;
        }

        var id = await db.Set<Holdout>().AsNoTracking().Where(h => h.WorkspaceId == workspaceId && h.Key == key).Select(h => (Guid?)h.Id).FirstOrDefaultAsync(ct);
        if (id is null)
        {
            errors.Add("holdout", $"No holdout with key '{key}'.");
        }

        return id;
    }

    private static ExperimentMetrics? CheckMetrics(ExperimentMetrics? metrics, FieldErrors errors)
    {
        if (metrics is null)
        {
            return null;
        }

        foreach (var (field, list) in new[] { ("metrics.primary", metrics.Primary), ("metrics.secondary", metrics.Secondary), ("metrics.guardrail", metrics.Guardrail) })
        {
            if (list is not null && (list.Count > MaxMetricsPerKind || list.Any(m => m is null || !FlagKeys.Pattern().IsMatch(m))))
            {
                errors.Add(field, $"Up to {MaxMetricsPerKind} metric keys in the key alphabet.");
            }
        }

        return new ExperimentMetrics(metrics.Primary ?? [], metrics.Secondary ?? [], metrics.Guardrail ?? []);
    }

    private async Task<Dictionary<Guid, string>> HoldoutKeysAsync(Guid workspaceId, CancellationToken ct) =>
        await db.Set<Holdout>().AsNoTracking().Where(h => h.WorkspaceId == workspaceId).ToDictionaryAsync(h => h.Id, h => h.Key, ct);

    private static string Lower(ExperimentStatus status) => status.ToString().ToLowerInvariant();

    internal static List<ExperimentVariation> VariationsOf(Experiment e) => JsonSerializer.Deserialize<List<ExperimentVariation>>(e.Variations, Json) ?? [];

    private static List<ExperimentPhase> PhasesOf(Experiment e) => JsonSerializer.Deserialize<List<ExperimentPhase>>(e.Phases, Json) ?? [];

    internal static ExperimentNamespaceRange? NamespaceOf(Experiment e) => e.Namespace is null ? null : new(e.Namespace, e.NamespaceStart, e.NamespaceEnd);

    private static ExperimentDto ToDto(Experiment e, Dictionary<Guid, string> holdouts)
    {
        var variations = VariationsOf(e);
        return new ExperimentDto(
            e.Id, e.Key, e.Name, e.Hypothesis, e.HashAttribute, e.FallbackAttribute, e.HashVersion, e.Seed, variations, e.Coverage,
            e.Condition is null ? null : JsonSerializer.Deserialize<JsonElement>(e.Condition), JsonSerializer.Deserialize<List<string>>(e.SavedGroups) ?? [],
            NamespaceOf(e), e.HoldoutId is { } h ? holdouts.GetValueOrDefault(h) : null,
            JsonSerializer.Deserialize<ExperimentMetrics>(e.Metrics, Json) ?? new ExperimentMetrics([], [], []), e.Status,
            e.WinnerIndex is { } w && w < variations.Count ? variations[w].Key : null, PhasesOf(e), e.Version, e.CreatedAt, e.UpdatedAt);
    }
}
