using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Upswing.Common;
using Upswing.Data;

namespace Upswing.Analytics;

/// <summary>One rollup run as <c>rollup_runs</c> records it.</summary>
public sealed record RollupRunDto(
    Guid Id, Guid WorkspaceId, string Job, DateOnly WindowFrom, DateOnly WindowTo, long RowsWritten, long DurationMs, string Outcome, string? Error,
    DateTimeOffset StartedAt, DateTimeOffset FinishedAt);

/// <summary>
/// Runs and verifies rollups for one workspace: works out the window (from the watermark minus the re-run window, or the
/// earliest data on a first run, or the last N days when asked), lets the rollup replace those days, records the run in
/// <c>rollup_runs</c> and moves the watermark.
/// </summary>
public sealed partial class RollupRunner(
    IServiceProvider services, IEnumerable<RollupKind> kinds, UpswingDb db, SqlDialect dialect, IOptions<AnalyticsOptions> options, TimeProvider time,
    ILogger<RollupRunner> logger)
{
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const int MaxErrorLength = 2000;

    /// <summary>The registered rollups' names, in registration order.</summary>
    public IReadOnlyList<string> Jobs { get; } = [.. kinds.Select(k => k.Name)];

    /// <summary>
    /// Recomputes one rollup of one workspace: the last <paramref name="windowDays"/> days (today included) when given,
    /// else from the watermark's day minus <see cref="AnalyticsOptions.RerunDays"/> (a first run: from the earliest data)
    /// to today. The run is recorded whatever its outcome; a failure is rethrown.
    /// </summary>
    public async Task<RollupRunDto> RunAsync(Guid workspaceId, string job, int? windowDays, CancellationToken ct)
    {
        var rollup = Resolve(job);
        var started = time.GetUtcNow();
        var clock = time.GetTimestamp();
        var (window, coversDefault) = await WindowAsync(workspaceId, job, rollup, windowDays, started, ct);
        RollupRun run;
        try
        {
            var written = await rollup.WriteAsync(window, ct);
            run = Run(workspaceId, job, written.From, written.To, written.Rows, Succeeded, null, started, clock);
            if (coversDefault)
            {
                await AdvanceWatermarkAsync(workspaceId, job, started, ct);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            run = Run(workspaceId, job, window.From, window.To, 0, Failed, $"{ex.GetType().Name}: {ex.Message}", started, clock);
            await RecordAsync(run, CancellationToken.None);
            LogFailed(logger, job, workspaceId, ex);
            throw;
        }

        await RecordAsync(run, ct);
        LogRun(logger, job, workspaceId, run.RowsWritten, run.WindowFrom, run.WindowTo, run.DurationMs);
        return ToDto(run);
    }

    /// <summary>Recomputes the window <see cref="RunAsync"/> would (or the last <paramref name="windowDays"/> days) into memory and lists every difference from the stored rows.</summary>
    public async Task<IReadOnlyList<RollupDifference>> VerifyAsync(Guid workspaceId, string job, int? windowDays, CancellationToken ct)
    {
        var rollup = Resolve(job);
        var (window, _) = await WindowAsync(workspaceId, job, rollup, windowDays, time.GetUtcNow(), ct);
        return await rollup.VerifyAsync(window, ct);
    }

    /// <summary>A workspace's runs, newest first (optionally of one job).</summary>
    public async Task<IReadOnlyList<RollupRunDto>> ListRunsAsync(Guid workspaceId, string? job, int limit, CancellationToken ct)
    {
        var query = db.Set<RollupRun>().AsNoTracking().Where(r => r.WorkspaceId == workspaceId);
        if (job is not null)
        {
            query = query.Where(r => r.Job == job);
        }

        return (await query.OrderByDescending(r => r.StartedAt).ThenByDescending(r => r.Id).Take(limit).ToListAsync(ct)).ConvertAll(ToDto);
    }

    /// <summary>Deletes the runs (of every workspace) that finished before <paramref name="before"/>; returns how many went.</summary>
    public async Task<int> PruneRunsAsync(DateTimeOffset before, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        // Times are stored in a form that sorts as it compares on both providers (as the watermark's upsert relies on).
        command.CommandText = "DELETE FROM rollup_runs WHERE finished_at < @before";
        command.AddParameter("@before", dialect.Value(before));
        return await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The watermark of one rollup of a workspace, or null before its first run.</summary>
    public async Task<DateTimeOffset?> WatermarkAsync(Guid workspaceId, string job, CancellationToken ct) =>
        await db.Set<RollupWatermark>().AsNoTracking().Where(w => w.WorkspaceId == workspaceId && w.Job == job)
            .Select(w => (DateTimeOffset?)w.Watermark).FirstOrDefaultAsync(ct);

    private IRollup Resolve(string job) =>
        kinds.FirstOrDefault(k => k.Name == job) is { } kind
            ? (IRollup)services.GetRequiredService(kind.Type)
            : throw new ArgumentException($"No rollup named '{job}'; the rollups are {string.Join(", ", Jobs)}.", nameof(job));

    private async Task<(RollupWindow Window, bool CoversDefault)> WindowAsync(Guid workspaceId, string job, IRollup rollup, int? windowDays, DateTimeOffset now, CancellationToken ct)
    {
        if (windowDays is < 1)
        {
            throw new ArgumentException("The window is at least one day.", nameof(windowDays));
        }

        var today = RollupWindow.DayOf(now);
        var watermark = await WatermarkAsync(workspaceId, job, ct);
        var defaultFrom = watermark is { } w
            ? RollupWindow.DayOf(w).AddDays(-options.Value.RerunDays)
            : await rollup.EarliestDayAsync(workspaceId, ct) ?? today;
        if (defaultFrom > today)
        {
            defaultFrom = today;
        }

        var from = windowDays is { } n ? today.AddDays(1 - n) : defaultFrom;
        // A shorter window than the default leaves days the watermark promises unseen: it must not move the watermark.
        return (new RollupWindow(workspaceId, from, today, now), from <= defaultFrom);
    }

    private async Task AdvanceWatermarkAsync(Guid workspaceId, string job, DateTimeOffset to, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        // An upsert that only moves forward: two runs finishing out of order (two nodes, or the CLI beside the server)
        // leave the later watermark. The CASE is spelled the same on both providers.
        command.CommandText = """
            INSERT INTO rollup_watermarks (workspace_id, job, watermark, updated_at) VALUES (@workspace, @job, @watermark, @now)
            ON CONFLICT (workspace_id, job) DO UPDATE SET
              watermark = CASE WHEN excluded.watermark > rollup_watermarks.watermark THEN excluded.watermark ELSE rollup_watermarks.watermark END,
              updated_at = excluded.updated_at
            """;
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@job", job);
        command.AddParameter("@watermark", dialect.Value(to));
        command.AddParameter("@now", dialect.Value(time.GetUtcNow()));
        await command.ExecuteNonQueryAsync(ct);
    }

    private RollupRun Run(Guid workspaceId, string job, DateOnly from, DateOnly to, long rows, string outcome, string? error, DateTimeOffset started, long clock) => new()
    {
        Id = Ids.New(time),
        WorkspaceId = workspaceId,
        Job = job,
        WindowFrom = from,
        WindowTo = to,
        RowsWritten = rows,
        DurationMs = (long)time.GetElapsedTime(clock).TotalMilliseconds,
        Outcome = outcome,
        Error = error is { Length: > MaxErrorLength } ? error[..MaxErrorLength] : error,
        StartedAt = started,
        FinishedAt = time.GetUtcNow(),
    };

    private async Task RecordAsync(RollupRun run, CancellationToken ct)
    {
        db.Set<RollupRun>().Add(run);
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
    }

    private static RollupRunDto ToDto(RollupRun r) =>
        new(r.Id, r.WorkspaceId, r.Job, r.WindowFrom, r.WindowTo, r.RowsWritten, r.DurationMs, r.Outcome, r.Error, r.StartedAt, r.FinishedAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rollup {Job} of workspace {WorkspaceId}: {Rows} rows for {From}..{To} in {DurationMs} ms")]
    private static partial void LogRun(ILogger logger, string job, Guid workspaceId, long rows, DateOnly from, DateOnly to, long durationMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rollup {Job} of workspace {WorkspaceId} failed")]
    private static partial void LogFailed(ILogger logger, string job, Guid workspaceId, Exception exception);
}
