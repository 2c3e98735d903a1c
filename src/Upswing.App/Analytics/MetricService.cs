using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Upswing.Access;
using Upswing.Audit;
using Upswing.Common;
using Upswing.Data;
using Upswing.Events;
using Upswing.Flags;

namespace Upswing.Analytics;

/// <summary>
/// Metric definitions of a workspace: validation per type, ratio metrics over existing non-ratio metrics, and an
/// audit entry for every change. Experiments refer to metrics by key and are not checked here.
/// </summary>
public sealed class MetricService(UpswingDb db, AuditLog audit, TimeProvider time)
{
    public const int MaxNameLength = 200;
    public const int MaxDescriptionLength = 2000;
    public const int MaxPropertyLength = 200;
    public const int MaxFilters = 20;
    public const int MaxFilterValues = 1000;
    public const int DefaultConversionWindowHours = 72;
    public const int MaxConversionWindowHours = 24 * 365;
    public const int MaxRetentionDay = 365;
    public const int MaxCupedPreDays = 365;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public async Task<IReadOnlyList<MetricDto>> ListAsync(Guid workspaceId, CancellationToken ct) =>
        (await db.Set<MetricDefinition>().AsNoTracking().Where(m => m.WorkspaceId == workspaceId).OrderBy(m => m.Key).ToListAsync(ct)).ConvertAll(ToDto);

    public async Task<MetricDto?> GetAsync(Guid workspaceId, string key, CancellationToken ct) =>
        await db.Set<MetricDefinition>().AsNoTracking().FirstOrDefaultAsync(m => m.WorkspaceId == workspaceId && m.Key == key, ct) is { } metric ? ToDto(metric) : null;

    /// <summary>The workspace's metrics with these keys, by key; keys that name no metric are left out.</summary>
    public async Task<IReadOnlyList<MetricDto>> GetManyAsync(Guid workspaceId, IReadOnlyCollection<string> keys, CancellationToken ct)
    {
        var wanted = keys.Distinct(StringComparer.Ordinal).ToList();
        return (await db.Set<MetricDefinition>().AsNoTracking().Where(m => m.WorkspaceId == workspaceId && wanted.Contains(m.Key)).OrderBy(m => m.Key).ToListAsync(ct))
            .ConvertAll(ToDto);
    }

