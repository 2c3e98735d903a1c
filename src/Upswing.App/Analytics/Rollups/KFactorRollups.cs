using System.Globalization;
using Upswing.Data;
using Upswing.Events;

namespace Upswing.Analytics;

/// <summary>
/// The <c>kfactor</c> rollup: per workspace, loop and cohort day, the inviters, invites sent, opened, joined and reached
/// first value (<see cref="KFactor"/> has the semantics). A run replaces the cohort days from the window's start minus
/// <see cref="AttributionDays"/> (whose attribution windows were still open at the window's start) to its end. Computed
/// in memory from one scan of the invite events: the workspace's sends and joins since its first event decide which send
/// of an invite and which join of a person is the first, so every cohort day comes out the same whatever the window.
/// </summary>
public sealed class KFactorRollups(RawEventReader events, SqlDialect dialect) : IRollup
{
    public const string Name = "kfactor";

    /// <summary>Days after an invite's send in which its opens, joins and first values are attributed to it (the send + exactly 7 days still counts).</summary>
    public const int AttributionDays = 7;

    private bool Postgres => dialect.Provider == DatabaseProvider.Postgres;

    public Task<DateOnly?> EarliestDayAsync(Guid workspaceId, CancellationToken ct) => events.EarliestDayAsync(workspaceId, ct);

    public async Task<RollupWrite> WriteAsync(RollupWindow window, CancellationToken ct)
    {
        var (from, rows) = await ComputeAsync(window, ct);
        await ReplaceAsync(window.WorkspaceId, from, window.To, rows, window.Now, ct);
        return new RollupWrite(rows.Count, from, window.To);
    }

    public async Task<IReadOnlyList<RollupDifference>> VerifyAsync(RollupWindow window, CancellationToken ct)
    {
        var (from, computed) = await ComputeAsync(window, ct);
        var stored = (await ReadBucketsAsync(window.WorkspaceId, from, window.To, ct)).ToDictionary(r => (r.Environment, r.Loop, r.CohortDay));
        var differences = new List<RollupDifference>();
        foreach (var row in computed)
        {
            var name = Describe(row);
            if (!stored.Remove((row.Environment, row.Loop, row.CohortDay), out var s))
            {
                differences.Add(new RollupDifference(name, "row", "missing", Format(row)));
                continue;
            }

            Compare(differences, name, "inviters", s.Inviters, row.Inviters);
            Compare(differences, name, "invites_sent", s.InvitesSent, row.InvitesSent);
            Compare(differences, name, "opened", s.Opened, row.Opened);
            Compare(differences, name, "joined", s.Joined, row.Joined);
            Compare(differences, name, "reached_first_value", s.ReachedFirstValue, row.ReachedFirstValue);
        }

        differences.AddRange(stored.Values.Select(r => new RollupDifference(Describe(r), "row", Format(r), "none")));
        return differences;
    }

    /// <summary>The first cohort day a run of <paramref name="window"/> recomputes: the window's start minus the attribution window.</summary>
    public static DateOnly RecomputeFrom(RollupWindow window) => window.From.AddDays(-AttributionDays);

    /// <summary>The rows of the cohort days <see cref="RecomputeFrom"/>…the window's last day, from the raw invite events.</summary>
    internal async Task<(DateOnly From, List<KFactorRow> Rows)> ComputeAsync(RollupWindow window, CancellationToken ct)
    {
        var from = RecomputeFrom(window);
        if (await events.EarliestDayAsync(window.WorkspaceId, ct) is not { } earliest)
        {
            return (from, []);
        }

        // Every invite event from the first stored one to the last cohort's window end (the last send + 7 days is before it).
        var end = RollupWindow.StartOf(window.To.AddDays(1 + AttributionDays));
        // Each environment bucket is its own population (ADR 9): its invites, joins and first values are attributed among themselves.
        var invites = new Dictionary<Guid, List<InviteEvent>>();
        await foreach (var e in events.ReadTrackAsync(window.WorkspaceId, KFactor.EventNames, RollupWindow.StartOf(earliest), end, ct))
        {
            if (!invites.TryGetValue(e.Environment, out var list))
            {
                invites[e.Environment] = list = [];
            }

            list.Add(KFactor.Parse(e));
        }

        return (from, [.. invites.OrderBy(i => i.Key).SelectMany(i => KFactor.Compute(i.Value, from, window.To).Select(r => r with { Environment = i.Key }))]);
    }

