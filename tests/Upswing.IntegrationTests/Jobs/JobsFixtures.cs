using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Jobs;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Jobs;

/// <summary>A job for tests: counts its runs by marker, fails its first <see cref="FailTimes"/> attempts.</summary>
public sealed record RecordJob(string Marker, int FailTimes = 0) : IJobArgs
{
    public static string Kind => "test.record";
}

internal sealed class RecordJobHandler : IJobHandler<RecordJob>
{
    public static ConcurrentDictionary<string, int> Runs { get; } = new(StringComparer.Ordinal);

    public Task<JobResult> RunAsync(JobContext<RecordJob> job, CancellationToken ct)
    {
        Runs.AddOrUpdate(job.Args.Marker, 1, (_, count) => count + 1);
        if (job.Attempt <= job.Args.FailTimes)
        {
            throw new InvalidOperationException($"Planned failure of attempt {job.Attempt}.");
        }

        return Task.FromResult(JobResult.Done);
    }
}

/// <summary>
/// A server whose clock tests move by hand (timers still run in real time, so workers poll every 50 ms), with a
/// one-hour lease so nothing expires unless a test says so, and the test job kind registered.
/// </summary>
public abstract class JobsServerFixture : ServerFixture
{
    public FakeClock Clock { get; } = new(TimeProvider.System.GetUtcNow());

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Jobs:PollInterval", "00:00:00.050"),
        new("Jobs:Lease", "01:00:00"),
        new("Jobs:RescueInterval", "00:00:00.200"),
        new("Jobs:Queues:default:Workers", "4"),
    ];

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<TimeProvider>(Clock);
        services.AddJob<RecordJob, RecordJobHandler>(o => o.MaxAttempts = 3);
    }
}

public sealed class JobsSqliteFixture : JobsServerFixture
{
    public override string ProviderName => "SQLite";

    protected override Task<TestDatabase?> CreateDatabaseAsync() => Task.FromResult<TestDatabase?>(TestDatabase.Sqlite());
}

public sealed class JobsPostgresFixture : JobsServerFixture
{
    public override string ProviderName => "PostgreSQL";

    protected override Task<TestDatabase?> CreateDatabaseAsync() => PostgresServerFixture.PostgresDatabaseAsync(GetType().Name);
}
