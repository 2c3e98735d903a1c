using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Upswing.Common;
using Upswing.Data;

namespace Upswing.Audit;

/// <summary>An audit entry as the API and dashboard show it.</summary>
public sealed record AuditEntryDto(
    Guid Id, DateTimeOffset At, string ActorType, string ActorId, string ActorName,
    string Action, string ResourceType, string ResourceId, JsonElement? Before, JsonElement? After, string? RequestId);

/// <summary>Appends audit entries to the caller's unit of work and reads them back.</summary>
public sealed class AuditLog(UpswingDb db, TimeProvider time, IHttpContextAccessor http)
{
    // Readable snapshots: enums by name, and no \uXXXX escapes for ordinary text. The dashboard and the
    // API encode on output, so relaxed escaping in storage is safe.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Adds an entry to <paramref name="unitOfWork"/> without saving, so it commits in the same
    /// transaction as the change it describes: no change without its entry, no entry without its change.
    /// </summary>
    internal void Record(UpswingDb unitOfWork, Guid workspaceId, Actor actor, string action, string resourceType, string resourceId, object? before, object? after)
    {
        unitOfWork.AuditEntries.Add(new AuditEntry
        {
            Id = Ids.New(time),
            WorkspaceId = workspaceId,
            At = time.GetUtcNow(),
            ActorType = actor.Type,
            ActorId = actor.Id,
            ActorName = actor.Name,
            Action = action,
            ResourceType = resourceType,
            ResourceId = resourceId,
            Before = before is null ? null : JsonSerializer.Serialize(before, Json),
            After = after is null ? null : JsonSerializer.Serialize(after, Json),
            RequestId = http.HttpContext?.TraceIdentifier,
        });
    }

    public async Task<IReadOnlyList<AuditEntryDto>> ListAsync(Guid workspaceId, AuditQuery query, CancellationToken ct)
    {
        var entries = db.AuditEntries.AsNoTracking().Where(a => a.WorkspaceId == workspaceId);
        if (!string.IsNullOrEmpty(query.Action))
        {
            entries = entries.Where(a => a.Action == query.Action);
        }

        if (!string.IsNullOrEmpty(query.ResourceType))
        {
            entries = entries.Where(a => a.ResourceType == query.ResourceType);
        }

        if (!string.IsNullOrEmpty(query.ResourceId))
        {
            entries = entries.Where(a => a.ResourceId == query.ResourceId);
        }

        if (query.Before is { } before)
        {
            entries = entries.Where(a => a.At < before);
        }

        var rows = await entries.OrderByDescending(a => a.Id)
            .Take(Math.Clamp(query.Limit, 1, 500)).ToListAsync(ct);
        return rows.ConvertAll(ToDto);
    }

    public async Task<AuditEntryDto?> GetAsync(Guid workspaceId, Guid id, CancellationToken ct)
    {
        var row = await db.AuditEntries.AsNoTracking().FirstOrDefaultAsync(a => a.WorkspaceId == workspaceId && a.Id == id, ct);
        return row is null ? null : ToDto(row);
    }

    private static AuditEntryDto ToDto(AuditEntry a) => new(
        a.Id, a.At, a.ActorType, a.ActorId, a.ActorName, a.Action, a.ResourceType, a.ResourceId,
        Parse(a.Before), Parse(a.After), a.RequestId);

    private static JsonElement? Parse(string? json) => json is null ? null : JsonSerializer.Deserialize<JsonElement>(json);
}

/// <summary>Filters for the audit list; <see cref="Before"/> pages backwards in time.</summary>
public sealed record AuditQuery(string? Action = null, string? ResourceType = null, DateTimeOffset? Before = null, int Limit = 50, string? ResourceId = null);
