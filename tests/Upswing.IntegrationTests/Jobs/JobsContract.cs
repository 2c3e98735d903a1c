using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Data;
using Upswing.Jobs;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Jobs;

/// <summary>
/// The job queue's state transitions, unique keys, transactions, workers and admin API, on SQLite and PostgreSQL.
/// Store-level tests use a queue no worker serves and pass their own times; worker tests move the fixture's clock.
/// </summary>
public abstract class JobsContract(JobsServerFixture fixture)
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    private UpswingTestServer Server => fixture.Server;

    private JobStore Store => Server.Services.GetRequiredService<JobStore>();

    private JobQueue Queue => Server.Services.GetRequiredService<JobQueue>();

    private FakeClock Clock => fixture.Clock;

    [Fact]
    public async Task Claim_TakesDueJobsByPriority_UnderALease()
    {
        var queue = ManualQueue();
        var low = await EnqueueAsync(queue, priority: 2);
        var high = await EnqueueAsync(queue, priority: 1);
        await EnqueueAsync(queue, runAt: Clock.GetUtcNow().AddHours(1));
        var now = Clock.GetUtcNow();

        var claimed = await Store.ClaimAsync(queue, 10, "node-a", now, now + Lease, default);

        Assert.Equal([high.Id, low.Id], claimed.Select(c => c.Id));
        var job = await GetAsync(high.Id);
        Assert.Equal(JobStates.Running, job.State);
        Assert.Equal(1, job.Attempt);
        Assert.Equal("node-a", job.Worker);
        Assert.Equal((now + Lease).ToUnixTimeMilliseconds(), job.LeaseExpiresAt!.Value.ToUnixTimeMilliseconds());
        Assert.Empty(await Store.ClaimAsync(queue, 10, "node-b", now, now + Lease, default));
    }

    [Fact]
    public async Task RescuedJob_LateCompletionOfTheOldAttempt_ChangesNothing()
    {
        var queue = ManualQueue();
        var id = (await EnqueueAsync(queue)).Id;
        var t0 = Clock.GetUtcNow();
        var first = Assert.Single(await Store.ClaimAsync(queue, 1, "node-a", t0, t0 + Lease, default));

        // node-a goes silent; its lease runs out and the rescuer puts the job back.
        Assert.True(await Store.RescueAsync(t0 + Lease + TimeSpan.FromSeconds(1), default) >= 1);
        var rescued = await GetAsync(id);
        Assert.Equal(JobStates.Retryable, rescued.State);
        var error = Assert.Single(rescued.Errors);
        Assert.Equal(1, error.Attempt);
        Assert.Equal("node-a", error.Worker);
        Assert.Contains("lease expired", error.Error, StringComparison.OrdinalIgnoreCase);

        var t1 = t0 + Lease + TimeSpan.FromSeconds(2);
        var second = Assert.Single(await Store.ClaimAsync(queue, 1, "node-b", t1, t1 + Lease, default));
        Assert.Equal(2, second.Attempt);

        // node-a wakes up and reports its attempt as done: refused, the job stays with node-b.
        var late = await Store.ApplyAsync("node-a", [new JobOutcome(id, first.Attempt, OutcomeKind.Succeeded, t1)], default);
        Assert.Empty(late);
        var stillRunning = await GetAsync(id);
        Assert.Equal(JobStates.Running, stillRunning.State);
        Assert.Equal("node-b", stillRunning.Worker);

        var done = await Store.ApplyAsync("node-b", [new JobOutcome(id, second.Attempt, OutcomeKind.Succeeded, t1 + TimeSpan.FromSeconds(1))], default);
        Assert.Equal([id], done);
        var finished = await GetAsync(id);
        Assert.Equal(JobStates.Succeeded, finished.State);
        Assert.Equal(2, finished.Attempt);
        Assert.Single(finished.Errors);

        // A failure report from the old attempt cannot move it either.
        Assert.Empty(await Store.ApplyAsync("node-a", [new JobOutcome(id, first.Attempt, OutcomeKind.Retry, t1, "late", t1)], default));
        Assert.Equal(JobStates.Succeeded, (await GetAsync(id)).State);
    }

    [Fact]
    public async Task Heartbeat_ExtendsTheLease_SoTheJobIsNotRescued()
    {
        var queue = ManualQueue();
        var id = (await EnqueueAsync(queue)).Id;
        var t0 = Clock.GetUtcNow();
        var claimed = Assert.Single(await Store.ClaimAsync(queue, 1, "node-a", t0, t0 + Lease, default));

        var t1 = t0 + TimeSpan.FromSeconds(20);
        var alive = await Store.HeartbeatAsync("node-a", [(id, claimed.Attempt)], t1, t1 + Lease, default);
        Assert.Equal([(id, false)], alive);
        // Another owner's heartbeat for the job is not an extension.
        Assert.Empty(await Store.HeartbeatAsync("node-b", [(id, claimed.Attempt)], t1, t1 + Lease, default));

        await Store.RescueAsync(t0 + Lease + TimeSpan.FromSeconds(5), default);
        var job = await GetAsync(id);
        Assert.Equal(JobStates.Running, job.State);
        Assert.Equal((t1 + Lease).ToUnixTimeMilliseconds(), job.LeaseExpiresAt!.Value.ToUnixTimeMilliseconds());
        await Store.ApplyAsync("node-a", [new JobOutcome(id, 1, OutcomeKind.Succeeded, t1)], default);
    }

    [Fact]
    public async Task Rescue_OfAJobWithNoAttemptsLeft_DiscardsIt()
    {
        var queue = ManualQueue();
        var id = (await EnqueueAsync(queue, maxAttempts: 1)).Id;
        var t0 = Clock.GetUtcNow();
        await Store.ClaimAsync(queue, 1, "node-a", t0, t0 + Lease, default);

        await Store.RescueAsync(t0 + Lease + TimeSpan.FromSeconds(1), default);

        var job = await GetAsync(id);
        Assert.Equal(JobStates.Discarded, job.State);
        Assert.NotNull(job.FinalizedAt);
        Assert.Single(job.Errors);
    }

    [Fact]
    public async Task Outcomes_MoveTheJobToTheirStates()
    {
        var queue = ManualQueue();
        var t0 = Clock.GetUtcNow();
        var retry = (await EnqueueAsync(queue)).Id;
        var snooze = (await EnqueueAsync(queue)).Id;
        var discard = (await EnqueueAsync(queue)).Id;
        var cancel = (await EnqueueAsync(queue)).Id;
        var release = (await EnqueueAsync(queue)).Id;
        Assert.Equal(5, (await Store.ClaimAsync(queue, 10, "node-a", t0, t0 + Lease, default)).Count);
        var later = t0 + TimeSpan.FromMinutes(5);

        var applied = await Store.ApplyAsync("node-a",
        [
            new JobOutcome(retry, 1, OutcomeKind.Retry, t0, "boom", later),
            new JobOutcome(snooze, 1, OutcomeKind.Snoozed, t0, RunAt: later),
            new JobOutcome(discard, 1, OutcomeKind.Discarded, t0, "bad arguments"),
            new JobOutcome(cancel, 1, OutcomeKind.Cancelled, t0, "Cancelled while running."),
            new JobOutcome(release, 1, OutcomeKind.Released, t0, "Interrupted", t0),
        ], default);
        Assert.Equal(5, applied.Count);

        var retried = await GetAsync(retry);
        Assert.Equal(JobStates.Retryable, retried.State);
        Assert.Equal(later.ToUnixTimeMilliseconds(), retried.RunAt.ToUnixTimeMilliseconds());
        Assert.Equal("boom", Assert.Single(retried.Errors).Error);
        Assert.Equal("failed", retried.Attempts.Single().Outcome);

        var snoozed = await GetAsync(snooze);
        Assert.Equal(JobStates.Available, snoozed.State);
        Assert.Equal(4, snoozed.MaxAttempts);
        Assert.Empty(snoozed.Errors);

        Assert.Equal(JobStates.Discarded, (await GetAsync(discard)).State);
        Assert.Equal(JobStates.Cancelled, (await GetAsync(cancel)).State);
        var released = await GetAsync(release);
        Assert.Equal(JobStates.Available, released.State);
        Assert.Equal(4, released.MaxAttempts);

        // Due again at its run_at, not before.
        Assert.Equal([release], (await Store.ClaimAsync(queue, 10, "node-a", t0, t0 + Lease, default)).Select(c => c.Id));
        var claimedLater = await Store.ClaimAsync(queue, 10, "node-a", later, later + Lease, default);
        Assert.Equal(new[] { retry, snooze }.Order(), claimedLater.Select(c => c.Id).Order());
        Assert.Equal(2, claimedLater.Single(c => c.Id == retry).Attempt);
    }

    [Theory]
    [InlineData(UniqueScope.WhileQueued)]
    [InlineData(UniqueScope.WhileActive)]
    [InlineData(UniqueScope.ForPeriod)]
    public async Task UniqueKey_ParallelEnqueues_MakeOneJob(UniqueScope scope)
    {
        var queue = ManualQueue();
        var unique = new JobUnique(Infrastructure.Unique("key"), scope, scope == UniqueScope.ForPeriod ? TimeSpan.FromHours(1) : null);

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => EnqueueAsync(queue, unique: unique))));

        var created = Assert.Single(results, r => !r.Duplicate);
        Assert.All(results, r => Assert.Equal(created.Id, r.Id));
        Assert.Single(await ListAsync(queue));
    }

    [Fact]
    public async Task UniqueKey_Scopes_ReleaseTheKeyAtTheirEnd()
    {
        var queue = ManualQueue();
        var queued = JobUnique.WhileQueued(Infrastructure.Unique("q"));
        var active = JobUnique.WhileActive(Infrastructure.Unique("a"));
        var period = JobUnique.For(Infrastructure.Unique("p"), TimeSpan.FromDays(1));
        var first = new[] { await EnqueueAsync(queue, unique: queued), await EnqueueAsync(queue, unique: active), await EnqueueAsync(queue, unique: period) };
        var t0 = Clock.GetUtcNow();
        var claimed = await Store.ClaimAsync(queue, 10, "node-a", t0, t0 + Lease, default);
        Assert.Equal(3, claimed.Count);

        // Running: only the while-queued key is free again.
        Assert.False((await EnqueueAsync(queue, unique: queued)).Duplicate);
        Assert.True((await EnqueueAsync(queue, unique: active)).Duplicate);
        Assert.True((await EnqueueAsync(queue, unique: period)).Duplicate);

        await Store.ApplyAsync("node-a", [.. first.Select(f => new JobOutcome(f.Id, 1, OutcomeKind.Succeeded, t0))], default);

        // Finished: the while-active key is free; the period's key stays taken for the period.
        Assert.True((await EnqueueAsync(queue, unique: queued)).Duplicate);
        Assert.False((await EnqueueAsync(queue, unique: active)).Duplicate);
        Assert.True((await EnqueueAsync(queue, unique: period)).Duplicate);
    }

    [Fact]
    public async Task UniqueKey_RetriedJob_LeavesTheKeyToAJobQueuedMeanwhile()
    {
        var queue = ManualQueue();
        var key = JobUnique.WhileQueued(Infrastructure.Unique("q"));
        var first = await EnqueueAsync(queue, unique: key);
        var t0 = Clock.GetUtcNow();
        await Store.ClaimAsync(queue, 1, "node-a", t0, t0 + Lease, default);
        var second = await EnqueueAsync(queue, unique: key);
        Assert.False(second.Duplicate);

        // The first job fails and goes back to the queue while the second holds the key: no unique violation.
        Assert.Single(await Store.ApplyAsync("node-a", [new JobOutcome(first.Id, 1, OutcomeKind.Retry, t0, "boom", t0)], default));

        Assert.Equal(JobStates.Retryable, (await GetAsync(first.Id)).State);
        Assert.Equal(second.Id, (await EnqueueAsync(queue, unique: key)).Id);
    }

    [Fact]
    public async Task Enqueue_InTheCallersTransaction_CommitsOrRollsBackWithIt()
    {
        var queue = ManualQueue();
        var rolledBack = Infrastructure.Unique("rolled-back");
        var committed = Infrastructure.Unique("committed");
        await using (var scope = Server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<UpswingDb>();
            await using (var transaction = await db.Database.BeginTransactionAsync())
            {
                await Queue.EnqueueAsync(db, new RecordJob(rolledBack), new EnqueueOptions { Queue = queue });
                await transaction.RollbackAsync();
            }

            await using (var transaction = await db.Database.BeginTransactionAsync())
            {
                await Queue.EnqueueAsync(db, new RecordJob(committed), new EnqueueOptions { Queue = queue });
                await transaction.CommitAsync();
            }

            await Assert.ThrowsAsync<InvalidOperationException>(() => Queue.EnqueueAsync(db, new RecordJob("no transaction")));
        }

        var markers = (await ListAsync(queue)).Select(j => j.Args.GetProperty("marker").GetString()).ToList();
        Assert.Equal([committed], markers);
    }

    [Fact]
    public async Task Admin_CancelAndRetry_FollowTheJobsState()
    {
        var queue = ManualQueue();
        var queued = (await EnqueueAsync(queue)).Id;
        var running = (await EnqueueAsync(queue, priority: 4)).Id;
        var t0 = Clock.GetUtcNow();
        await using var scope = Server.Services.CreateAsyncScope();
        var admin = scope.ServiceProvider.GetRequiredService<JobAdmin>();

        var cancelled = await admin.CancelAsync(null, Upswing.Common.Actor.Cli, queued, default);
        Assert.Equal(JobStates.Cancelled, cancelled.Value!.State);
        Assert.Equal(Upswing.Common.FailureKind.Conflict, (await admin.CancelAsync(null, Upswing.Common.Actor.Cli, queued, default)).Failure!.Kind);

        Assert.Single(await Store.ClaimAsync(queue, 10, "node-a", t0, t0 + Lease, default));
        Assert.Equal(Upswing.Common.FailureKind.Conflict, (await admin.RetryAsync(null, Upswing.Common.Actor.Cli, running, default)).Failure!.Kind);
        var requested = await admin.CancelAsync(null, Upswing.Common.Actor.Cli, running, default);
        Assert.Equal(JobStates.Running, requested.Value!.State);
        Assert.NotNull(requested.Value.CancelRequestedAt);
        var beat = await Store.HeartbeatAsync("node-a", [(running, 1)], t0, t0 + Lease, default);
        Assert.Equal([(running, true)], beat);

        var retried = await admin.RetryAsync(null, Upswing.Common.Actor.Cli, queued, default);
        Assert.Equal(JobStates.Available, retried.Value!.State);
        Assert.Null(retried.Value.FinalizedAt);
        Assert.Equal(Upswing.Common.FailureKind.NotFound, (await admin.RetryAsync(null, Upswing.Common.Actor.Cli, long.MaxValue, default)).Failure!.Kind);
        await Store.ApplyAsync("node-a", [new JobOutcome(running, 1, OutcomeKind.Cancelled, t0, "Cancelled while running.")], default);
    }

    [Fact]
    public async Task Admin_RetryOfADeadLetter_GivesItOneMoreAttempt()
    {
        var queue = ManualQueue();
        var id = (await EnqueueAsync(queue, maxAttempts: 1)).Id;
        var t0 = Clock.GetUtcNow();
        await Store.ClaimAsync(queue, 1, "node-a", t0, t0 + Lease, default);
        await Store.ApplyAsync("node-a", [new JobOutcome(id, 1, OutcomeKind.Discarded, t0, "out of attempts")], default);

        await using var scope = Server.Services.CreateAsyncScope();
        var retried = await scope.ServiceProvider.GetRequiredService<JobAdmin>().RetryAsync(null, Upswing.Common.Actor.Cli, id, default);

        Assert.Equal(JobStates.Available, retried.Value!.State);
        Assert.Equal(2, retried.Value.MaxAttempts);
        var again = Assert.Single(await Store.ClaimAsync(queue, 1, "node-a", t0, t0 + Lease, default));
        Assert.Equal(2, again.Attempt);
    }

    [Fact]
    public async Task Prune_DeletesOnlyFinishedJobsPastTheirRetention()
    {
        var queue = ManualQueue();
        var t0 = Clock.GetUtcNow().AddDays(-30);
        var old = (await EnqueueAsync(queue)).Id;
        var oldFailed = (await EnqueueAsync(queue)).Id;
        var recent = (await EnqueueAsync(queue)).Id;
        var waiting = (await EnqueueAsync(queue, runAt: t0.AddDays(60))).Id;
        await Store.ClaimAsync(queue, 10, "node-a", Clock.GetUtcNow(), Clock.GetUtcNow() + Lease, default);
        await Store.ApplyAsync("node-a",
        [
            new JobOutcome(old, 1, OutcomeKind.Succeeded, t0),
            new JobOutcome(oldFailed, 1, OutcomeKind.Discarded, t0.AddDays(25), "dead"),
            new JobOutcome(recent, 1, OutcomeKind.Succeeded, Clock.GetUtcNow()),
        ], default);

        var now = Clock.GetUtcNow();
        await Store.PruneAsync(now.AddDays(-1), now.AddDays(-7), 1000, default);

        var left = (await ListAsync(queue)).Select(j => j.Id).Order().ToList();
        Assert.Equal(new[] { oldFailed, recent, waiting }.Order(), left);
    }

    [Fact]
    public async Task Worker_RunsAnEnqueuedJob_ToSuccess()
    {
        var marker = Infrastructure.Unique("run");
        var id = (await Queue.EnqueueAsync(new RecordJob(marker))).Id;

        await WaitForStateAsync(id, JobStates.Succeeded);

        Assert.Equal(1, RecordJobHandler.Runs[marker]);
        var job = await GetAsync(id);
        Assert.Equal(1, job.Attempt);
        Assert.NotNull(job.AttemptedAt);
        var metrics = await Server.Client.GetStringAsync("/metrics");
        Assert.Matches("upswing_jobs_finished[a-z_]*\\{[^}]*kind=\"test\\.record\"[^}]*outcome=\"succeeded\"", metrics);
        Assert.Contains("upswing_jobs_pickup_latency_seconds_bucket", metrics);
    }

    [Fact]
    public async Task FailingJob_WaitsForItsBackoff_OnTheClock_ThenIsDiscardedWithItsErrors()
    {
        var marker = Infrastructure.Unique("fail");
        var id = (await Queue.EnqueueAsync(new RecordJob(marker, FailTimes: 5))).Id;

        // Attempt 1 fails: the next run is 1⁴ s ± 10 % later on the job's clock.
        var first = await WaitForStateAsync(id, JobStates.Retryable);
        var wait = first.RunAt - first.AttemptedAt!.Value;
        Assert.InRange(wait.TotalSeconds, 0.85, 1.15);
        Clock.Advance(TimeSpan.FromSeconds(0.8));
        await Task.Delay(300, TestContext.Current.CancellationToken);
        Assert.Equal(1, (await GetAsync(id)).Attempt);

        // Attempt 2 runs once the clock passes that time, fails, and waits 2⁴ = 16 s ± 10 %.
        Clock.Advance(TimeSpan.FromSeconds(0.4));
        await Infrastructure.WaitUntilAsync(async () => (await GetAsync(id)) is { Attempt: 2, State: JobStates.Retryable }, TimeSpan.FromSeconds(10), "attempt 2 to fail");
        var second = await GetAsync(id);
        Assert.InRange((second.RunAt - second.AttemptedAt!.Value).TotalSeconds, 16 * 0.9 - 0.05, 16 * 1.1 + 0.05);

        // Attempt 3 is the last (max 3): the job becomes a dead letter with every error.
        Clock.Advance(TimeSpan.FromSeconds(18));
        var discarded = await WaitForStateAsync(id, JobStates.Discarded);
        Assert.Equal(3, discarded.Attempt);
        Assert.Equal([1, 2, 3], discarded.Errors.Select(e => e.Attempt));
        Assert.All(discarded.Errors, e => Assert.Contains("Planned failure", e.Error, StringComparison.Ordinal));
        Assert.Equal(3, RecordJobHandler.Runs[marker]);
    }

    [Fact]
    public async Task CancellingARunningJob_FiresItsToken_AndEndsItCancelled()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var id = (await Queue.EnqueueAsync(new SleepJob(600_000), new EnqueueOptions { WorkspaceId = ws.Workspace.Id })).Id;
        await WaitForStateAsync(id, JobStates.Running);
        using var api = Server.NewClient(ws.SecretKey);

        var response = await api.PostAsync($"/api/v1/jobs/{id}/cancel", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await response.ReadAsync();
        // The answer is read after the request committed; the worker may already have stopped the job.
        Assert.Contains(answer.Str("state"), new[] { JobStates.Running, JobStates.Cancelled });
        Assert.NotNull(answer["cancelRequestedAt"]);
        var cancelled = await WaitForStateAsync(id, JobStates.Cancelled);
        Assert.Contains("Cancelled while running", cancelled.Errors[^1].Error, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, (await api.PostAsync($"/api/v1/jobs/{id}/cancel", null)).StatusCode);
    }

    [Fact]
    public async Task JobsApi_ShowsAndChangesOnlyTheWorkspacesJobs()
    {
        var ws = await Server.CreateWorkspaceAsync();
        var other = await Server.CreateWorkspaceAsync();
        var queue = ManualQueue();
        var mine = (await Queue.EnqueueAsync(new RecordJob("mine"), new EnqueueOptions { Queue = queue, WorkspaceId = ws.Workspace.Id })).Id;
        var theirs = (await Queue.EnqueueAsync(new RecordJob("theirs"), new EnqueueOptions { Queue = queue, WorkspaceId = other.Workspace.Id })).Id;
        using var api = Server.NewClient(ws.SecretKey);

        var list = (await (await api.GetAsync($"/api/v1/jobs?queue={queue}")).ReadOkAsync()).AsArray();
        Assert.Equal([mine], list.Select(j => j!["id"]!.GetValue<long>()));
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/v1/jobs/{theirs}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.PostAsync($"/api/v1/jobs/{theirs}/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.PostAsync($"/api/v1/jobs/{theirs}/retry", null)).StatusCode);

        var job = await (await api.GetAsync($"/api/v1/jobs/{mine}")).ReadOkAsync();
        Assert.Equal("test.record", job.Str("kind"));
        Assert.Equal("mine", job["args"]!["marker"]!.GetValue<string>());

        var bulk = await (await api.PostAsync($"/api/v1/jobs/cancel?queue={queue}", null)).ReadOkAsync();
        Assert.Equal(1, bulk["cancelled"]!.GetValue<int>());
        Assert.Equal(JobStates.Available, (await GetAsync(theirs)).State);
        var retried = await (await api.PostAsync($"/api/v1/jobs/retry?state=cancelled&queue={queue}", null)).ReadOkAsync();
        Assert.Equal(1, retried["retried"]!.GetValue<int>());

        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/api/v1/jobs?state=sleeping")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/api/v1/jobs?limit=0")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsync("/api/v1/jobs/retry", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsync("/api/v1/jobs/cancel", null)).StatusCode);
        var stats = await (await api.GetAsync("/api/v1/jobs/stats")).ReadOkAsync();
        Assert.Contains(stats["queues"]!.AsArray(), q => q!.Str("queue") == queue && q!["available"]!.GetValue<long>() == 1);
        var audit = await (await api.GetAsync("/api/v1/audit?resourceType=job")).ReadOkAsync();
        Assert.Contains(audit.AsArray(), a => a!.Str("action") == "job.bulk_cancelled");
    }

    private static string ManualQueue() => Infrastructure.Unique("manual");

    private Task<EnqueueResult> EnqueueAsync(string queue, int priority = 1, DateTimeOffset? runAt = null, int? maxAttempts = null, JobUnique? unique = null) =>
        Queue.EnqueueAsync(new RecordJob(Infrastructure.Unique("m")), new EnqueueOptions { Queue = queue, Priority = priority, RunAt = runAt, MaxAttempts = maxAttempts, Unique = unique });

    private async Task<JobDto> GetAsync(long id)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<JobAdmin>().GetAsync(null, id, default) ?? throw new InvalidOperationException($"No job {id}.");
    }

    private async Task<IReadOnlyList<JobDto>> ListAsync(string queue)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<JobAdmin>().ListAsync(null, new JobFilter(Queue: queue, Limit: 200), default);
    }

    private async Task<JobDto> WaitForStateAsync(long id, string state)
    {
        await Infrastructure.WaitUntilAsync(async () => (await GetAsync(id)).State == state, TimeSpan.FromSeconds(15), $"job {id} to be {state}");
        return await GetAsync(id);
    }
}

public sealed class JobsOnSqlite(JobsSqliteFixture fixture) : JobsContract(fixture), IClassFixture<JobsSqliteFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class JobsOnPostgres(JobsPostgresFixture fixture) : JobsContract(fixture), IClassFixture<JobsPostgresFixture>;
