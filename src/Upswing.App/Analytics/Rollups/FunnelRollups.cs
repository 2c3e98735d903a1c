using System.Globalization;
using Upswing.Data;
using Upswing.Events;

namespace Upswing.Analytics;

/// <summary>
/// The <c>funnels</c> rollup: per workspace, funnel, UTC entry day, environment bucket, breakdown value and step, the entries that reached
/// the step and their summed seconds to it (<see cref="FunnelMatcher"/>). Per funnel a run replaces the entry days whose
/// conversion windows were still open at the window's start, plus the window's own days; a funnel without rows, or whose
/// rows were computed with another version of its definition, is recomputed from the workspace's earliest event day; the
/// rows of deleted funnels are deleted. Computed in memory from one scan of the steps' events per funnel.
/// </summary>
public sealed class FunnelRollups(FunnelService funnels, RawEventReader events, SqlDialect dialect) : IRollup
{
    public const string Name = "funnels";

    private const double Tolerance = 1e-6;

    private bool Postgres => dialect.Provider == DatabaseProvider.Postgres;

    public Task<DateOnly?> EarliestDayAsync(Guid workspaceId, CancellationToken ct) => events.EarliestDayAsync(workspaceId, ct);

    public async Task<RollupWrite> WriteAsync(RollupWindow window, CancellationToken ct)
    {
        var (plans, orphans) = await PlanAsync(window, ct);
        foreach (var key in orphans)
        {
            await DeleteAsync(window.WorkspaceId, key, ct);
        }

        long written = 0;
        var from = window.From;
        foreach (var (funnel, funnelFrom) in plans)
        {
            var rows = await ComputeAsync(funnel, window, funnelFrom, ct);
            await ReplaceAsync(window.WorkspaceId, funnel.Key, funnelFrom, window.To, rows, window.Now, ct);
            written += rows.Count;
            from = funnelFrom < from ? funnelFrom : from;
        }

        return new RollupWrite(written, from, window.To);
    }

    public async Task<IReadOnlyList<RollupDifference>> VerifyAsync(RollupWindow window, CancellationToken ct)
    {
        var (plans, orphans) = await PlanAsync(window, ct);
        var differences = new List<RollupDifference>();
        foreach (var key in orphans)
        {
            differences.AddRange((await ReadAsync(window.WorkspaceId, key, DateOnly.MinValue, DateOnly.MaxValue, null, ct))
                .Select(r => new RollupDifference(Describe(r), "row", Format(r), "none")));
        }

        foreach (var (funnel, from) in plans)
        {
            var computed = await ComputeAsync(funnel, window, from, ct);
            var stored = (await ReadAsync(window.WorkspaceId, funnel.Key, from, window.To, null, ct)).ToDictionary(Key);
            foreach (var row in computed)
            {
                var name = Describe(row);
                if (!stored.Remove(Key(row), out var s))
                {
                    differences.Add(new RollupDifference(name, "row", "missing", Format(row)));
                    continue;
                }

                if (s.Persons != row.Persons)
                {
                    differences.Add(new RollupDifference(name, "persons", Text(s.Persons), Text(row.Persons)));
                }

                if (Math.Abs(s.SecondsToStepSum - row.SecondsToStepSum) > Tolerance * Math.Max(1, Math.Abs(row.SecondsToStepSum)))
                {
                    differences.Add(new RollupDifference(name, "seconds_to_step_sum", Text(s.SecondsToStepSum), Text(row.SecondsToStepSum)));
                }

                if (s.FunnelVersion != row.FunnelVersion)
                {
                    differences.Add(new RollupDifference(name, "funnel_version", Text(s.FunnelVersion), Text(row.FunnelVersion)));
                }
            }

            differences.AddRange(stored.Values.Select(r => new RollupDifference(Describe(r), "row", Format(r), "none")));
        }

        return differences;
    }