    /// <summary>
    /// The workspace's rows of the cohort days <paramref name="from"/>…<paramref name="to"/>, optionally of one loop, summed
    /// over the environment buckets of the view of <paramref name="environmentId"/> (null: every one), in day and loop order.
    /// </summary>
    public async Task<IReadOnlyList<KFactorRow>> ReadAsync(Guid workspaceId, DateOnly from, DateOnly to, string? loop, Guid? environmentId, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        // The primary key (workspace_id, cohort_day, loop, environment_id) serves the range, the filter and the order.
        command.CommandText = "SELECT loop, cohort_day, SUM(inviters), SUM(invites_sent), SUM(opened), SUM(joined), SUM(reached_first_value) FROM k_factor_rollups "
            + "WHERE workspace_id = @workspace AND cohort_day >= @from AND cohort_day <= @to" + (loop is null ? "" : " AND loop = @loop")
            + RollupEnvironment.Condition(command, dialect, "environment_id", environmentId)
            + " GROUP BY cohort_day, loop ORDER BY cohort_day, " + (Postgres ? "loop COLLATE \"C\"" : "loop");
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@from", dialect.Value(from));
        command.AddParameter("@to", dialect.Value(to));
        if (loop is not null)
        {
            command.AddParameter("@loop", loop);
        }

        var rows = new List<KFactorRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new KFactorRow(reader.GetString(0), dialect.ReadDay(reader, 1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6)));
        }

        return rows;
    }

    /// <summary>The stored rows of the cohort days <paramref name="from"/>…<paramref name="to"/>, one per environment bucket.</summary>
    internal async Task<IReadOnlyList<KFactorRow>> ReadBucketsAsync(Guid workspaceId, DateOnly from, DateOnly to, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT loop, cohort_day, inviters, invites_sent, opened, joined, reached_first_value, environment_id FROM k_factor_rollups "
            + "WHERE workspace_id = @workspace AND cohort_day >= @from AND cohort_day <= @to";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@from", dialect.Value(from));
        command.AddParameter("@to", dialect.Value(to));
        var rows = new List<KFactorRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new KFactorRow(reader.GetString(0), dialect.ReadDay(reader, 1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetGuid(7)));
        }

        return rows;
    }

    /// <summary>Replaces the workspace's rows of the cohort days <paramref name="from"/>…<paramref name="to"/> with <paramref name="rows"/>, in one transaction.</summary>
    internal async Task ReplaceAsync(Guid workspaceId, DateOnly from, DateOnly to, IReadOnlyList<KFactorRow> rows, DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var delete = connection.CreateCommand())
        {
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM k_factor_rollups WHERE workspace_id = @workspace AND cohort_day >= @from AND cohort_day <= @to";
            delete.AddParameter("@workspace", dialect.Value(workspaceId));
            delete.AddParameter("@from", dialect.Value(from));
            delete.AddParameter("@to", dialect.Value(to));
            await delete.ExecuteNonQueryAsync(ct);
        }

        // Row by row on both providers: a cohort day has one row per loop. ON CONFLICT DO UPDATE: a concurrent run of the
        // same window (the CLI beside the server) may commit between the delete and the insert; its equal rows then win.
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO k_factor_rollups (workspace_id, loop, cohort_day, environment_id, inviters, invites_sent, opened, joined, reached_first_value, computed_at) "
            + "VALUES (@workspace, @loop, @day, @environment, @inviters, @sent, @opened, @joined, @fvm, @now) "
            + "ON CONFLICT (workspace_id, cohort_day, loop, environment_id) DO UPDATE SET inviters = excluded.inviters, invites_sent = excluded.invites_sent, opened = excluded.opened, "
            + "joined = excluded.joined, reached_first_value = excluded.reached_first_value, computed_at = excluded.computed_at";
        insert.AddParameter("@workspace", dialect.Value(workspaceId));
        insert.AddParameter("@now", dialect.Value(now));
        var (loop, day, environment, inviters) = (insert.AddParameter("@loop"), insert.AddParameter("@day"), insert.AddParameter("@environment"), insert.AddParameter("@inviters"));
        var (sent, opened, joined, fvm) = (insert.AddParameter("@sent"), insert.AddParameter("@opened"), insert.AddParameter("@joined"), insert.AddParameter("@fvm"));
        foreach (var row in rows)
        {
            (loop.Value, day.Value, environment.Value, inviters.Value) = (row.Loop, dialect.Value(row.CohortDay), dialect.Value(row.Environment), row.Inviters);
            (sent.Value, opened.Value, joined.Value, fvm.Value) = (row.InvitesSent, row.Opened, row.Joined, row.ReachedFirstValue);
            await insert.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
    }

    private static string Describe(KFactorRow r) =>
        $"{r.CohortDay:yyyy-MM-dd} {r.Loop}" + (r.Environment == RollupEnvironment.None ? "" : $" (environment {r.Environment})");

    private static string Format(KFactorRow r) =>
        string.Create(CultureInfo.InvariantCulture, $"inviters={r.Inviters} sent={r.InvitesSent} opened={r.Opened} joined={r.Joined} fvm={r.ReachedFirstValue}");

    private static void Compare(List<RollupDifference> differences, string row, string column, long stored, long computed)
    {
        if (stored != computed)
        {
            differences.Add(new RollupDifference(row, column, stored.ToString(CultureInfo.InvariantCulture), computed.ToString(CultureInfo.InvariantCulture)));
        }
    }
}
