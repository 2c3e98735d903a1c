using System.ComponentModel.DataAnnotations;

namespace Upswing.Events;

/// <summary>Ingestion settings, bound to the "Events" section.</summary>
public sealed class EventsOptions
{
    public const string Section = "Events";

    /// <summary>Rows (events and quarantined events) waiting for a commit before requests are refused with 503.</summary>
    [Range(100, 10_000_000)]
    public int QueueCapacity { get; set; } = 100_000;

    /// <summary>Most rows one transaction commits; a larger group waits for the next.</summary>
    [Range(1, 100_000)]
    public int MaxRowsPerCommit { get; set; } = 5_000;

    /// <summary>Writer loops (each with its own connection) on PostgreSQL; SQLite always has one. 0: two.</summary>
    [Range(0, 16)]
    public int PostgresWriters { get; set; }

    /// <summary>What Retry-After says when the queue is full.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 1;
}