    /// <summary>
    /// Per funnel, the first entry day to recompute; and the keys of stored rows whose funnel no longer exists. A funnel
    /// without rows or with rows of another version starts at the earliest event day; otherwise at the first day whose
    /// entries' conversion windows were open at the window's start (entries of day D convert until D + 1 day + window).
    /// </summary>
    private async Task<(List<(FunnelDto Funnel, DateOnly From)> Plans, List<string> Orphans)> PlanAsync(RollupWindow window, CancellationToken ct)
    {
        var definitions = (await funnels.ListAsync(window.WorkspaceId, ct)).OrderBy(f => f.Key, StringComparer.Ordinal).ToList();
        var versions = await StoredVersionsAsync(window.WorkspaceId, ct);
        var orphans = versions.Keys.Where(k => definitions.All(f => f.Key != k)).Order(StringComparer.Ordinal).ToList();
        DateOnly? earliest = null;
        var plans = new List<(FunnelDto, DateOnly)>();
        foreach (var funnel in definitions)
        {
            DateOnly from;
            if (!versions.TryGetValue(funnel.Key, out var stored) || stored.Min != funnel.Version || stored.Max != funnel.Version)
            {
                earliest ??= await events.EarliestDayAsync(window.WorkspaceId, ct) ?? window.From;
                from = earliest.Value;
            }
            else
            {
                from = RollupWindow.DayOf(window.Start - TimeSpan.FromHours(funnel.ConversionWindowHours)).AddDays(-1);
            }

            plans.Add((funnel, from < window.From ? from : window.From));
        }

        return (plans, orphans);
    }

    /// <summary>The funnel's rows of the entry days <paramref name="from"/>…the window's end, from the steps' events until the last entry's window closes (or now).</summary>
    internal async Task<List<FunnelRollupRow>> ComputeAsync(FunnelDto funnel, RollupWindow window, DateOnly from, CancellationToken ct)
    {
        var names = funnel.Steps.Select(s => s.Event).Distinct(StringComparer.Ordinal).ToList();
        var end = window.End + TimeSpan.FromHours(funnel.ConversionWindowHours);
        end = end < window.Now ? end : window.Now;
        // Each environment bucket is its own population (ADR 9): a person's events of one bucket are matched together.
        var byPerson = new Dictionary<(Guid Environment, string Person), List<CalculatorEvent>>();
        await foreach (var e in events.ReadTrackAsync(window.WorkspaceId, names, RollupWindow.StartOf(from), end, ct))
        {
            if (!byPerson.TryGetValue((e.Environment, e.Person), out var list))
            {
                byPerson[(e.Environment, e.Person)] = list = [];
            }

            list.Add(new CalculatorEvent(e.Name, e.Timestamp, e.Properties));
        }

        return [.. byPerson.GroupBy(p => p.Key.Environment).OrderBy(g => g.Key)
            .SelectMany(g => FunnelMatcher.Rows(funnel, g.SelectMany(p => FunnelMatcher.Match(funnel, p.Value, from, window.To))).Select(r => r with { Environment = g.Key }))];
    }

