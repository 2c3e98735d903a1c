using System.Globalization;
using Upswing.Data;
using Upswing.Events;

namespace Upswing.Analytics;

/// <summary>A row of <c>vitals_rollups</c>: one metric's samples on one page path (empty when the page was not known) and device class on one UTC day, and their percentiles.</summary>
public sealed record VitalsRow(DateOnly Day, string Metric, string Path, string DeviceClass, long Samples, double P50, double P75, double P90);

/// <summary>A stored row of <c>vitals_rollups</c>: a <see cref="VitalsRow"/> of one environment bucket (<see cref="RollupEnvironment"/>).</summary>
internal sealed record VitalsBucket(Guid Environment, VitalsRow Row);

/// <summary>
/// The <c>vitals</c> rollup: per workspace, UTC day, environment bucket, metric, page path and device class, the samples and their p50, p75
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
        var stored = (await ReadBucketsAsync(window.WorkspaceId, window.From, window.To, null, null, null, null, ct)).ToDictionary(Key);
        var differences = new List<RollupDifference>();
        foreach (var row in computed)
        {
            var name = Describe(row);
            if (!stored.Remove(Key(row), out var s))
            {
                differences.Add(new RollupDifference(name, "row", "missing", Format(row)));
                continue;
            }

            Compare(differences, name, "samples", s.Row.Samples, row.Row.Samples);
            Compare(differences, name, "p50", s.Row.P50, row.Row.P50);
            Compare(differences, name, "p75", s.Row.P75, row.Row.P75);
            Compare(differences, name, "p90", s.Row.P90, row.Row.P90);
        }

        differences.AddRange(stored.Values.Select(r => new RollupDifference(Describe(r), "row", Format(r), "none")));
        return differences;
    }

    /// <summary>The window's rows, recomputed from the stored measurements, in key order.</summary>
    internal async Task<List<VitalsBucket>> ComputeAsync(RollupWindow window, CancellationToken ct)
    {
        var groups = new Dictionary<(DateOnly Day, Guid Environment, string Metric, string Path, string Device), List<double>>();
        await foreach (var v in vitals.ReadAsync(window.WorkspaceId, window.Start, window.End, ct))
        {
            var key = (RollupWindow.DayOf(v.Timestamp), v.Environment, v.Name, v.Path ?? "", v.DeviceClass);
            if (!groups.TryGetValue(key, out var values))
            {
                groups[key] = values = [];
            }

            values.Add(v.Value);
        }

        return [.. groups.Select(g => new VitalsBucket(g.Key.Environment, Vitals.Summarize(g.Key.Day, g.Key.Metric, g.Key.Path, g.Key.Device, g.Value)))
            .OrderBy(b => b.Row.Day).ThenBy(b => b.Environment).ThenBy(b => b.Row.Metric, StringComparer.Ordinal)
            .ThenBy(b => b.Row.Path, StringComparer.Ordinal).ThenBy(b => b.Row.DeviceClass, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The workspace's rows of the days <paramref name="from"/>…<paramref name="to"/>, optionally of one metric, path and
    /// device class, in the view of <paramref name="environmentId"/> (null: every environment), in key order. Where the
    /// view holds a row of several environment buckets, they are merged (<see cref="Vitals.Merge"/>).
    /// </summary>
    public async Task<IReadOnlyList<VitalsRow>> ReadAsync(
        Guid workspaceId, DateOnly from, DateOnly to, string? metric, string? path, string? device, Guid? environmentId, CancellationToken ct)
    {
        var buckets = await ReadBucketsAsync(workspaceId, from, to, metric, path, device, environmentId, ct);
        var rows = new List<VitalsRow>(buckets.Count);
        // Buckets come in key order with the environment last, so one key's buckets are adjacent.
        for (var i = 0; i < buckets.Count;)
        {
            var j = i + 1;
            while (j < buckets.Count && Same(buckets[i].Row, buckets[j].Row))
            {
                j++;
            }

            rows.Add(j == i + 1 ? buckets[i].Row : Vitals.Merge([.. buckets.Skip(i).Take(j - i).Select(b => b.Row)]));
            i = j;
        }

        return rows;
    }

    /// <summary>The stored rows of the view, one per environment bucket, in key order with the environment last.</summary>
    internal async Task<IReadOnlyList<VitalsBucket>> ReadBucketsAsync(
        Guid workspaceId, DateOnly from, DateOnly to, string? metric, string? path, string? device, Guid? environmentId, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        string Ordinal(string column) => Postgres ? $"{column} COLLATE \"C\"" : column;
        // The primary key (workspace_id, day, environment_id, metric, path, device_class) serves the range.
        command.CommandText = "SELECT day, metric, path, device_class, samples, p50, p75, p90, environment_id FROM vitals_rollups WHERE workspace_id = @workspace AND day >= @from AND day <= @to"
            + (metric is null ? "" : " AND metric = @metric") + (path is null ? "" : " AND path = @path") + (device is null ? "" : " AND device_class = @device")
            + RollupEnvironment.Condition(command, dialect, "environment_id", environmentId)
            + $" ORDER BY day, {Ordinal("metric")}, {Ordinal("path")}, {Ordinal("device_class")}, environment_id";
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

        var rows = new List<VitalsBucket>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new VitalsBucket(reader.GetGuid(8),
                new VitalsRow(dialect.ReadDay(reader, 0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4), reader.GetDouble(5), reader.GetDouble(6), reader.GetDouble(7))));
        }

        return rows;
    }

    /// <summary>Replaces the workspace's rows of the days <paramref name="from"/>…<paramref name="to"/> with <paramref name="rows"/>, in one transaction.</summary>
    internal async Task ReplaceAsync(Guid workspaceId, DateOnly from, DateOnly to, IReadOnlyList<VitalsBucket> rows, DateTimeOffset now, CancellationToken ct)
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
        insert.CommandText = "INSERT INTO vitals_rollups (workspace_id, day, environment_id, metric, path, device_class, samples, p50, p75, p90, computed_at) "
            + "VALUES (@workspace, @day, @environment, @metric, @path, @device, @samples, @p50, @p75, @p90, @now) "
            + "ON CONFLICT (workspace_id, day, environment_id, metric, path, device_class) DO UPDATE SET samples = excluded.samples, p50 = excluded.p50, p75 = excluded.p75, p90 = excluded.p90, computed_at = excluded.computed_at";
        insert.AddParameter("@workspace", dialect.Value(workspaceId));
        insert.AddParameter("@now", dialect.Value(now));
        var (day, environment, metric) = (insert.AddParameter("@day"), insert.AddParameter("@environment"), insert.AddParameter("@metric"));
        var (path, device) = (insert.AddParameter("@path"), insert.AddParameter("@device"));
        var (samples, p50, p75, p90) = (insert.AddParameter("@samples"), insert.AddParameter("@p50"), insert.AddParameter("@p75"), insert.AddParameter("@p90"));
        foreach (var (bucket, row) in rows)
        {
            (day.Value, environment.Value, metric.Value, path.Value, device.Value) = (dialect.Value(row.Day), dialect.Value(bucket), row.Metric, row.Path, row.DeviceClass);
            (samples.Value, p50.Value, p75.Value, p90.Value) = (row.Samples, row.P50, row.P75, row.P90);
            await insert.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
    }

    private static (DateOnly, Guid, string, string, string) Key(VitalsBucket b) => (b.Row.Day, b.Environment, b.Row.Metric, b.Row.Path, b.Row.DeviceClass);

    private static bool Same(VitalsRow a, VitalsRow b) => a.Day == b.Day && a.Metric == b.Metric && a.Path == b.Path && a.DeviceClass == b.DeviceClass;

    private static string Describe(VitalsBucket b) =>
        $"{b.Row.Day:yyyy-MM-dd} {b.Row.Metric} {b.Row.Path} {b.Row.DeviceClass}" + (b.Environment == RollupEnvironment.None ? "" : $" (environment {b.Environment})");

    private static string Format(VitalsBucket b) => string.Create(CultureInfo.InvariantCulture, $"samples={b.Row.Samples} p75={b.Row.P75}");

    private static void Compare(List<RollupDifference> differences, string row, string column, double stored, double computed)
    {
        // Stored doubles round-trip exactly on both providers (REAL / double precision); the tolerance only absorbs noise.
        if (Math.Abs(stored - computed) > 1e-9 * Math.Max(1, Math.Abs(computed)))
        {
            differences.Add(new RollupDifference(row, column, stored.ToString("R", CultureInfo.InvariantCulture), computed.ToString("R", CultureInfo.InvariantCulture)));
        }
    }
}
