using System.Globalization;
using Upswing.Data;
using Upswing.Events;

namespace Upswing.Analytics;

/// <summary>A row of <c>vitals_rollups</c>: one metric's samples on one page path (empty when the page was not known) and device class on one UTC day, and their percentiles.</summary>
public sealed record VitalsRow(DateOnly Day, string Metric, string Path, string DeviceClass, long Samples, double P50, double P75, double P90);

/// <summary>
/// The <c>vitals</c> rollup: per workspace, UTC day, metric, page path and device class, the samples and their p50, p75
/// and p90 (<see cref="Vitals.Percentile"/>). Computed in memory per window from <see cref="WebVitalReader"/>: vitals
/// volumes are modest, and exact percentiles need every value anyway. Verification recomputes the same way and compares.
/// </summary>
public sealed class VitalsRollups(WebVitalReader vitals, SqlDialect dialect) : IRollup
{
    public const string Name = "vitals";

    private bool Postgres => dialect.Provider == DatabaseProvider.Postgres;

    public Task<DateOnly?> EarliestDayAsync(Guid workspaceId, CancellationToken ct) => vitals.EarliestDayAsync(workspaceId, ct);

    public async Task<RollupWrite> WriteAsync(RollupWindow window, CancellationToken ct)
    {
        var rows = await ComputeAsync(window, ct);
        await ReplaceAsync(window.WorkspaceId, window.From, window.To, rows, window.Now, ct);
        return new RollupWrite(rows.Count, window.From, window.To);
    }

    public async Task<IReadOnlyList<RollupDifference>> VerifyAsync(RollupWindow window, CancellationToken ct)
    {
        var computed = await ComputeAsync(window, ct);
        var stored = (await ReadAsync(window.WorkspaceId, window.From, window.To, null, null, null, ct)).ToDictionary(Key);
        var differences = new List<RollupDifference>();
        foreach (var row in computed)
        {
            var name = Describe(row);
            if (!stored.Remove(Key(row), out var s))
            {
                differences.Add(new RollupDifference(name, "row", "missing", Format(row)));
                continue;
            }

            Compare(differences, name, "samples", s.Samples, row.Samples);
            Compare(differences, name, "p50", s.P50, row.P50);
            Compare(differences, name, "p75", s.P75, row.P75);
            Compare(differences, name, "p90", s.P90, row.P90);
        }

        differences.AddRange(stored.Values.Select(r => new RollupDifference(Describe(r), "row", Format(r), "none")));
        return differences;
    }

    /// <summary>The window's rows, recomputed from the stored measurements, in key order.</summary>
    internal async Task<List<VitalsRow>> ComputeAsync(RollupWindow window, CancellationToken ct)
    {
        var groups = new Dictionary<(DateOnly Day, string Metric, string Path, string Device), List<double>>();
        await foreach (var v in vitals.ReadAsync(window.WorkspaceId, window.Start, window.End, ct))
        {
            var key = (RollupWindow.DayOf(v.Timestamp), v.Name, v.Path ?? "", v.DeviceClass);
            if (!groups.TryGetValue(key, out var values))
            {
                groups[key] = values = [];
            }

            values.Add(v.Value);
        }

        return [.. groups.Select(g => Vitals.Summarize(g.Key.Day, g.Key.Metric, g.Key.Path, g.Key.Device, g.Value))
            .OrderBy(r => r.Day).ThenBy(r => r.Metric, StringComparer.Ordinal).ThenBy(r => r.Path, StringComparer.Ordinal).ThenBy(r => r.DeviceClass, StringComparer.Ordinal)];
    }

