using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Upswing.Common;
using Upswing.Jobs;
using Upswing.Workspaces;

namespace Upswing.Server.Cli;

/// <summary>`upswing jobs …`: the queue from the command line, across every workspace (an operator's tool).</summary>
internal static partial class UpswingCli
{
    private static readonly JsonSerializerOptions JobJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private static Command JobsCommand()
    {
        var state = new Option<string?>("--state") { Description = $"Only jobs in this state: {string.Join(", ", JobStates.All)}." };
        var kind = new Option<string?>("--kind") { Description = "Only jobs of this kind." };
        var queue = new Option<string?>("--queue") { Description = "Only jobs of this queue." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var id = new Argument<long?>("id") { Description = "The job's id.", Arity = ArgumentArity.ZeroOrOne };

        var workspace = new Option<string?>("--workspace") { Description = "Only this workspace's jobs (slug)." };
        var limit = new Option<int>("--limit") { Description = $"At most this many jobs (1–{JobAdmin.MaxLimit}).", DefaultValueFactory = _ => 50 };
        var list = new Command("list", "Lists jobs, newest first: id, state, kind, queue, attempt/max, run time, workspace.") { state, kind, queue, workspace, limit, json };
        list.SetAction((parse, ct) => RunVerbAsync(parse, async services =>
        {
            var filter = new JobFilter(parse.GetValue(state), parse.GetValue(kind), parse.GetValue(queue), null, parse.GetValue(limit));
            if (JobAdmin.Validate(filter) is { } invalid)
            {
                throw new CliException(invalid.Message);
            }

            Guid? workspaceId = parse.GetValue(workspace) is { } slug
                ? (await services.GetRequiredService<WorkspaceService>().GetBySlugAsync(slug, ct))?.Id ?? throw new CliException($"No workspace with slug '{slug}'.")
                : null;
            var jobs = await services.GetRequiredService<JobAdmin>().ListAsync(workspaceId, filter, ct);
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(jobs, JobJson));
                return;
            }

            foreach (var job in jobs)
            {
                Console.Out.WriteLine(string.Join('\t',
                    job.Id.ToString(CultureInfo.InvariantCulture), job.State, job.Kind, job.Queue, $"{job.Attempt}/{job.MaxAttempts}",
                    Time(job.RunAt), job.WorkspaceId?.ToString() ?? "-"));
            }
        }));

