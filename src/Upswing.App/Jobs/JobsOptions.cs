using System.ComponentModel.DataAnnotations;

namespace Upswing.Jobs;

/// <summary>The job queue's settings (section "Jobs").</summary>
public sealed class JobsOptions
{
    public const string Section = "Jobs";

    /// <summary>Worker counts per queue. A queue not listed runs no workers on this node.</summary>
    public Dictionary<string, QueueOptions> Queues { get; set; } = new(StringComparer.Ordinal)
    {
        [JobKinds.DefaultQueue] = new QueueOptions(),
    };

    /// <summary>Run workers on this node at all (false: enqueue only, e.g. an API-only node).</summary>
    public bool RunWorkers { get; set; } = true;

    /// <summary>How long a claim holds a job without a heartbeat; a crashed worker's job is rescued after this.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the queue is polled when no notification arrives (LISTEN/NOTIFY may be unavailable behind a pooler).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often expired leases are looked for.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan RescueInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>On shutdown, how long running jobs may take to finish before their tokens fire and their leases are released.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long succeeded jobs are kept.</summary>
    public TimeSpan KeepSucceeded { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How long discarded and cancelled jobs (dead letters) are kept.</summary>
    public TimeSpan KeepFailed { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Periodic jobs defined in configuration, by name (besides those the modules register).</summary>
    public Dictionary<string, PeriodicJobOptions> Periodic { get; set; } = new(StringComparer.Ordinal);
}

public sealed class QueueOptions
{
    /// <summary>Jobs this node runs at once from the queue.</summary>
    [Range(1, 10_000)]
    public int Workers { get; set; } = 10;
}

/// <summary>A periodic job from configuration: a cron schedule and the job to enqueue at each tick.</summary>
public sealed class PeriodicJobOptions
{
    /// <summary>Quartz cron (seconds first, 6–7 fields) or classic 5-field cron; "off" disables a registered schedule.</summary>
    public string? Cron { get; set; }

    /// <summary>An IANA time zone (Europe/Berlin); UTC when empty.</summary>
    public string? TimeZone { get; set; }

    /// <summary>The kind to enqueue; may be omitted to re-time a schedule a module registered under this name.</summary>
    public string? Kind { get; set; }

    /// <summary>The job's arguments as JSON ({} when empty).</summary>
    public string? Args { get; set; }

    public string? Queue { get; set; }
}