    /// <summary>
    /// A funnel's rows of the days <paramref name="from"/>…<paramref name="to"/> in the view of <paramref name="environmentId"/>
    /// (null: every environment bucket), in key order (day, breakdown ordinal, step, environment).
    /// </summary>
    public async Task<IReadOnlyList<FunnelRollupRow>> ReadAsync(Guid workspaceId, string funnelKey, DateOnly from, DateOnly to, Guid? environmentId, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        var breakdown = Postgres ? "breakdown COLLATE \"C\"" : "breakdown";
        command.CommandText = "SELECT funnel_key, day, breakdown, step, persons, seconds_to_step_sum, funnel_version, environment_id FROM funnel_rollups "
            + "WHERE workspace_id = @workspace AND funnel_key = @key AND day >= @from AND day <= @to"
            + RollupEnvironment.Condition(command, dialect, "environment_id", environmentId) + $" ORDER BY day, {breakdown}, step, environment_id";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@key", funnelKey);
        command.AddParameter("@from", dialect.Value(from));
        command.AddParameter("@to", dialect.Value(to));
        var rows = new List<FunnelRollupRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new FunnelRollupRow(reader.GetString(0), dialect.ReadDay(reader, 1), reader.GetString(2), reader.GetInt32(3), reader.GetInt64(4), reader.GetDouble(5), reader.GetInt32(6), reader.GetGuid(7)));
        }

        return rows;
    }

    /// <summary>The lowest and highest funnel version of each funnel's stored rows.</summary>
    private async Task<Dictionary<string, (int Min, int Max)>> StoredVersionsAsync(Guid workspaceId, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT funnel_key, MIN(funnel_version), MAX(funnel_version) FROM funnel_rollups WHERE workspace_id = @workspace GROUP BY funnel_key";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        var versions = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            versions[reader.GetString(0)] = (reader.GetInt32(1), reader.GetInt32(2));
        }

        return versions;
    }

    private async Task DeleteAsync(Guid workspaceId, string funnelKey, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM funnel_rollups WHERE workspace_id = @workspace AND funnel_key = @key";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@key", funnelKey);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Replaces a funnel's rows of the days <paramref name="from"/>…<paramref name="to"/> with <paramref name="rows"/>, in one transaction.</summary>
    internal async Task ReplaceAsync(Guid workspaceId, string funnelKey, DateOnly from, DateOnly to, IReadOnlyList<FunnelRollupRow> rows, DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var delete = connection.CreateCommand())
        {
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM funnel_rollups WHERE workspace_id = @workspace AND funnel_key = @key AND day >= @from AND day <= @to";
            delete.AddParameter("@workspace", dialect.Value(workspaceId));
            delete.AddParameter("@key", funnelKey);
            delete.AddParameter("@from", dialect.Value(from));
            delete.AddParameter("@to", dialect.Value(to));
            await delete.ExecuteNonQueryAsync(ct);
        }

        // Row by row: a funnel day has at most 51 breakdown values × 10 steps. ON CONFLICT DO UPDATE: a concurrent run of
        // the same window may commit between the delete and the insert; the later writer's rows then win instead of failing.
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO funnel_rollups (workspace_id, funnel_key, day, environment_id, breakdown, step, persons, seconds_to_step_sum, funnel_version, computed_at) "
            + "VALUES (@workspace, @key, @day, @environment, @breakdown, @step, @persons, @seconds, @version, @now) "
            + "ON CONFLICT (workspace_id, funnel_key, day, environment_id, breakdown, step) DO UPDATE SET persons = excluded.persons, "
            + "seconds_to_step_sum = excluded.seconds_to_step_sum, funnel_version = excluded.funnel_version, computed_at = excluded.computed_at";
        insert.AddParameter("@workspace", dialect.Value(workspaceId));
        insert.AddParameter("@key", funnelKey);
        insert.AddParameter("@now", dialect.Value(now));
        var (day, environment, breakdown, step) = (insert.AddParameter("@day"), insert.AddParameter("@environment"), insert.AddParameter("@breakdown"), insert.AddParameter("@step"));
        var (persons, seconds, version) = (insert.AddParameter("@persons"), insert.AddParameter("@seconds"), insert.AddParameter("@version"));
        foreach (var row in rows)
        {
            (day.Value, environment.Value, breakdown.Value, step.Value) = (dialect.Value(row.Day), dialect.Value(row.Environment), row.Breakdown, row.Step);
            (persons.Value, seconds.Value, version.Value) = (row.Persons, row.SecondsToStepSum, row.FunnelVersion);
            await insert.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
    }

    private static (DateOnly, Guid, string, int) Key(FunnelRollupRow r) => (r.Day, r.Environment, r.Breakdown, r.Step);

    private static string Describe(FunnelRollupRow r) =>
        $"{r.FunnelKey} {r.Day:yyyy-MM-dd} '{r.Breakdown}' step {r.Step}" + (r.Environment == RollupEnvironment.None ? "" : $" (environment {r.Environment})");

    private static string Format(FunnelRollupRow r) => string.Create(CultureInfo.InvariantCulture, $"persons={r.Persons} seconds={r.SecondsToStepSum} version={r.FunnelVersion}");

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