        var show = new Command("show", "Shows one job: its arguments, attempts and error history.") { id, json };
        show.SetAction((parse, ct) => RunVerbAsync(parse, async services =>
        {
            var jobId = parse.GetValue(id) ?? throw new CliException("Give the job's id: upswing jobs show <id>.");
            var job = await services.GetRequiredService<JobAdmin>().GetAsync(null, jobId, ct) ?? throw new CliException($"No job {jobId}.");
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(job, JobJson));
                return;
            }

            Console.Out.WriteLine($"job {job.Id}: {job.Kind} on queue {job.Queue}, {job.State}, attempt {job.Attempt} of {job.MaxAttempts}, priority {job.Priority}");
            Console.Out.WriteLine($"created {Time(job.CreatedAt)}, runs at {Time(job.RunAt)}, attempted {Time(job.AttemptedAt)}, finished {Time(job.FinalizedAt)}");
            Console.Out.WriteLine($"worker {job.Worker ?? "-"}, lease until {Time(job.LeaseExpiresAt)}, cancel requested {Time(job.CancelRequestedAt)}, unique key {job.UniqueKey ?? "-"}");
            Console.Out.WriteLine($"workspace {job.WorkspaceId?.ToString() ?? "- (installation)"}");
            Console.Out.WriteLine($"args {job.Args.GetRawText()}");
            foreach (var attempt in job.Attempts)
            {
                Console.Out.WriteLine($"attempt {attempt.Number}: {attempt.Outcome} at {Time(attempt.At)} on {attempt.Worker ?? "-"}");
                if (attempt.Error is { } error)
                {
                    Console.Out.WriteLine("  " + error.Replace("\n", "\n  ", StringComparison.Ordinal));
                }
            }
        }));

        var retry = new Command("retry", "Makes a job available now (one more attempt if it had none left); with no id, every job matching --state (discarded, cancelled or retryable), --kind and --queue.") { id, state, kind, queue };
        retry.SetAction((parse, ct) => RunVerbAsync(parse, async services =>
        {
            var admin = services.GetRequiredService<JobAdmin>();
            if (parse.GetValue(id) is { } jobId)
            {
                var job = Unwrap(await admin.RetryAsync(null, Actor.Cli, jobId, ct));
                Console.Out.WriteLine($"job {job.Id}: {job.State}");
                return;
            }

            var count = Unwrap(await admin.RetryManyAsync(null, Actor.Cli, new JobFilter(parse.GetValue(state), parse.GetValue(kind), parse.GetValue(queue)), ct));
            Console.Out.WriteLine($"{count} jobs retried");
        }));

        var cancel = new Command("cancel", "Cancels a queued job; a running one is asked to stop (its token fires). With no id, every job matching --state, --kind and --queue.") { id, state, kind, queue };
        cancel.SetAction((parse, ct) => RunVerbAsync(parse, async services =>
        {
            var admin = services.GetRequiredService<JobAdmin>();
            if (parse.GetValue(id) is { } jobId)
            {
                var job = Unwrap(await admin.CancelAsync(null, Actor.Cli, jobId, ct));
                Console.Out.WriteLine(job.State == JobStates.Running ? $"job {job.Id}: running, cancel requested" : $"job {job.Id}: {job.State}");
                return;
            }

            var filter = new JobFilter(parse.GetValue(state), parse.GetValue(kind), parse.GetValue(queue));
            if (JobAdmin.Validate(filter) is { } invalid)
            {
                throw new CliException(invalid.Message);
            }

            var (cancelled, requested) = Unwrap(await admin.CancelManyAsync(null, Actor.Cli, filter, ct));
            Console.Out.WriteLine($"{cancelled} jobs cancelled, {requested} running jobs asked to stop");
        }));

        var stats = new Command("stats", "Queue depth, throughput, pickup latency, failing kinds and periodic jobs, across all workspaces.") { json };
        stats.SetAction((parse, ct) => RunVerbAsync(parse, async services =>
        {
            var numbers = await services.GetRequiredService<JobAdmin>().StatsAsync(null, ct);
            var periodic = services.GetRequiredService<PeriodicJobs>().List();
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(new { stats = numbers, periodic }, JobJson));
                return;
            }

            Console.Out.WriteLine("queue\tavailable\tscheduled\tretryable\trunning");
            foreach (var q in numbers.Queues)
            {
                Console.Out.WriteLine($"{q.Queue}\t{q.Available}\t{q.Scheduled}\t{q.Retryable}\t{q.Running}");
            }

            Console.Out.WriteLine($"succeeded: {numbers.SucceededLastMinute} in the last minute, {numbers.SucceededLastHour} in the last hour; discarded in the last hour: {numbers.DiscardedLastHour}");
            Console.Out.WriteLine($"pickup latency (jobs finished in the last 5 minutes): p50 {Seconds(numbers.PickupP50Seconds)}, p99 {Seconds(numbers.PickupP99Seconds)}");
            foreach (var failing in numbers.FailingKinds)
            {
                Console.Out.WriteLine($"failing: {failing.Kind}: {failing.Retryable} waiting to retry, {failing.DiscardedLastDay} discarded in the last day");
            }

            foreach (var p in periodic)
            {
                Console.Out.WriteLine($"periodic: {p.Name} '{p.Cron}' ({p.TimeZone}) enqueues {p.Kind} on {p.Queue}, next {Time(p.NextRun)}");
            }
        }));

        var kindArgument = new Argument<string>("kind") { Description = "The job kind, e.g. upswing.noop." };
        var args = new Option<string>("--args") { Description = "The job's arguments as JSON.", DefaultValueFactory = _ => "{}" };
        var count = new Option<int>("--count") { Description = "Enqueue this many identical jobs (in batches of 1000).", DefaultValueFactory = _ => 1 };
        var priority = new Option<int?>("--priority") { Description = "1 (first) to 4 (last)." };
        var runAt = new Option<DateTimeOffset?>("--run-at") { Description = "Not before this time (ISO 8601)." };
        var enqueue = new Command("enqueue", "Enqueues jobs of a kind with JSON arguments; prints the id (or the count with --count).") { kindArgument, args, count, queue, priority, runAt, workspace };
        enqueue.SetAction((parse, ct) => RunVerbAsync(parse, async services =>
        {
            var argsText = parse.GetValue(args)!;
            try
            {
                using var _ = JsonDocument.Parse(argsText);
            }
            catch (JsonException ex)
            {
                throw new CliException($"--args is not JSON: {ex.Message}");
            }

            Guid? workspaceId = parse.GetValue(workspace) is { } slug
                ? (await services.GetRequiredService<WorkspaceService>().GetBySlugAsync(slug, ct))?.Id ?? throw new CliException($"No workspace with slug '{slug}'.")
                : null;
            var options = new EnqueueOptions { Queue = parse.GetValue(queue), Priority = parse.GetValue(priority), RunAt = parse.GetValue(runAt), WorkspaceId = workspaceId };
            var jobs = services.GetRequiredService<JobQueue>();
            var total = parse.GetValue(count);
            if (total < 1)
            {
                throw new CliException("--count must be at least 1.");
            }

            if (total == 1)
            {
                Console.Out.WriteLine((await jobs.EnqueueRawAsync(parse.GetValue(kindArgument)!, argsText, options, ct)).Id);
                return;
            }

            var inserted = 0;
            for (var done = 0; done < total; done += 1000)
            {
                var batch = Enumerable.Repeat(argsText, Math.Min(1000, total - done)).ToList();
                inserted += (await jobs.EnqueueManyRawAsync(parse.GetValue(kindArgument)!, batch, options, ct)).Inserted;
            }

            Console.Out.WriteLine($"{inserted} jobs enqueued");
        }));

        return new Command("jobs", "Inspects and operates the job queue.") { list, show, retry, cancel, stats, enqueue };
    }

    private static string Time(DateTimeOffset? at) => at?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture) ?? "-";

    private static string Seconds(double? seconds) => seconds is { } s ? $"{s * 1000:0.#} ms" : "-";
}
