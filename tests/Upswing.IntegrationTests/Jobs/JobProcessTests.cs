using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Upswing.Data;
using Upswing.Jobs;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Jobs;

/// <summary>
/// What only real processes show: a worker killed with SIGKILL mid-job, a worker frozen past its lease (SIGSTOP) that
/// wakes up after another node took its job over, and two nodes sharing one periodic schedule.
/// </summary>
public abstract class JobProcessContract
{
    // A short lease so a dead worker's job comes back within seconds; heartbeats every lease/3.
    private static readonly Dictionary<string, string> FastLeases = new()
    {
        ["Jobs__Lease"] = "00:00:02",
        ["Jobs__RescueInterval"] = "00:00:00.250",
        ["Jobs__PollInterval"] = "00:00:00.100",
        ["Logging__LogLevel__Upswing.Jobs"] = "Information",
    };

    protected abstract Task<TestDatabase> CreateDatabaseAsync();

    [Fact]
    public async Task WorkerKilledMidJob_JobIsRescued_AndCompletesExactlyOnce()
    {
        var database = await CreateDatabaseAsync();
        // Long enough to still be running when the node has started and the test looks, even on a loaded machine
        // (at 3 s, a node slow to become ready had finished the job before the first look).
        var id = await EnqueueAsync(database, new SleepJob(10_000));

        await using (var first = await UpswingProcess.StartAsync(database, FastLeases))
        {
            await WaitForAsync(database, id, row => row is { State: JobStates.Running, Attempt: 1 }, "attempt 1 to run on the first node");
            await first.KillAsync();
        }

        var killed = await ReadAsync(database, id);
        Assert.Equal(JobStates.Running, killed.State);

        await using var second = await UpswingProcess.StartAsync(database, FastLeases);
        var done = await WaitForAsync(database, id, row => row.State == JobStates.Succeeded, "the rescued job to succeed on the second node");

        Assert.Equal(2, done.Attempt);
        Assert.NotEqual(killed.Worker, done.Worker);
        var error = Assert.Single(done.Errors);
        Assert.Equal(1, error.Attempt);
        Assert.Equal(killed.Worker, error.Worker);
        Assert.Contains("lease expired", error.Error, StringComparison.OrdinalIgnoreCase);
        TryDelete(database.DataDir);
    }

    [Fact]
    public async Task WorkerFrozenPastItsLease_CannotCompleteTheJobAnotherNodeTookOver()
    {
        var database = await CreateDatabaseAsync();
        var id = await EnqueueAsync(database, new SleepJob(8000));

        await using var first = await UpswingProcess.StartAsync(database, FastLeases);
        var started = await WaitForAsync(database, id, row => row is { State: JobStates.Running, Attempt: 1 }, "attempt 1 to run on the first node");
        await first.SignalAsync("STOP");

        await using var second = await UpswingProcess.StartAsync(database, FastLeases);
        await WaitForAsync(database, id, row => row is { State: JobStates.Running, Attempt: 2 }, "the second node to take the job over");

        // The first node wakes up: either its heartbeat finds the lease gone and stops the handler, or its handler
        // finishes first and the completion is refused. Either way it says so, and the job stays with the second node.
        await first.SignalAsync("CONT");
        await Infrastructure.WaitUntilAsync(
            () => Task.FromResult(first.Output.Any(line => line.Contains($"Lost the lease of job {id}", StringComparison.Ordinal)
                || line.Contains("job outcomes were not written", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(20), "the first node to notice it lost the job");

        var done = await WaitForAsync(database, id, row => row.State == JobStates.Succeeded, "attempt 2 to succeed");
        Assert.Equal(2, done.Attempt);
        Assert.NotEqual(started.Worker, done.Worker);
        Assert.Single(done.Errors);
        TryDelete(database.DataDir);
    }

    [Fact]
    public async Task Shutdown_LetsShortJobsFinish_AndReleasesTheOnesThatOutliveTheDeadline()
    {
        var database = await CreateDatabaseAsync();
        var server = await UpswingTestServer.StartAsync(database, [new("Jobs:ShutdownTimeout", "00:00:01"), new("Jobs:PollInterval", "00:00:00.050")]);
        var jobs = server.Services.GetRequiredService<JobQueue>();
        var shortJob = (await jobs.EnqueueAsync(new SleepJob(300))).Id;
        var longJob = (await jobs.EnqueueAsync(new SleepJob(600_000))).Id;
        await WaitForAsync(database, shortJob, row => row.State == JobStates.Running, "the short job to run");
        await WaitForAsync(database, longJob, row => row.State == JobStates.Running, "the long job to run");

        await server.StopAsync();

        Assert.Equal(JobStates.Succeeded, (await ReadAsync(database, shortJob)).State);
        var released = await ReadAsync(database, longJob);
        Assert.Equal(JobStates.Available, released.State);
        Assert.Contains("node stopped", Assert.Single(released.Errors).Error, StringComparison.Ordinal);
        TryDelete(database.DataDir);
    }

    private static async Task<long> EnqueueAsync(TestDatabase database, SleepJob job)
    {
        // The in-process host migrates the database and enqueues; it runs no workers and is stopped before the processes start.
        var setup = await UpswingTestServer.StartAsync(database, [new("Jobs:RunWorkers", "false")]);
        var id = (await setup.Services.GetRequiredService<JobQueue>().EnqueueAsync(job)).Id;
        await setup.StopAsync();
        return id;
    }

    internal sealed record JobRow(string State, int Attempt, string? Worker, IReadOnlyList<JobError> Errors);

    internal static async Task<JobRow> ReadAsync(TestDatabase database, long id)
    {
        await using var db = Connect(database);
        await db.OpenAsync();
        await using var command = db.CreateCommand();
        command.CommandText = "SELECT state, attempt, lease_owner, errors FROM jobs WHERE id = " + id.ToString(CultureInfo.InvariantCulture);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"job {id} is missing");
        var errors = reader.IsDBNull(3) ? [] : JsonSerializer.Deserialize<List<JobError>>(reader.GetString(3), Json.Web)!;
        return new JobRow(reader.GetString(0), reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2), errors);
    }

    internal static DbConnection Connect(TestDatabase database) => database.Provider == DatabaseProvider.Sqlite
        ? new SqliteConnection($"Data Source={Path.Combine(database.DataDir, "upswing.db")};Pooling=false")
        : new NpgsqlConnection(database.ConnectionString);

    private static async Task<JobRow> WaitForAsync(TestDatabase database, long id, Func<JobRow, bool> condition, string what)
    {
        JobRow? row = null;
        try
        {
            await Infrastructure.WaitUntilAsync(async () => condition(row = await ReadAsync(database, id)), TimeSpan.FromSeconds(60), what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message} Last seen: {row}", e);
        }
        return row!;
    }

    internal static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[Trait("Provider", "SQLite")]
public sealed class JobProcessesOnSqlite : JobProcessContract
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => Task.FromResult(TestDatabase.Sqlite());
}

[Trait("Provider", "PostgreSQL")]
public sealed class JobProcessesOnPostgres : JobProcessContract
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabase.PostgresAsync(nameof(JobProcessesOnPostgres) + Guid.NewGuid().ToString("N")[..6]);

