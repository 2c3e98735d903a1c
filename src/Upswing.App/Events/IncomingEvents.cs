namespace Upswing.Events;

/// <summary>Sizes the ingestion API enforces (Segment's HTTP Tracking API limits).</summary>
public static class EventLimits
{
    public const int MaxIdLength = 200;
    public const int MaxNameLength = 200;
    /// <summary>One event's JSON, in bytes.</summary>
    public const int MaxEventBytes = 32 * 1024;
    /// <summary>One request's JSON after decompression, in bytes.</summary>
    public const int MaxBatchBytes = 500 * 1024;

    /// <summary>Timestamps before this are refused as nonsense (a zero or a seconds-as-milliseconds mix-up).</summary>
    public static readonly DateTimeOffset Earliest = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>How far past its receipt an event's corrected timestamp may lie.</summary>
    public static readonly TimeSpan MaxFuture = TimeSpan.FromDays(1);
}

/// <summary>The kinds of Segment call, as stored in the events table.</summary>
public static class EventTypes
{
    public const string Track = "track";
    public const string Identify = "identify";
    public const string Page = "page";
    public const string Screen = "screen";
    public const string Group = "group";
    public const string Alias = "alias";

    public static string? Normalize(string? type) => type?.ToLowerInvariant() switch
    {
        Track => Track,
        Identify => Identify,
        Page => Page,
        Screen => Screen,
        Group => Group,
        Alias => Alias,
        _ => null,
    };
}

/// <summary>A validated event on its way to the database. JSON members are kept as the sender's raw JSON text.</summary>
internal sealed class IncomingEvent
{
    public required string Type { get; init; }
    public string? Name { get; init; }
    public string? UserId { get; init; }
    public string? AnonymousId { get; init; }
    public string? GroupId { get; init; }
    public string? PreviousId { get; init; }
    public required string MessageId { get; init; }
    public DateTimeOffset Timestamp { get; init; }
    public DateTimeOffset? SentAt { get; init; }
    public DateTimeOffset? OriginalTimestamp { get; init; }
    public string? Properties { get; init; }
    public string? Context { get; init; }
    public string? Traits { get; init; }

    /// <summary>Filled by the writer: the user's assignments at <see cref="Timestamp"/> (JSON object), or null.</summary>
    public string? Experiments { get; set; }
}

/// <summary>An event that failed validation: what was sent, and every reason.</summary>
internal sealed record QuarantineItem(string MessageId, string? Type, string? Name, IReadOnlyList<string> Reasons, string Payload);

/// <summary>What one request asks the writer to commit, and what came of it.</summary>
internal sealed class PendingWrite(Guid workspaceId, Guid? environmentId, DateTimeOffset receivedAt, IReadOnlyList<IncomingEvent> events, IReadOnlyList<QuarantineItem> quarantined, IReadOnlyList<IncomingVital>? vitals = null)
{
    private readonly TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Guid WorkspaceId { get; } = workspaceId;
    public Guid? EnvironmentId { get; } = environmentId;
    public DateTimeOffset ReceivedAt { get; } = receivedAt;
    public IReadOnlyList<IncomingEvent> Events { get; } = events;
    public IReadOnlyList<QuarantineItem> Quarantined { get; } = quarantined;
    public IReadOnlyList<IncomingVital> Vitals { get; } = vitals ?? [];

    /// <summary>Rows this request counts for in the queue's capacity.</summary>
    public int Size => Events.Count + Quarantined.Count + Vitals.Count;

    /// <summary>Set by the store: events stored by this write (the rest were already there).</summary>
    public int Stored { get; set; }

    public Task Completion => done.Task;

    public void Succeed() => done.TrySetResult();

    public void Fail(Exception error) => done.TrySetException(error);
}
