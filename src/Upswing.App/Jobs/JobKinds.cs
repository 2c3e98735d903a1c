using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Upswing.Jobs;

/// <summary>Defaults for every job of one kind; each enqueue may override queue, priority and attempts.</summary>
public sealed class JobKindOptions
{
    public string Queue { get; set; } = JobKinds.DefaultQueue;

    /// <summary>1 (first) to 4 (last).</summary>
    public int Priority { get; set; } = 1;

    public int MaxAttempts { get; set; } = 25;

    /// <summary>An attempt running longer than this has its token cancelled and fails; <see cref="Timeout.InfiniteTimeSpan"/> for none.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The wait before attempt <c>n + 1</c> after attempt <c>n</c> failed; attempt⁴ seconds ± 10 % when null.</summary>
    public Func<int, TimeSpan>? Backoff { get; set; }
}

/// <summary>A registered kind: its defaults and how to run one attempt of it.</summary>
internal sealed record JobKind(string Name, JobKindOptions Options, Func<IServiceProvider, ClaimedJob, CancellationToken, Task<JobResult>> Run)
{
    public TimeSpan BackoffAfter(int attempt) => Options.Backoff?.Invoke(attempt) ?? JobKinds.DefaultBackoff(attempt, Random.Shared.NextDouble());
}

/// <summary>A periodic job a module registers in code; configuration may re-time it or turn it off by name.</summary>
internal sealed record PeriodicJobRegistration(string Name, string Cron, string? TimeZone, string Kind, string Args, string? Queue);

/// <summary>Every registered job kind, by name.</summary>
public sealed class JobKinds
{
    public const string DefaultQueue = "default";

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly Dictionary<string, JobKind> kinds;

    internal JobKinds(IEnumerable<JobKind> registered)
    {
        kinds = new Dictionary<string, JobKind>(StringComparer.Ordinal);
        foreach (var kind in registered)
        {
            if (!kinds.TryAdd(kind.Name, kind))
            {
                throw new InvalidOperationException($"The job kind '{kind.Name}' is registered twice; a kind has one handler.");
            }
        }
    }

    internal JobKind? Find(string name) => kinds.GetValueOrDefault(name);

    public IReadOnlyCollection<string> Names => kinds.Keys;

    /// <summary>attempt⁴ seconds, spread ± 10 % by <paramref name="random"/> (0..1) so failures that happened together do not retry together.</summary>
    public static TimeSpan DefaultBackoff(int attempt, double random) =>
        TimeSpan.FromSeconds(Math.Pow(Math.Max(1, attempt), 4) * (0.9 + (0.2 * random)));
}

public static class JobRegistration
{
    /// <summary>Registers the handler of one job kind.</summary>
    public static IServiceCollection AddJob<TArgs, THandler>(this IServiceCollection services, Action<JobKindOptions>? configure = null)
        where TArgs : IJobArgs
        where THandler : class, IJobHandler<TArgs>
    {
        var options = new JobKindOptions();
        configure?.Invoke(options);
        services.AddScoped<THandler>();
        services.AddSingleton(new JobKind(TArgs.Kind, options, RunAsync<TArgs, THandler>));
        return services;
    }

    /// <summary>Registers a periodic job: at every tick of <paramref name="cron"/>, exactly one job is enqueued across all nodes.</summary>
    public static IServiceCollection AddPeriodicJob<TArgs>(this IServiceCollection services, string name, string cron, TArgs args, string? timeZone = null, string? queue = null)
        where TArgs : IJobArgs
    {
        services.AddSingleton(new PeriodicJobRegistration(name, cron, timeZone, TArgs.Kind, JsonSerializer.Serialize(args, JobKinds.Json), queue));
        return services;
    }

    private static Task<JobResult> RunAsync<TArgs, THandler>(IServiceProvider services, ClaimedJob job, CancellationToken ct)
        where TArgs : IJobArgs
        where THandler : class, IJobHandler<TArgs>
    {
        TArgs? args;
        try
        {
            args = JsonSerializer.Deserialize<TArgs>(job.Args, JobKinds.Json);
        }
        catch (JsonException ex)
        {
            return Task.FromResult(JobResult.Discard($"The arguments cannot be read as {typeof(TArgs).Name}: {ex.Message}"));
        }

        if (args is null)
        {
            return Task.FromResult(JobResult.Discard("The arguments are null."));
        }

        var handler = services.GetRequiredService<THandler>();
        return handler.RunAsync(new JobContext<TArgs>(job.Id, args, job.Attempt, job.MaxAttempts, job.WorkspaceId, job.RunAt), ct);
    }
}
