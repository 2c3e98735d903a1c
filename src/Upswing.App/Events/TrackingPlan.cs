using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Common;
using Upswing.Data;

namespace Upswing.Events;

/// <summary>What a workspace does with events its tracking plan does not allow.</summary>
public enum EventValidation
{
    /// <summary>No tracking plan checks; only malformed events are quarantined.</summary>
    Off,
    /// <summary>Events that break the plan are accepted into quarantine, with the reasons.</summary>
    Quarantine,
    /// <summary>A request with any event that breaks the plan (or is malformed) is refused with 400 and nothing of it is stored.</summary>
    Reject,
}

/// <summary>One property's rule in an event definition: its type, whether it must be there, allowed values, a numeric range.</summary>
public sealed record PropertyRule(string Name, string? Type = null, bool Required = false, IReadOnlyList<JsonElement>? Enum = null, double? Minimum = null, double? Maximum = null)
{
    public static readonly string[] Types = ["string", "number", "integer", "boolean", "object", "array"];

    /// <summary>Why <paramref name="value"/> breaks this rule, or null. <paramref name="value"/> is null when the property is absent.</summary>
    public string? Check(JsonElement? value)
    {
        if (value is not { } v || v.ValueKind == JsonValueKind.Undefined)
        {
            return Required ? $"property '{Name}' is required." : null;
        }

        if (v.ValueKind == JsonValueKind.Null)
        {
            return Required ? $"property '{Name}' is required and may not be null." : null;
        }

        if (Type is not null && !IsOfType(v, Type))
        {
            return $"property '{Name}' must be of type {Type}.";
        }

        if (Enum is { Count: > 0 } allowed && !allowed.Any(a => JsonElement.DeepEquals(a, v)))
        {
            return $"property '{Name}' must be one of {string.Join(", ", allowed.Select(a => a.GetRawText()))}.";
        }

        if ((Minimum is not null || Maximum is not null) && v.ValueKind == JsonValueKind.Number)
        {
            var number = v.GetDouble();
            if (number < Minimum || number > Maximum)
            {
                return $"property '{Name}' must be between {Minimum?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-∞"} and {Maximum?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "∞"}.";
            }
        }

        return null;
    }

    private static bool IsOfType(JsonElement value, string type) => type switch
    {
        "string" => value.ValueKind == JsonValueKind.String,
        "number" => value.ValueKind == JsonValueKind.Number,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var d) && decimal.Truncate(d) == d,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        _ => true,
    };
}

/// <summary>A planned track event: its name and its properties' rules.</summary>
internal sealed class EventDefinition
{
    public Guid Id { get; set; }
    public Guid WorkspaceId { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    /// <summary>JSON array of <see cref="PropertyRule"/>.</summary>
    public string Properties { get; set; } = "[]";
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A workspace's ingestion settings; a workspace without a row has the defaults.</summary>
internal sealed class EventSettings
{
    public Guid WorkspaceId { get; set; }
    public EventValidation Validation { get; set; }
    public bool AllowUnplannedEvents { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

internal sealed class EventDefinitionConfiguration : IEntityTypeConfiguration<EventDefinition>
{
    public void Configure(EntityTypeBuilder<EventDefinition> builder)
    {
        builder.ToTable("event_definitions");
        builder.HasKey(d => d.Id);
        builder.Property(d => d.Id).HasColumnName("id");
        builder.Property(d => d.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(d => d.Name).HasColumnName("name").HasMaxLength(EventLimits.MaxNameLength);
        builder.Property(d => d.Description).HasColumnName("description").HasMaxLength(2000);
        builder.Property(d => d.Properties).HasColumnName("properties");
        builder.Property(d => d.CreatedAt).HasColumnName("created_at");
        builder.Property(d => d.UpdatedAt).HasColumnName("updated_at");
        // One definition per event name: ingestion looks events up by name.
        builder.HasIndex(d => new { d.WorkspaceId, d.Name }).IsUnique();
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(d => d.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class EventSettingsConfiguration : IEntityTypeConfiguration<EventSettings>
{
    public void Configure(EntityTypeBuilder<EventSettings> builder)
    {
        builder.ToTable("event_settings");
        builder.HasKey(s => s.WorkspaceId);
        builder.Property(s => s.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(s => s.Validation).HasColumnName("validation").HasConversion<string>().HasMaxLength(16);
        builder.Property(s => s.AllowUnplannedEvents).HasColumnName("allow_unplanned_events");
        builder.Property(s => s.UpdatedAt).HasColumnName("updated_at");
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(s => s.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

/// <summary>A workspace's tracking plan, ready for the ingestion path: settings and rules by event name.</summary>
public sealed class TrackingPlan(EventValidation validation, bool allowUnplannedEvents, IReadOnlyDictionary<string, IReadOnlyList<PropertyRule>> rules)
{
    public static readonly TrackingPlan Off = new(EventValidation.Off, true, new Dictionary<string, IReadOnlyList<PropertyRule>>());

    public EventValidation Validation { get; } = validation;

    public bool AllowUnplannedEvents { get; } = allowUnplannedEvents;

    /// <summary>Why a track event breaks the plan (empty when it does not). Other calls are not planned.</summary>
    internal IReadOnlyList<string> Check(IncomingEvent e, JsonElement message)
    {
        if (Validation == EventValidation.Off || e.Type != EventTypes.Track)
        {
            return [];
        }

        if (!rules.TryGetValue(e.Name!, out var properties))
        {
            return AllowUnplannedEvents ? [] : [$"'{e.Name}' is not in the tracking plan."];
        }

        JsonElement? bag = message.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object ? p : null;
        List<string>? reasons = null;
        foreach (var rule in properties)
        {
            JsonElement? value = bag is { } b && b.TryGetProperty(rule.Name, out var v) ? v : null;
            if (rule.Check(value) is { } reason)
            {
                (reasons ??= []).Add(reason);
            }
        }

        return reasons ?? (IReadOnlyList<string>)[];
    }
}

/// <summary>
/// Each workspace's <see cref="TrackingPlan"/>, cached for the ingestion path. A change drops this node's copy at
/// once; other nodes pick it up within <see cref="TimeToLive"/>.
/// </summary>
public sealed class TrackingPlans(IServiceScopeFactory scopes, TimeProvider time)
{
    public static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(5);

    private readonly WorkspaceCache<bool, TrackingPlan> plans = new(time, TimeToLive);

    public ValueTask<TrackingPlan> GetAsync(Guid workspaceId, CancellationToken ct) =>
        plans.GetAsync(workspaceId, true, (scopes, workspaceId), static async (s, token) =>
        {
            await using var scope = s.scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<UpswingDb>();
            var settings = await db.Set<EventSettings>().AsNoTracking().FirstOrDefaultAsync(x => x.WorkspaceId == s.workspaceId, token);
            if (settings is null or { Validation: EventValidation.Off })
            {
                return TrackingPlan.Off;
            }

            var definitions = await db.Set<EventDefinition>().AsNoTracking().Where(d => d.WorkspaceId == s.workspaceId).ToListAsync(token);
            return new TrackingPlan(settings.Validation, settings.AllowUnplannedEvents,
                definitions.ToDictionary(d => d.Name, d => EventDefinitionService.ParseRules(d.Properties), StringComparer.Ordinal));
        }, ct);

    public void Drop(Guid workspaceId) => plans.Drop(workspaceId);
}
