using System.ComponentModel.DataAnnotations;
using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Data;
using Upswing.Jobs;

namespace Upswing.Analytics;

/// <summary>Rollup settings, bound to the "Analytics" section.</summary>
public sealed class AnalyticsOptions
{
    public const string Section = "Analytics";

    /// <summary>Days before the watermark's day that every run recomputes, so late and out-of-order events are counted.</summary>
    [Range(0, 365)]
    public int RerunDays { get; set; } = 3;

    /// <summary>How long rollup_runs keeps a run: each rollup records one per workspace every few minutes.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan KeepRuns { get; set; } = TimeSpan.FromDays(14);
}

/// <summary>
/// The days a rollup run recomputes for one workspace: <see cref="From"/>…<see cref="To"/> (UTC, both included), as of
/// <see cref="Now"/> (events after it are not counted).
/// </summary>
public sealed record RollupWindow(Guid WorkspaceId, DateOnly From, DateOnly To, DateTimeOffset Now)
{
    /// <summary>The first instant of the window.</summary>
    public DateTimeOffset Start => StartOf(From);

    /// <summary>The first instant after the window.</summary>
    public DateTimeOffset End => StartOf(To.AddDays(1));

    /// <summary>Midnight UTC at the start of a day.</summary>
    public static DateTimeOffset StartOf(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    /// <summary>The UTC day of an instant.</summary>
    public static DateOnly DayOf(DateTimeOffset at) => DateOnly.FromDateTime(at.UtcDateTime);
}

/// <summary>
/// The environment bucket of rollup rows (ADR 9): the environment of the key the events came in with, or <see cref="None"/>
/// for keys bound to no environment. A view of one environment reads its bucket and <see cref="None"/>'s, as the live
/// event stream shows an environment's events and the environment-less ones; a view of the workspace reads every bucket.
/// Buckets are summed: a person is counted once per environment they were seen in.
/// </summary>
public static class RollupEnvironment
{
    /// <summary>The bucket of events sent with a key bound to no environment.</summary>
    public static readonly Guid None = Guid.Empty;

    /// <summary>The bucket of an event's environment.</summary>
    public static Guid Of(Guid? environmentId) => environmentId ?? None;

    /// <summary>Whether a row of <paramref name="bucket"/> belongs to the view of <paramref name="environmentId"/> (null: the whole workspace).</summary>
    public static bool Includes(Guid? environmentId, Guid bucket) => environmentId is not { } e || bucket == e || bucket == None;

    /// <summary>
    /// The SQL condition (with a leading AND) restricting <paramref name="column"/> to the view of
    /// <paramref name="environmentId"/>, its parameters added to <paramref name="command"/>; empty for the whole workspace.
    /// </summary>
    public static string Condition(DbCommand command, SqlDialect dialect, string column, Guid? environmentId)
    {
        if (environmentId is not { } environment)
        {
            return "";
        }

        command.AddParameter("@environment", dialect.Value(environment));
        command.AddParameter("@no_environment", dialect.Value(None));
        return $" AND {column} IN (@environment, @no_environment)";
    }
}

/// <summary>What a rollup wrote: how many rows, and the days it replaced (which may reach before the window, see experiments).</summary>
public sealed record RollupWrite(long Rows, DateOnly From, DateOnly To);

/// <summary>A stored rollup row that differs from what the raw events give now.</summary>
/// <param name="Row">The row's key, readable (e.g. "2026-11-02 Signed Up").</param>
/// <param name="Column">The column that differs, or "row" when the row is missing or unexpected.</param>
/// <param name="Stored">The stored value ("missing" when there is no row).</param>
/// <param name="Computed">The recomputed value ("none" when the row should not exist).</param>
public sealed record RollupDifference(string Row, string Column, string Stored, string Computed);

/// <summary>
/// One kind of rollup (daily metrics, experiment metrics, …): rows derived from raw events, replaced day by day, so that
/// recomputing any window gives identical rows. Implement it and register it with
/// <see cref="RollupRegistration.AddRollup{TRollup}"/>: the CLI, the periodic job and verification pick it up by name.
/// </summary>
public interface IRollup
{
    /// <summary>The earliest day with data the rollup reads, or null when there is none (a first run starts there).</summary>
    Task<DateOnly?> EarliestDayAsync(Guid workspaceId, CancellationToken ct);

    /// <summary>Recomputes the window's days from raw events and replaces their stored rows (idempotent).</summary>
    Task<RollupWrite> WriteAsync(RollupWindow window, CancellationToken ct);

    /// <summary>Recomputes the window's days into memory and returns every difference from the stored rows.</summary>
    Task<IReadOnlyList<RollupDifference>> VerifyAsync(RollupWindow window, CancellationToken ct);
}

/// <summary>A registered rollup kind: its name (what `upswing rollup --job` and rollup_runs call it) and its class.</summary>
public sealed record RollupKind(string Name, Type Type);

/// <summary>Registers rollup kinds.</summary>
public static class RollupRegistration
{
    /// <summary>How often the server runs each rollup (Quartz cron; re-time with Jobs:Periodic:rollup-NAME:Cron).</summary>
    public const string DefaultCron = "0 */5 * * * ?";

    /// <summary>
    /// Registers a rollup under <paramref name="name"/> and its periodic job <c>rollup-NAME</c>, which runs it for every
    /// workspace at each tick (one job per tick across nodes: the tick's unique key).
    /// </summary>
    public static IServiceCollection AddRollup<TRollup>(this IServiceCollection services, string name)
        where TRollup : class, IRollup
    {
        services.AddScoped<TRollup>();
        services.AddSingleton(new RollupKind(name, typeof(TRollup)));
        services.AddPeriodicJob("rollup-" + name, DefaultCron, new RollupJob(name));
        return services;
    }
}
