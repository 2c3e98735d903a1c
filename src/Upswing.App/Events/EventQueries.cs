using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Upswing.Data;
using Upswing.Experiments;

namespace Upswing.Events;

/// <summary>A stored event as the API shows it.</summary>
public sealed record EventDto(
    Guid Id, string MessageId, string Type, string? Name, string? UserId, string? AnonymousId, string? GroupId, string? PreviousId,
    DateTimeOffset Timestamp, DateTimeOffset ReceivedAt, DateTimeOffset? SentAt, DateTimeOffset? OriginalTimestamp,
    JsonElement? Properties, JsonElement? Context, JsonElement? Traits, IReadOnlyDictionary<string, string>? Experiments, Guid? EnvironmentId);

/// <summary>
/// Filters of GET /api/v1/events. Pages follow (timestamp, id) downwards: <see cref="Before"/> and <see cref="BeforeId"/>
/// are the timestamp and id of the last event of the previous page. <see cref="EnvironmentId"/> keeps the events sent
/// with that environment's client keys, and those sent with a secret key (which belongs to no environment).
/// </summary>
public sealed record EventQuery(string? Name = null, string? UserId = null, string? AnonymousId = null, string? MessageId = null,
    DateTimeOffset? From = null, DateTimeOffset? To = null, DateTimeOffset? Before = null, Guid? BeforeId = null, int Limit = 50, string? Type = null,
    Guid? EnvironmentId = null);

/// <summary>Stored events of one name and type on one day (UTC).</summary>
public sealed record EventCount(string Name, string Type, DateOnly Day, long Count);

/// <summary>An event kept aside because it failed validation.</summary>
public sealed record QuarantinedEventDto(Guid Id, string MessageId, string? Type, string? Name, IReadOnlyList<string> Reasons, JsonElement? Payload, DateTimeOffset ReceivedAt);

/// <summary>Everything known of one person: ids, traits, assignments and latest events.</summary>
public sealed record UserProfile(
    string? UserId, IReadOnlyList<string> AnonymousIds, JsonElement Traits, DateTimeOffset? FirstSeenAt, DateTimeOffset? LastSeenAt,
    IReadOnlyList<UnitAssignment> Assignments, IReadOnlyList<EventDto> Events);

/// <summary>The read side of ingestion: event lists, daily counts, quarantine and user profiles, always within one workspace.</summary>
public sealed class EventQueries(UpswingDb db, AssignmentHistory assignments)
{
    public const int MaxLimit = 1000;

    public async Task<IReadOnlyList<EventDto>> ListAsync(Guid workspaceId, EventQuery query, CancellationToken ct)
    {
        var events = db.Set<StoredEvent>().AsNoTracking().Where(e => e.WorkspaceId == workspaceId);
        if (query.Name is not null)
        {
            events = events.Where(e => e.Name == query.Name);
        }

        if (query.EnvironmentId is { } environment)
        {
            events = events.Where(e => e.EnvironmentId == environment || e.EnvironmentId == null);
        }

        if (query.Type is not null)
        {
            events = events.Where(e => e.Type == query.Type);
        }

        if (query.UserId is not null)
        {
            events = events.Where(e => e.UserId == query.UserId);
        }

        if (query.AnonymousId is not null)
        {
            events = events.Where(e => e.AnonymousId == query.AnonymousId);
        }

        if (query.MessageId is not null)
        {
            events = events.Where(e => e.MessageId == query.MessageId);
        }

        if (query.From is { } from)
        {
            events = events.Where(e => e.Timestamp >= from);
        }

        if (query.To is { } to)
        {
            events = events.Where(e => e.Timestamp < to);
        }

        if (query.Before is { } before)
        {
            // Events sharing the last timestamp of a page are told apart by id, so none is skipped or repeated.
            var beforeId = query.BeforeId ?? Guid.Empty;
            events = query.BeforeId is null
                ? events.Where(e => e.Timestamp < before)
                : events.Where(e => e.Timestamp < before || (e.Timestamp == before && e.Id.CompareTo(beforeId) < 0));
        }

        // Newest first by the (workspace_id, timestamp) index.
        var rows = await events.OrderByDescending(e => e.Timestamp).ThenByDescending(e => e.Id).Take(Math.Clamp(query.Limit, 1, MaxLimit)).ToListAsync(ct);
        return [.. rows.Select(ToDto)];
    }

    public async Task<IReadOnlyList<EventCount>> CountsAsync(Guid workspaceId, DateOnly from, DateOnly to, string? name, CancellationToken ct)
    {
        var counts = db.Set<EventDailyCount>().AsNoTracking().Where(c => c.WorkspaceId == workspaceId && c.Day >= from && c.Day <= to);
        if (name is not null)
        {
            counts = counts.Where(c => c.Name == name);
        }

        // One row per writer shard (see EventDailyCount.Shard): summed here.
        var rows = await counts.GroupBy(c => new { c.Day, c.Type, c.Name })
            .Select(g => new { g.Key.Day, g.Key.Type, g.Key.Name, Count = g.Sum(c => c.Count) })
            .OrderBy(c => c.Day).ThenBy(c => c.Type).ThenBy(c => c.Name).ToListAsync(ct);
        return [.. rows.Select(c => new EventCount(c.Name, c.Type, c.Day, c.Count))];
    }

