using System.Globalization;
using Microsoft.Extensions.Options;

namespace Upswing.Jobs;

/// <summary>A periodic job as the dashboard and CLI list it.</summary>
public sealed record PeriodicJobInfo(string Name, string Cron, string TimeZone, string Kind, string Queue, DateTimeOffset? NextRun);

/// <summary>One schedule: what to enqueue, and when.</summary>
internal sealed record PeriodicJob(string Name, CronSchedule Schedule, string Kind, string Args, string? Queue)
{
    /// <summary>
    /// The key that makes a tick's job unique across nodes: every node computes the same ticks from the same
    /// schedule, and the unique index lets one insert per tick through.
    /// </summary>
    public string UniqueKey(DateTimeOffset tick) => $"periodic:{Name}:{tick.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}";
}

/// <summary>The periodic jobs of this installation: those modules register, re-timed or turned off by configuration, plus those configuration adds.</summary>
public sealed class PeriodicJobs
{
    private readonly List<PeriodicJob> jobs = [];
    private readonly TimeProvider time;

    internal PeriodicJobs(IEnumerable<PeriodicJobRegistration> registered, IOptions<JobsOptions> options, TimeProvider time)
    {
        this.time = time;
        var configured = options.Value.Periodic;
        foreach (var registration in registered)
        {
            configured.TryGetValue(registration.Name, out var overrides);
            if (string.Equals(overrides?.Cron, "off", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            jobs.Add(Build(registration.Name, overrides?.Cron ?? registration.Cron, overrides?.TimeZone ?? registration.TimeZone,
                overrides?.Kind ?? registration.Kind, overrides?.Args ?? registration.Args, overrides?.Queue ?? registration.Queue));
        }

        foreach (var (name, entry) in configured)
        {
            if (jobs.Any(j => j.Name == name) || registered.Any(r => r.Name == name) || string.Equals(entry.Cron, "off", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (string.IsNullOrWhiteSpace(entry.Kind))
            {
                throw new InvalidOperationException($"Jobs:Periodic:{name} needs a Kind (the job to enqueue at each tick).");
            }

            jobs.Add(Build(name, entry.Cron, entry.TimeZone, entry.Kind, string.IsNullOrWhiteSpace(entry.Args) ? "{}" : entry.Args, entry.Queue));
        }
    }

    internal IReadOnlyList<PeriodicJob> Jobs => jobs;

    public IReadOnlyList<PeriodicJobInfo> List()
    {
        var now = time.GetUtcNow();
        return [.. jobs.Select(j => new PeriodicJobInfo(j.Name, j.Schedule.Text, j.Schedule.Zone.Id, j.Kind, j.Queue ?? JobKinds.DefaultQueue, j.Schedule.Next(now)))];
    }

    private static PeriodicJob Build(string name, string? cron, string? zone, string kind, string args, string? queue)
    {
        if (!CronSchedule.TryParse(cron, zone, out var schedule, out var error))
        {
            throw new InvalidOperationException($"Periodic job '{name}': {error}");
        }

        try
        {
            using var _ = System.Text.Json.JsonDocument.Parse(args);
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new InvalidOperationException($"Periodic job '{name}': its Args are not JSON ({ex.Message}).");
        }

        return new PeriodicJob(name, schedule!, kind, args, queue);
    }
}