    [Fact]
    public async Task PeriodicJob_OnTwoNodes_IsEnqueuedOncePerTick()
    {
        var database = await CreateDatabaseAsync();
        var setup = await UpswingTestServer.StartAsync(database, [new("Jobs:RunWorkers", "false")]);
        await setup.StopAsync();
        var everySecond = new Dictionary<string, string>
        {
            ["Jobs__Periodic__tick__Cron"] = "* * * * * ?",
            ["Jobs__Periodic__tick__Kind"] = "upswing.noop",
            ["Logging__LogLevel__Upswing.Jobs.JobMaintenance"] = "Debug",
        };

        await using var first = await UpswingProcess.StartAsync(database, everySecond);
        await using var second = await UpswingProcess.StartAsync(database, everySecond);
        await Infrastructure.WaitUntilAsync(
            () => Task.FromResult(Enqueued(first, duplicate: true) + Enqueued(second, duplicate: true) >= 4 && Enqueued(first, false) + Enqueued(second, false) >= 6),
            TimeSpan.FromSeconds(60), "both nodes to race for several ticks");
        await first.StopAsync(TimeSpan.FromSeconds(30));
        await second.StopAsync(TimeSpan.FromSeconds(30));

        var ticks = await TickKeysAsync(database);
        Assert.Equal(ticks.Count, ticks.Distinct().Count());
        // One job per second from the first tick to the last: no tick lost, none doubled.
        var seconds = ticks.Select(t => DateTimeOffset.Parse(t, CultureInfo.InvariantCulture)).Order().ToList();
        Assert.Equal((int)(seconds[^1] - seconds[0]).TotalSeconds + 1, seconds.Count);
        // Every tick a node logged as its own insert is one row; the other node's attempts were refused by the unique key.
        Assert.Equal(seconds.Count, Enqueued(first, duplicate: false) + Enqueued(second, duplicate: false));
        // Both nodes took part: each logged ticks, and some inserts were refused because the other node had made them.
        Assert.True(Enqueued(first, true) + Enqueued(first, false) > 0 && Enqueued(second, true) + Enqueued(second, false) > 0, "a node logged no ticks");
        Assert.True(Enqueued(first, duplicate: true) + Enqueued(second, duplicate: true) > 0, "no insert was ever refused");
    }

    private static int Enqueued(UpswingProcess node, bool duplicate) =>
        node.Output.Count(line => line.Contains("Periodic job tick: tick", StringComparison.Ordinal) && line.Contains($"another node: {duplicate}", StringComparison.Ordinal));

    private static async Task<List<string>> TickKeysAsync(TestDatabase database)
    {
        await using var db = Connect(database);
        await db.OpenAsync();
        await using var command = db.CreateCommand();
        command.CommandText = "SELECT unique_key FROM jobs WHERE unique_key LIKE 'upswing.noop|-|periodic:tick:%'";
        var keys = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            keys.Add(reader.GetString(0)["upswing.noop|-|periodic:tick:".Length..]);
        }

        return keys;
    }
}