    public async Task<IReadOnlyList<QuarantinedEventDto>> QuarantineAsync(Guid workspaceId, Guid? before, int limit, CancellationToken ct)
    {
        var rows = db.Set<QuarantinedEvent>().AsNoTracking().Where(q => q.WorkspaceId == workspaceId);
        if (before is { } cursor)
        {
            rows = rows.Where(q => q.Id.CompareTo(cursor) < 0);
        }

        var found = await rows.OrderByDescending(q => q.Id).Take(Math.Clamp(limit, 1, MaxLimit)).ToListAsync(ct);
        return [.. found.Select(q => new QuarantinedEventDto(q.Id, q.MessageId, q.Type, q.Name,
            JsonSerializer.Deserialize<string[]>(q.Reasons) ?? [], Json(q.Payload), q.ReceivedAt))];
    }

    /// <summary>The person behind a user id or an anonymous id, or null when no event ever named it.</summary>
    public async Task<UserProfile?> UserAsync(Guid workspaceId, string id, int recentEvents, CancellationToken ct)
    {
        // A user id is known by its identify calls (event_users) or by any event that carried it; an anonymous id by
        // its link to a user, or by its own events.
        string? userId = null;
        if (await db.Set<EventUser>().AsNoTracking().AnyAsync(u => u.WorkspaceId == workspaceId && u.UserId == id, ct)
            || await db.Set<StoredEvent>().AsNoTracking().AnyAsync(e => e.WorkspaceId == workspaceId && e.UserId == id, ct))
        {
            userId = id;
        }
        else if (await db.Set<EventIdentity>().AsNoTracking().FirstOrDefaultAsync(i => i.WorkspaceId == workspaceId && i.AnonymousId == id, ct) is { } link)
        {
            userId = link.UserId;
        }

        List<string> anonymousIds;
        if (userId is not null)
        {
            anonymousIds = await db.Set<EventIdentity>().AsNoTracking().Where(i => i.WorkspaceId == workspaceId && i.UserId == userId)
                .OrderBy(i => i.LinkedAt).Select(i => i.AnonymousId).ToListAsync(ct);
        }
        else if (await db.Set<StoredEvent>().AsNoTracking().AnyAsync(e => e.WorkspaceId == workspaceId && e.AnonymousId == id, ct))
        {
            anonymousIds = [id];
        }
        else
        {
            return null;
        }

        var user = userId is null ? null : await db.Set<EventUser>().AsNoTracking().FirstOrDefaultAsync(u => u.WorkspaceId == workspaceId && u.UserId == userId, ct);
        var personsEvents = db.Set<StoredEvent>().AsNoTracking()
            .Where(e => e.WorkspaceId == workspaceId && ((userId != null && e.UserId == userId) || (e.AnonymousId != null && anonymousIds.Contains(e.AnonymousId))));
        var events = await personsEvents.OrderByDescending(e => e.Timestamp).ThenByDescending(e => e.Id).Take(Math.Clamp(recentEvents, 1, MaxLimit)).ToListAsync(ct);
        // First and last seen over everything the person did, the anonymous visits before sign-up included.
        var seen = await personsEvents.GroupBy(_ => 1).Select(g => new { First = g.Min(e => e.Timestamp), Last = g.Max(e => e.Timestamp) }).FirstOrDefaultAsync(ct);

        var units = new List<string>(anonymousIds);
        if (userId is not null)
        {
            units.Insert(0, userId);
        }

        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        IReadOnlyList<UnitAssignment> assigned;
        try
        {
            assigned = await assignments.ForUnitsAsync(connection, null, workspaceId, units, ct);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }

        return new UserProfile(userId, anonymousIds, Json(user?.Traits ?? "{}")!.Value, seen?.First ?? user?.FirstSeenAt, seen?.Last ?? user?.LastSeenAt,
            [.. assigned.OrderBy(a => a.FirstExposedAt)], [.. events.Select(ToDto)]);
    }

    private static EventDto ToDto(StoredEvent e) => new(
        e.Id, e.MessageId, e.Type, e.Name, e.UserId, e.AnonymousId, e.GroupId, e.PreviousId, e.Timestamp, e.ReceivedAt, e.SentAt,
        e.OriginalTimestamp, Json(e.Properties), Json(e.Context), Json(e.Traits),
        e.Experiments is null ? null : JsonSerializer.Deserialize<Dictionary<string, string>>(e.Experiments), e.EnvironmentId);

    private static JsonElement? Json(string? text) => text is null ? null : JsonSerializer.Deserialize<JsonElement>(text);
}