    /// <summary>The workspace's rows of the days <paramref name="from"/>…<paramref name="to"/>, optionally of one metric, path and device class, in key order.</summary>
    public async Task<IReadOnlyList<VitalsRow>> ReadAsync(Guid workspaceId, DateOnly from, DateOnly to, string? metric, string? path, string? device, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        string Ordinal(string column) => Postgres ? $"{column} COLLATE \"C\"" : column;
        // The primary key (workspace_id, day, metric, path, device_class) serves the range, the filters and the order.
        command.CommandText = "SELECT day, metric, path, device_class, samples, p50, p75, p90 FROM vitals_rollups WHERE workspace_id = @workspace AND day >= @from AND day <= @to"
            + (metric is null ? "" : " AND metric = @metric") + (path is null ? "" : " AND path = @path") + (device is null ? "" : " AND device_class = @device")
            + $" ORDER BY day, {Ordinal("metric")}, {Ordinal("path")}, {Ordinal("device_class")}";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@from", dialect.Value(from));
        command.AddParameter("@to", dialect.Value(to));
        if (metric is not null)
        {
            command.AddParameter("@metric", metric);
        }

        if (path is not null)
        {
            command.AddParameter("@path", path);
        }

        if (device is not null)
        {
            command.AddParameter("@device", device);
        }

        var rows = new List<VitalsRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new VitalsRow(dialect.ReadDay(reader, 0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4), reader.GetDouble(5), reader.GetDouble(6), reader.GetDouble(7)));
        }

        return rows;
    }

    /// <summary>Replaces the workspace's rows of the days <paramref name="from"/>…<paramref name="to"/> with <paramref name="rows"/>, in one transaction.</summary>
    internal async Task ReplaceAsync(Guid workspaceId, DateOnly from, DateOnly to, IReadOnlyList<VitalsRow> rows, DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var delete = connection.CreateCommand())
        {
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM vitals_rollups WHERE workspace_id = @workspace AND day >= @from AND day <= @to";
            delete.AddParameter("@workspace", dialect.Value(workspaceId));
            delete.AddParameter("@from", dialect.Value(from));
            delete.AddParameter("@to", dialect.Value(to));
            await delete.ExecuteNonQueryAsync(ct);
        }

        // Row by row on both providers: a day has a few hundred rows at most (metrics × pages × devices).
        // ON CONFLICT DO UPDATE: a concurrent run of the same window (the CLI beside the server) may commit between the
        // delete and the insert; the later writer's equal rows then win instead of failing.
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO vitals_rollups (workspace_id, day, metric, path, device_class, samples, p50, p75, p90, computed_at) "
            + "VALUES (@workspace, @day, @metric, @path, @device, @samples, @p50, @p75, @p90, @now) "
            + "ON CONFLICT (workspace_id, day, metric, path, device_class) DO UPDATE SET samples = excluded.samples, p50 = excluded.p50, p75 = excluded.p75, p90 = excluded.p90, computed_at = excluded.computed_at";
        insert.AddParameter("@workspace", dialect.Value(workspaceId));
        insert.AddParameter("@now", dialect.Value(now));
        var (day, metric, path, device) = (insert.AddParameter("@day"), insert.AddParameter("@metric"), insert.AddParameter("@path"), insert.AddParameter("@device"));
        var (samples, p50, p75, p90) = (insert.AddParameter("@samples"), insert.AddParameter("@p50"), insert.AddParameter("@p75"), insert.AddParameter("@p90"));
        foreach (var row in rows)
        {
            (day.Value, metric.Value, path.Value, device.Value) = (dialect.Value(row.Day), row.Metric, row.Path, row.DeviceClass);
            (samples.Value, p50.Value, p75.Value, p90.Value) = (row.Samples, row.P50, row.P75, row.P90);
            await insert.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
    }

    private static (DateOnly, string, string, string) Key(VitalsRow r) => (r.Day, r.Metric, r.Path, r.DeviceClass);

    private static string Describe(VitalsRow r) => $"{r.Day:yyyy-MM-dd} {r.Metric} {r.Path} {r.DeviceClass}";

    private static string Format(VitalsRow r) => string.Create(CultureInfo.InvariantCulture, $"samples={r.Samples} p75={r.P75}");

    private static void Compare(List<RollupDifference> differences, string row, string column, double stored, double computed)
    {
        // Stored doubles round-trip exactly on both providers (REAL / double precision); the tolerance only absorbs noise.
        if (Math.Abs(stored - computed) > 1e-9 * Math.Max(1, Math.Abs(computed)))
        {
            differences.Add(new RollupDifference(row, column, stored.ToString("R", CultureInfo.InvariantCulture), computed.ToString("R", CultureInfo.InvariantCulture)));
        }
    }
}
