using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Upswing.Access;
using Upswing.Audit;
using Upswing.Common;
using Upswing.Common.Http;
using Upswing.Data;

namespace Upswing.Jobs;

/// <summary>The durable job queue: enqueue (<see cref="JobQueue"/>), workers, periodic jobs, and the admin API /api/v1/jobs.</summary>
public static class JobsModule
{
    public static IHostApplicationBuilder AddJobs(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<JobsOptions>().BindConfiguration(JobsOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.Queues.Count > 0 || !o.RunWorkers, "Jobs:Queues must name at least one queue when Jobs:RunWorkers is on.")
            .Validate(o => o.Queues.Values.All(q => q.Workers is >= 1 and <= 10_000), "Jobs:Queues:<name>:Workers must be between 1 and 10000.")
            .ValidateOnStart();
        services.AddSingleton<JobSignals>();
        services.AddSingleton<JobMetrics>();
        services.AddSingleton(sp => new JobStore(sp.GetRequiredService<SqlDialect>(), sp.GetRequiredService<JobSignals>()));
        services.AddSingleton(sp => new JobKinds(sp.GetServices<JobKind>()));
        services.AddSingleton(sp => new JobQueue(sp.GetRequiredService<JobStore>(), sp.GetRequiredService<JobKinds>(), sp.GetRequiredService<JobSignals>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new PeriodicJobs(sp.GetServices<PeriodicJobRegistration>(), sp.GetRequiredService<IOptions<JobsOptions>>(), sp.GetRequiredService<TimeProvider>()));
        services.AddScoped(sp => new JobAdmin(sp.GetRequiredService<UpswingDb>(), sp.GetRequiredService<JobStore>(), sp.GetRequiredService<AuditLog>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<JobRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<JobRunner>());
        services.AddHostedService<JobMaintenance>();
        services.AddSingleton<IDatabaseNotificationHandler, JobWakeNotifications>();
        services.AddSingleton<IDatabaseNotificationHandler, JobCancelNotifications>();

        services.AddJob<NoopJob, NoopJobHandler>();
        services.AddJob<SleepJob, SleepJobHandler>(o => o.Timeout = TimeSpan.FromDays(1));
        services.AddJob<PruneJobs, PruneJobsHandler>(o => o.MaxAttempts = 3);
        services.AddPeriodicJob("prune-jobs", "0 */10 * * * ?", new PruneJobs());
        return builder;
    }

    public static IEndpointRouteBuilder MapJobs(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapManagementGroup("/jobs", "Jobs");
        jobs.MapGet("/", ListJobs).WithName("ListJobs")
            .WithSummary("The workspace's jobs, newest first; filter by state, kind and queue; page with ?before=<id of the last job>.");
        jobs.MapGet("/stats", GetStats).WithName("GetJobStats").WithSummary("Queue depth, throughput, pickup latency and failing kinds of the workspace's jobs.");
        jobs.MapGet("/{id:long}", GetJob).WithName("GetJob").WithSummary("One job with its arguments, attempts and error history.");
        jobs.MapPost("/{id:long}/retry", RetryJob).WithName("RetryJob").WithSummary("Makes a finished or waiting job available now (one more attempt if it had none left); 409 when it is running.");
        jobs.MapPost("/{id:long}/cancel", CancelJob).WithName("CancelJob").WithSummary("Cancels a queued job at once; a running job's token fires and it ends as cancelled; 409 when it has finished.");
        jobs.MapPost("/retry", RetryJobs).WithName("RetryJobs").WithSummary("Retries every job in the given state (discarded, cancelled or retryable), optionally of one kind or queue.");
        jobs.MapPost("/cancel", CancelJobs).WithName("CancelJobs").WithSummary("Cancels every queued job matching the filter (state, kind, queue) and requests cancellation of the running ones.");
        return app;
    }

    private static async Task<Results<Ok<IReadOnlyList<JobDto>>, ProblemHttpResult>> ListJobs(
        WorkspaceContext caller, JobAdmin admin, CancellationToken ct, string? state = null, string? kind = null, string? queue = null, long? before = null, int limit = 50)
    {
        var filter = new JobFilter(state, kind, queue, before, limit);
        return JobAdmin.Validate(filter) is { } invalid ? invalid.ToProblem() : TypedResults.Ok(await admin.ListAsync(caller.WorkspaceId, filter, ct));
    }

    private static async Task<Ok<JobStats>> GetStats(WorkspaceContext caller, JobAdmin admin, CancellationToken ct) =>
        TypedResults.Ok(await admin.StatsAsync(caller.WorkspaceId, ct));

    private static async Task<Results<Ok<JobDto>, ProblemHttpResult>> GetJob(long id, WorkspaceContext caller, JobAdmin admin, CancellationToken ct) =>
        await admin.GetAsync(caller.WorkspaceId, id, ct) is { } job ? TypedResults.Ok(job) : Problems.NotFoundProblem($"No job {id}.");

    private static async Task<Results<Ok<JobDto>, ProblemHttpResult>> RetryJob(long id, WorkspaceContext caller, JobAdmin admin, CancellationToken ct) =>
        CanOperate(caller) ?? (await admin.RetryAsync(caller.WorkspaceId, caller.Actor, id, ct)).ToOkOrProblem();

    private static async Task<Results<Ok<JobDto>, ProblemHttpResult>> CancelJob(long id, WorkspaceContext caller, JobAdmin admin, CancellationToken ct) =>
        CanOperate(caller) ?? (await admin.CancelAsync(caller.WorkspaceId, caller.Actor, id, ct)).ToOkOrProblem();

    private static async Task<Results<Ok<BulkRetried>, ProblemHttpResult>> RetryJobs(
        WorkspaceContext caller, JobAdmin admin, CancellationToken ct, string? state = null, string? kind = null, string? queue = null)
    {
        if (CanOperate(caller) is { } forbidden)
        {
            return forbidden;
        }

        var result = await admin.RetryManyAsync(caller.WorkspaceId, caller.Actor, new JobFilter(state, kind, queue), ct);
        return result.Succeeded ? TypedResults.Ok(new BulkRetried(result.Value)) : result.Failure!.ToProblem();
    }

    private static async Task<Results<Ok<BulkCancelled>, ProblemHttpResult>> CancelJobs(
        WorkspaceContext caller, JobAdmin admin, CancellationToken ct, string? state = null, string? kind = null, string? queue = null)
    {
        if (CanOperate(caller) is { } forbidden)
        {
            return forbidden;
        }

        var filter = new JobFilter(state, kind, queue);
        if (JobAdmin.Validate(filter) is { } invalid)
        {
            return invalid.ToProblem();
        }

        var result = await admin.CancelManyAsync(caller.WorkspaceId, caller.Actor, filter, ct);
        return result.Succeeded ? TypedResults.Ok(new BulkCancelled(result.Value.Cancelled, result.Value.Requested)) : result.Failure!.ToProblem();
    }

    private static ProblemHttpResult? CanOperate(WorkspaceContext caller) =>
        caller.Role.AtLeast(WorkspaceRole.Admin) ? null : Problems.ForbiddenProblem("Only workspace admins retry or cancel jobs.");
}

/// <summary>How many jobs a bulk retry made available.</summary>
public sealed record BulkRetried(int Retried);

/// <summary>How many queued jobs a bulk cancel cancelled, and how many running ones were asked to stop.</summary>
public sealed record BulkCancelled(int Cancelled, int CancelRequested);