    public async Task<Result<MetricDto>> CreateAsync(WorkspaceContext caller, MetricRequest request, CancellationToken ct)
    {
        if (!caller.Role.AtLeast(WorkspaceRole.Editor))
        {
            return Failure.Forbidden("Viewers cannot change metrics.");
        }

        var errors = new FieldErrors();
        FlagKeys.Check("key", request.Key, errors);
        errors.Require("name", request.Name, MaxNameLength);
        var definition = await CheckAsync(caller.WorkspaceId, request, null, errors, ct);
        if (errors.Any || definition is null)
        {
            return errors.ToFailure();
        }

        var conflict = $"A metric with key '{request.Key}' already exists.";
        if (await db.Set<MetricDefinition>().AnyAsync(m => m.WorkspaceId == caller.WorkspaceId && m.Key == request.Key, ct))
        {
            return Failure.Conflict(conflict);
        }

        var now = time.GetUtcNow();
        var metric = new MetricDefinition
        {
            Id = Ids.New(time),
            WorkspaceId = caller.WorkspaceId,
            Key = request.Key!,
            Name = request.Name!.Trim(),
            Version = 1,
            CreatedAt = now,
            UpdatedAt = now,
        };
        Apply(metric, definition);
        db.Set<MetricDefinition>().Add(metric);
        var dto = ToDto(metric);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "metric.created", "metric", metric.Key, null, dto);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Another request created the key between the check above and this insert: the unique index decided.
            db.ChangeTracker.Clear();
            return Failure.Conflict(conflict);
        }

        return dto;
    }

    /// <summary>Changes a metric; the key stays (experiments and ratio metrics refer to it), and the whole definition is checked again.</summary>
    public async Task<Result<MetricDto>> UpdateAsync(WorkspaceContext caller, string key, MetricRequest request, CancellationToken ct)
    {
        var (metric, failure) = await LoadForWriteAsync(caller, key, ct);
        if (metric is null)
        {
            return failure!;
        }

        var errors = new FieldErrors();
        if (request.Key is not null && request.Key != metric.Key)
        {
            errors.Add("key", "The key of a metric cannot change; experiments and ratio metrics refer to it.");
        }

        if (request.Name is not null)
        {
            errors.Require("name", request.Name, MaxNameLength);
        }

        var definition = await CheckAsync(caller.WorkspaceId, request, metric, errors, ct);
        if (errors.Any || definition is null)
        {
            return errors.ToFailure();
        }

        if (definition.Type == MetricType.Ratio && metric.Type != MetricType.Ratio && await RatiosUsingAsync(caller.WorkspaceId, key, ct) is { Count: > 0 } ratios)
        {
            return Failure.Conflict($"The metric '{key}' is a part of the ratio metrics {string.Join(", ", ratios)}, and a ratio's parts cannot be ratios.");
        }

        var before = ToDto(metric);
        metric.Name = request.Name?.Trim() ?? metric.Name;
        Apply(metric, definition);
        metric.Version++;
        metric.UpdatedAt = time.GetUtcNow();
        var after = ToDto(metric);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "metric.updated", "metric", metric.Key, before, after);
        await db.SaveChangesAsync(ct);
        return after;
    }

    /// <summary>Deletes a metric no ratio metric uses; one in use is a 409 naming the ratios.</summary>
    public async Task<Result<MetricDto>> DeleteAsync(WorkspaceContext caller, string key, CancellationToken ct)
    {
        var (metric, failure) = await LoadForWriteAsync(caller, key, ct);
        if (metric is null)
        {
            return failure!;
        }

        if (await RatiosUsingAsync(caller.WorkspaceId, key, ct) is { Count: > 0 } ratios)
        {
            return Failure.Conflict($"The metric '{key}' is used by the ratio metrics: {string.Join(", ", ratios)}.");
        }

        var dto = ToDto(metric);
        db.Set<MetricDefinition>().Remove(metric);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "metric.deleted", "metric", metric.Key, dto, null);
        await db.SaveChangesAsync(ct);
        return dto;
    }

    private async Task<(MetricDefinition? Metric, Failure? Failure)> LoadForWriteAsync(WorkspaceContext caller, string key, CancellationToken ct)
    {
        var metric = await db.Set<MetricDefinition>().FirstOrDefaultAsync(m => m.WorkspaceId == caller.WorkspaceId && m.Key == key, ct);
        if (metric is null)
        {
            return (null, Failure.NotFound($"No metric with key '{key}'."));
        }

        return caller.Role.AtLeast(WorkspaceRole.Editor) ? (metric, null) : (null, Failure.Forbidden("Viewers cannot change metrics."));
    }

    private async Task<List<string>> RatiosUsingAsync(Guid workspaceId, string key, CancellationToken ct) =>
        await db.Set<MetricDefinition>().AsNoTracking()
            .Where(m => m.WorkspaceId == workspaceId && m.Type == MetricType.Ratio && m.Key != key && (m.Numerator == key || m.Denominator == key))
            .OrderBy(m => m.Key).Select(m => m.Key).ToListAsync(ct);

    /// <summary>A metric's definition after checking, with the fields its type does not use cleared.</summary>
    private sealed record Definition(
        MetricType Type, string? Description, string? Event, string? ValueProperty, IReadOnlyList<MetricFilter> Filters, int? ConversionWindowHours,
        int? RetentionDay, string? Numerator, string? Denominator, MetricDirection Direction, bool Guardrail, MetricCapping? Capping, int? CupedPreDays);

    /// <summary>
    /// Checks a create request (<paramref name="current"/> null) or an update merged over the stored metric. A field
    /// the request sets that the type does not use is an error; one left over from the metric's previous type is dropped.
    /// Returns null when the type is unknown (the error is recorded).
    /// </summary>
    private async Task<Definition?> CheckAsync(Guid workspaceId, MetricRequest r, MetricDefinition? current, FieldErrors errors, CancellationToken ct)
    {
        MetricType? type = current?.Type;
        if (r.Type is not null)
        {
            type = TryParseName<MetricType>(r.Type, out var parsed) ? parsed : null;
            if (type is null)
            {
                errors.Add("type", "The type is binomial, count, sum, mean, ratio or retention.");
            }
        }
        else if (current is null)
        {
            errors.Add("type", "The type field is required: binomial, count, sum, mean, ratio or retention.");
        }

        var description = r.Description is null ? current?.Description : r.Description.Length == 0 ? null : r.Description;
        if (description is { Length: > MaxDescriptionLength })
        {
            errors.Add("description", $"The description must be at most {MaxDescriptionLength} characters.");
        }

        var direction = current?.Direction ?? MetricDirection.Increase;
        if (r.Direction is not null && !TryParseName(r.Direction, out direction))
        {
            errors.Add("direction", "The direction is increase (up is good) or decrease (down is good).");
        }

        // Each field given is checked on its own first, so an unknown type still reports every other mistake.
        CheckText("event", r.Event, EventLimits.MaxNameLength, errors);
        CheckText("valueProperty", r.ValueProperty, MaxPropertyLength, errors);
        var filters = r.Filters is null ? null : CheckFilters(r.Filters, errors);
        CheckRange("conversionWindowHours", r.ConversionWindowHours, 1, MaxConversionWindowHours, errors);
        CheckRange("retentionDay", r.RetentionDay, 1, MaxRetentionDay, errors);
        CheckRange("cupedPreDays", r.CupedPreDays, 0, MaxCupedPreDays, errors);
        var (cappingGiven, capping) = CheckCapping(r.Capping, errors);
        if (r.Numerator is not null)
        {
            FlagKeys.Check("numerator", r.Numerator, errors);
        }

        if (r.Denominator is not null)
        {
            FlagKeys.Check("denominator", r.Denominator, errors);
        }

        if (type is not { } t)
        {
            return null;
        }

        var name = Lower(t);
        string? Pick(string field, bool used, string? given, string? stored, string usedBy)
        {
            if (used)
            {
                return given ?? stored;
            }

            if (given is not null)
            {
                errors.Add(field, $"A {name} metric has no {field}; only {usedBy} metrics do.");
            }

            return null;
        }

        var ratio = t == MetricType.Ratio;
        var @event = Pick("event", !ratio, r.Event, current?.Event, "non-ratio");
        if (!ratio && @event is null)
        {
            errors.Add("event", "The event field is required: the name of the event the metric is computed from.");
        }

        var valueProperty = Pick("valueProperty", t is MetricType.Sum or MetricType.Mean, r.ValueProperty, current?.ValueProperty, "sum and mean");
        if (t is MetricType.Sum or MetricType.Mean && valueProperty is null)
        {
            errors.Add("valueProperty", $"A {name} metric needs the numeric event property it {(t == MetricType.Sum ? "adds up" : "averages")}.");
        }

        if (ratio && filters is { Count: > 0 })
        {
            errors.Add("filters", "A ratio metric has no filters of its own; its numerator and denominator metrics do.");
        }

        // An empty list given on an update clears the filters; none given keeps them.
        List<MetricFilter> finalFilters = ratio ? [] : filters ?? (current is null ? [] : FiltersOf(current));
        var conversionWindow = t == MetricType.Binomial ? r.ConversionWindowHours ?? current?.ConversionWindowHours ?? DefaultConversionWindowHours : NotUsed("conversionWindowHours", r.ConversionWindowHours, "binomial");
        var retentionDay = t == MetricType.Retention ? r.RetentionDay ?? current?.RetentionDay : NotUsed("retentionDay", r.RetentionDay, "retention");
        if (t == MetricType.Retention && retentionDay is null)
        {
            errors.Add("retentionDay", "A retention metric needs the day after first exposure on which a unit counts as retained (1 = the next day).");
        }

        var numerator = Pick("numerator", ratio, r.Numerator, current?.Numerator, "ratio");
        var denominator = Pick("denominator", ratio, r.Denominator, current?.Denominator, "ratio");
        if (ratio)
        {
            await CheckRatioPartsAsync(workspaceId, current?.Key, numerator, denominator, errors, ct);
        }

        var cappable = t is MetricType.Count or MetricType.Sum or MetricType.Mean;
        if (!cappable && capping is not null)
        {
            errors.Add("capping", $"A {name} metric cannot be capped; only count, sum and mean metrics can.");
        }

        var finalCapping = !cappable ? null : cappingGiven ? capping : CappingOf(current);
        var cuped = r.CupedPreDays is { } days ? (days == 0 ? null : days) : current?.CupedPreDays;
        if (ratio && r.CupedPreDays is > 0)
        {
            errors.Add("cupedPreDays", "CUPED is not available for ratio metrics yet.");
        }

        return new Definition(
            t, description, @event, valueProperty, finalFilters, conversionWindow, retentionDay, numerator, denominator, direction,
            r.Guardrail ?? current?.Guardrail ?? false, finalCapping, ratio ? null : cuped);

        int? NotUsed(string field, int? given, string usedBy)
        {
            if (given is not null)
            {
                errors.Add(field, $"A {name} metric has no {field}; only {usedBy} metrics do.");
            }

            return null;
        }
    }

    private async Task CheckRatioPartsAsync(Guid workspaceId, string? self, string? numerator, string? denominator, FieldErrors errors, CancellationToken ct)
    {
        var keys = new[] { numerator, denominator }.OfType<string>().ToList();
        var parts = await db.Set<MetricDefinition>().AsNoTracking().Where(m => m.WorkspaceId == workspaceId && keys.Contains(m.Key))
            .Select(m => new { m.Key, m.Type }).ToListAsync(ct);
        foreach (var (field, key) in new[] { ("numerator", numerator), ("denominator", denominator) })
        {
            if (key is null)
            {
                errors.Add(field, $"A ratio metric needs the key of its {field} metric.");
            }
            else if (key == self)
            {
                errors.Add(field, "A ratio metric cannot be a part of itself.");
            }
            else if (parts.FirstOrDefault(p => p.Key == key) is not { } part)
            {
                errors.Add(field, $"No metric with key '{key}'.");
            }
            else if (part.Type == MetricType.Ratio)
            {
                errors.Add(field, $"'{key}' is a ratio metric; a ratio's parts are binomial, count, sum, mean or retention metrics.");
            }
        }

        if (numerator is not null && numerator == denominator)
        {
            errors.Add("denominator", "The numerator and the denominator are different metrics.");
        }
    }

    private static void CheckText(string field, string? value, int maxLength, FieldErrors errors)
    {
        if (value is not null && (string.IsNullOrWhiteSpace(value) || value.Length > maxLength))
        {
            errors.Add(field, $"The {field} is 1–{maxLength} characters.");
        }
    }

    private static void CheckRange(string field, int? value, int min, int max, FieldErrors errors)
    {
        if (value is { } v && (v < min || v > max))
        {
            errors.Add(field, $"The {field} is between {min} and {max}.");
        }
    }

    /// <summary>Checks filters as metrics take them (funnel steps too); errors are reported under <paramref name="field"/> ("filters", "steps[1].filters", …).</summary>
    internal static List<MetricFilter> CheckFilters(IReadOnlyList<MetricFilterRequest?> filters, FieldErrors errors, string field = "filters")
    {
        var result = new List<MetricFilter>(filters.Count);
        if (filters.Count > MaxFilters)
        {
            errors.Add(field, $"At most {MaxFilters} filters.");
            return result;
        }

        for (var i = 0; i < filters.Count; i++)
        {
            var at = $"{field}[{i}]";
            if (filters[i] is not { } filter)
            {
                errors.Add(at, "A filter is {property, operator, value}.");
                continue;
            }

            var ok = true;
            if (string.IsNullOrWhiteSpace(filter.Property) || filter.Property.Length > MaxPropertyLength)
            {
                errors.Add($"{at}.property", $"The property is 1–{MaxPropertyLength} characters.");
                ok = false;
            }

            if (filter.Operator is null || !TryParseName<MetricFilterOperator>(filter.Operator, out var op))
            {
                errors.Add($"{at}.operator", "The operator is eq, neq, gt, gte, lt, lte, in or contains.");
                continue;
            }

            if (ValueProblem(op, filter.Value) is { } problem)
            {
                errors.Add($"{at}.value", problem);
                continue;
            }

            if (ok)
            {
                result.Add(new MetricFilter(filter.Property!, op, filter.Value!.Value.Clone()));
            }
        }

        return result;
    }

    private static string? ValueProblem(MetricFilterOperator op, JsonElement? value)
    {
        static bool Scalar(JsonElement e) => e.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False;

        if (value is not { } v || v.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return "The value is required.";
        }

        return op switch
        {
            MetricFilterOperator.Eq or MetricFilterOperator.Neq when !Scalar(v) => "eq and neq compare with a string, a number or a boolean.",
            MetricFilterOperator.Gt or MetricFilterOperator.Gte or MetricFilterOperator.Lt or MetricFilterOperator.Lte when v.ValueKind != JsonValueKind.Number =>
                "gt, gte, lt and lte compare with a number.",
            MetricFilterOperator.Contains when v.ValueKind != JsonValueKind.String => "contains looks for a string.",
            MetricFilterOperator.In when v.ValueKind != JsonValueKind.Array || v.GetArrayLength() is 0 or > MaxFilterValues || !v.EnumerateArray().All(Scalar) =>
                $"in takes an array of 1–{MaxFilterValues} strings, numbers or booleans.",
            _ => null,
        };
    }

    /// <summary>Absent or null: unchanged. "none" (or type none): no capping. Otherwise {type, value}.</summary>
    private static (bool Given, MetricCapping? Capping) CheckCapping(JsonElement? capping, FieldErrors errors)
    {
        if (capping is not { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } c)
        {
            return (false, null);
        }

        if (c.ValueKind == JsonValueKind.String && c.GetString() == "none")
        {
            return (true, null);
        }

        if (c.ValueKind != JsonValueKind.Object)
        {
            errors.Add("capping", "Capping is \"none\" or {type: \"absolute\" | \"percentile\", value}.");
            return (true, null);
        }

        var typeText = c.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (typeText == "none")
        {
            return (true, null);
        }

        MetricCappingType? type = typeText is not null && TryParseName<MetricCappingType>(typeText, out var parsed) ? parsed : null;
        if (type is null)
        {
            errors.Add("capping.type", "The capping type is absolute, percentile or none.");
        }

        double? value = c.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && double.IsFinite(d) ? d : null;
        if (value is not { } number)
        {
            errors.Add("capping.value", "The capping value is a number.");
            return (true, null);
        }

        if (type == MetricCappingType.Absolute && number <= 0)
        {
            errors.Add("capping.value", "An absolute cap is above 0.");
        }
        else if (type == MetricCappingType.Percentile && number is <= 0 or >= 1)
        {
            errors.Add("capping.value", "A percentile cap is a quantile between 0 and 1, e.g. 0.99.");
        }

        return (true, type is { } kind ? new MetricCapping(kind, number) : null);
    }

    /// <summary>Enum names only, any case: "1" or "binomial,count" are not names.</summary>
    private static bool TryParseName<T>(string text, out T value)
        where T : struct, Enum
    {
        foreach (var candidate in Enum.GetValues<T>())
        {
            if (string.Equals(candidate.ToString(), text, StringComparison.OrdinalIgnoreCase))
            {
                value = candidate;
                return true;
            }
        }

        value = default;
        return false;
    }

    private static string Lower<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();

    private static void Apply(MetricDefinition metric, Definition d)
    {
        metric.Type = d.Type;
        metric.Description = d.Description;
        metric.Event = d.Event;
        metric.ValueProperty = d.ValueProperty;
        metric.Filters = JsonSerializer.Serialize(d.Filters, Json);
        metric.ConversionWindowHours = d.ConversionWindowHours;
        metric.RetentionDay = d.RetentionDay;
        metric.Numerator = d.Numerator;
        metric.Denominator = d.Denominator;
        metric.Direction = d.Direction;
        metric.Guardrail = d.Guardrail;
        metric.CappingType = d.Capping?.Type;
        metric.CappingValue = d.Capping?.Value;
        metric.CupedPreDays = d.CupedPreDays;
    }

    private static List<MetricFilter> FiltersOf(MetricDefinition m) => JsonSerializer.Deserialize<List<MetricFilter>>(m.Filters, Json) ?? [];

    private static MetricCapping? CappingOf(MetricDefinition? m) =>
        m is { CappingType: { } type, CappingValue: { } value } ? new MetricCapping(type, value) : null;

    private static MetricDto ToDto(MetricDefinition m) => new(
        m.Id, m.Key, m.Name, m.Description, m.Type, m.Event, m.ValueProperty, FiltersOf(m), m.ConversionWindowHours, m.RetentionDay,
        m.Numerator, m.Denominator, m.Direction, m.Guardrail, CappingOf(m), m.CupedPreDays, m.Version, m.CreatedAt, m.UpdatedAt);
}
