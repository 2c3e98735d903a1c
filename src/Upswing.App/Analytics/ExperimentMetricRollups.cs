using System.Data.Common;
using Npgsql;
using NpgsqlTypes;
using Upswing.Data;

namespace Upswing.Analytics;

/// <summary>
/// One day's increment of a metric's sufficient statistics in one variation of an experiment (a row of
/// <c>experiment_metric_rollups</c>). Each unit belongs to the day it was first counted (its first exposure, UTC), and
/// that day's row holds those units' per-unit values, so summing the rows of days ≤ D gives the statistics of every
/// unit counted by D; a day's row is recomputed (upserted again) while its units' values can still change.
/// </summary>
/// <param name="ExperimentKey">The experiment's key.</param>
/// <param name="MetricKey">The metric's key.</param>
/// <param name="Variation">The variation's index; 0 is control.</param>
/// <param name="Day">The UTC day the row's units were first counted.</param>
/// <param name="Units">How many units were first counted that day.</param>
/// <param name="Sum">Sum of the units' values (for a ratio metric: of the numerator).</param>
/// <param name="SumSquares">Sum of the squares of the units' values (ratio: of the numerator).</param>
/// <param name="DenominatorSum">Ratio metrics: sum of the units' denominator values; null otherwise.</param>
/// <param name="DenominatorSumSquares">Ratio metrics: sum of the squares of the denominator values.</param>
/// <param name="SumProducts">Ratio metrics: sum over units of numerator × denominator.</param>
/// <param name="PreSum">CUPED: sum of the units' values in the pre-exposure window; null without CUPED.</param>
/// <param name="PreSumSquares">CUPED: sum of the squares of the pre-exposure values.</param>
/// <param name="SumProductsPre">CUPED: sum over units of value × pre-exposure value.</param>
/// <param name="ComputedAt">When the row was computed; on upsert, null means now.</param>
public sealed record ExperimentMetricRollupRow(
    string ExperimentKey, string MetricKey, int Variation, DateOnly Day, long Units, double Sum, double SumSquares,
    double? DenominatorSum = null, double? DenominatorSumSquares = null, double? SumProducts = null,
    double? PreSum = null, double? PreSumSquares = null, double? SumProductsPre = null, DateTimeOffset? ComputedAt = null);

/// <summary>An experiment metric's rollup rows of one variation summed over a range of days (see <see cref="ExperimentMetricRollups.SumAsync"/>).</summary>
/// <param name="ExperimentKey">The experiment's key.</param>
/// <param name="MetricKey">The metric's key.</param>
/// <param name="Variation">The variation's index; 0 is control.</param>
/// <param name="Units">Units first counted on those days.</param>
/// <param name="Sum">Sum of their values (ratio metrics: of the numerator).</param>
/// <param name="DenominatorSum">Ratio metrics: the denominator's sum; null otherwise.</param>
public sealed record ExperimentMetricTotals(string ExperimentKey, string MetricKey, int Variation, long Units, double Sum, double? DenominatorSum);

/// <summary>
/// Reads and writes <c>experiment_metric_rollups</c>, the daily increments of experiment metrics that the results
/// endpoint sums into sufficient statistics. Hand-written SQL: an upsert is one <c>INSERT … ON CONFLICT DO UPDATE</c>
/// per row on SQLite (prepared, in one transaction) and per 5,000 rows on PostgreSQL (<c>unnest</c> of arrays).
/// </summary>
public sealed class ExperimentMetricRollups(SqlDialect dialect, TimeProvider time)
{
    /// <summary>The longest experiment or metric key (the key alphabet's limit, and the columns' length).</summary>
    public const int MaxKeyLength = 100;

    private const int PostgresBatch = 5000;

    private const string Columns =
        "workspace_id, experiment_key, metric_key, variation, day, units, sum, sum_squares, denominator_sum, denominator_sum_squares, " +
        "sum_products, pre_sum, pre_sum_squares, sum_products_pre, computed_at";

    // A re-run recomputes a day's increment from scratch, so the new row replaces the old one (it is not added to it).
    private const string OnConflictReplace =
        "ON CONFLICT (workspace_id, experiment_key, metric_key, variation, day) DO UPDATE SET " +
        "units = excluded.units, sum = excluded.sum, sum_squares = excluded.sum_squares, denominator_sum = excluded.denominator_sum, " +
        "denominator_sum_squares = excluded.denominator_sum_squares, sum_products = excluded.sum_products, pre_sum = excluded.pre_sum, " +
        "pre_sum_squares = excluded.pre_sum_squares, sum_products_pre = excluded.sum_products_pre, computed_at = excluded.computed_at";

    private bool Postgres => dialect.Provider == DatabaseProvider.Postgres;

    /// <summary>
    /// Inserts the rows of a workspace, replacing rows with the same (experiment, metric, variation, day): writing the
    /// same rows twice leaves the table as writing them once. All rows commit together.
    /// </summary>
    /// <exception cref="ArgumentException">A row repeats another's key, has a key longer than <see cref="MaxKeyLength"/>, a negative
    /// variation or unit count, a non-finite number, or only some of its ratio or CUPED columns.</exception>
    public async Task UpsertAsync(Guid workspaceId, IReadOnlyList<ExperimentMetricRollupRow> rows, CancellationToken ct)
    {
        Check(rows);
        if (rows.Count == 0)
        {
            return;
        }

        var now = time.GetUtcNow();
        // In key order: two writers upserting overlapping rows lock them in the same order and cannot deadlock.
        var ordered = rows.OrderBy(r => r.ExperimentKey, StringComparer.Ordinal).ThenBy(r => r.MetricKey, StringComparer.Ordinal)
            .ThenBy(r => r.Variation).ThenBy(r => r.Day).ToList();
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (Postgres)
        {
            await UpsertPostgresAsync((NpgsqlConnection)connection, (NpgsqlTransaction)transaction, workspaceId, ordered, now, ct);
        }
        else
        {
            await UpsertSqliteAsync(connection, transaction, workspaceId, ordered, now, ct);
        }

        await transaction.CommitAsync(ct);
    }

    /// <summary>
    /// Replaces an experiment's rows of the days <paramref name="from"/>…<paramref name="to"/> (both included, every metric)
    /// with <paramref name="rows"/>, in one transaction: what a rollup run does, so re-running a window leaves the same rows.
    /// </summary>
    /// <exception cref="ArgumentException">A row is invalid (see <see cref="UpsertAsync"/>), of another experiment, or outside the days.</exception>
    public async Task ReplaceAsync(Guid workspaceId, string experimentKey, DateOnly from, DateOnly to, IReadOnlyList<ExperimentMetricRollupRow> rows, CancellationToken ct)
    {
        Check(rows);
        if (from > to)
        {
            throw new ArgumentException($"The window starts ({from:yyyy-MM-dd}) after it ends ({to:yyyy-MM-dd}).", nameof(from));
        }

        if (rows.FirstOrDefault(r => r.ExperimentKey != experimentKey || r.Day < from || r.Day > to) is { } stray)
        {
            throw new ArgumentException($"Row {stray.ExperimentKey}/{stray.MetricKey}/{stray.Variation}/{stray.Day:yyyy-MM-dd} is not of experiment '{experimentKey}' between {from:yyyy-MM-dd} and {to:yyyy-MM-dd}.", nameof(rows));
        }

        var now = time.GetUtcNow();
        var ordered = rows.OrderBy(r => r.MetricKey, StringComparer.Ordinal).ThenBy(r => r.Variation).ThenBy(r => r.Day).ToList();
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var command = DeleteCommand(connection, workspaceId, experimentKey, from, to))
        {
            command.Transaction = transaction;
            await command.ExecuteNonQueryAsync(ct);
        }

        // Upserts rather than inserts: a concurrent run of the same window may commit equal rows between the delete and here.
        if (Postgres)
        {
            await UpsertPostgresAsync((NpgsqlConnection)connection, (NpgsqlTransaction)transaction, workspaceId, ordered, now, ct);
        }
        else
        {
            await UpsertSqliteAsync(connection, transaction, workspaceId, ordered, now, ct);
        }

        await transaction.CommitAsync(ct);
    }

    /// <summary>An experiment's rows in a workspace, ordered by metric key (ordinal), variation and day.</summary>
    public async Task<IReadOnlyList<ExperimentMetricRollupRow>> ReadAsync(Guid workspaceId, string experimentKey, CancellationToken ct)
    {
        // COLLATE "C": metric keys sort by code point on PostgreSQL as they do on SQLite, whatever the database's collation.
        var orderByMetric = Postgres ? "metric_key COLLATE \"C\"" : "metric_key";
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM experiment_metric_rollups WHERE workspace_id = @workspace AND experiment_key = @experiment " +
            $"ORDER BY {orderByMetric}, variation, day";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@experiment", experimentKey);
        var rows = new List<ExperimentMetricRollupRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new ExperimentMetricRollupRow(
                reader.GetString(1), reader.GetString(2), reader.GetInt32(3), dialect.ReadDay(reader, 4), reader.GetInt64(5), reader.GetDouble(6), reader.GetDouble(7),
                Nullable(reader, 8), Nullable(reader, 9), Nullable(reader, 10), Nullable(reader, 11), Nullable(reader, 12), Nullable(reader, 13),
                dialect.ReadTime(reader, 14)));
        }

        return rows;
    }

    /// <summary>
    /// Per experiment, metric and variation: the rows of the days <paramref name="from"/>…<paramref name="to"/> summed (units,
    /// sum, denominator sum), of one experiment or all; ordered by experiment key, metric key (ordinal) and variation.
    /// </summary>
    public async Task<IReadOnlyList<ExperimentMetricTotals>> SumAsync(Guid workspaceId, string? experimentKey, DateOnly from, DateOnly to, CancellationToken ct)
    {
        var (orderByExperiment, orderByMetric) = Postgres ? ("experiment_key COLLATE \"C\"", "metric_key COLLATE \"C\"") : ("experiment_key", "metric_key");
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT experiment_key, metric_key, variation, CAST(SUM(units) AS BIGINT), SUM(sum), SUM(denominator_sum) " +
            "FROM experiment_metric_rollups WHERE workspace_id = @workspace AND day >= @from AND day <= @to" +
            (experimentKey is null ? "" : " AND experiment_key = @experiment") +
            $" GROUP BY experiment_key, metric_key, variation ORDER BY {orderByExperiment}, {orderByMetric}, variation";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@from", dialect.Value(from));
        command.AddParameter("@to", dialect.Value(to));
        if (experimentKey is not null)
        {
            command.AddParameter("@experiment", experimentKey);
        }

        var rows = new List<ExperimentMetricTotals>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new ExperimentMetricTotals(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt64(3), reader.GetDouble(4), Nullable(reader, 5)));
        }

        return rows;
    }

    /// <summary>The keys of the workspace's experiments that have rollup rows (results to show).</summary>
    public async Task<IReadOnlyList<string>> ExperimentKeysAsync(Guid workspaceId, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT experiment_key FROM experiment_metric_rollups WHERE workspace_id = @workspace";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        var keys = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }

    /// <summary>Deletes an experiment's rows of the days from <paramref name="from"/> to <paramref name="to"/> (both included), before a re-run of that window; returns how many.</summary>
    public async Task<int> DeleteAsync(Guid workspaceId, string experimentKey, DateOnly from, DateOnly to, CancellationToken ct)
    {
        if (from > to)
        {
            throw new ArgumentException($"The window starts ({from:yyyy-MM-dd}) after it ends ({to:yyyy-MM-dd}).", nameof(from));
        }

        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = DeleteCommand(connection, workspaceId, experimentKey, from, to);
        return await command.ExecuteNonQueryAsync(ct);
    }

    private DbCommand DeleteCommand(DbConnection connection, Guid workspaceId, string experimentKey, DateOnly from, DateOnly to)
    {
        var command = connection.CreateCommand();
        // The primary key's prefix (workspace_id, experiment_key) finds the experiment's rows; the day filter runs over those.
        command.CommandText = "DELETE FROM experiment_metric_rollups WHERE workspace_id = @workspace AND experiment_key = @experiment AND day >= @from AND day <= @to";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@experiment", experimentKey);
        command.AddParameter("@from", dialect.Value(from));
        command.AddParameter("@to", dialect.Value(to));
        return command;
    }

    /// <summary>Rejects rows that are a caller's bug, the same way on both providers (PostgreSQL alone would refuse some, SQLite none).</summary>
    internal static void Check(IReadOnlyList<ExperimentMetricRollupRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var keys = new HashSet<(string, string, int, DateOnly)>();
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i] ?? throw new ArgumentException($"Row {i} is null.", nameof(rows));
            string? problem = null;
            if (string.IsNullOrEmpty(row.ExperimentKey) || row.ExperimentKey.Length > MaxKeyLength || string.IsNullOrEmpty(row.MetricKey) || row.MetricKey.Length > MaxKeyLength)
            {
                problem = $"experiment and metric keys are 1–{MaxKeyLength} characters";
            }
            else if (row.Variation < 0 || row.Units < 0)
            {
                problem = "the variation index and the unit count are not negative";
            }
            else if (!AllFinite(row.Sum, row.SumSquares, row.DenominatorSum, row.DenominatorSumSquares, row.SumProducts, row.PreSum, row.PreSumSquares, row.SumProductsPre))
            {
                // SQLite would store NaN as NULL; refuse it on both providers instead.
                problem = "sums are finite numbers";
            }
            else if (!AllOrNone(row.DenominatorSum, row.DenominatorSumSquares, row.SumProducts))
            {
                problem = "a ratio row sets denominatorSum, denominatorSumSquares and sumProducts together";
            }
            else if (!AllOrNone(row.PreSum, row.PreSumSquares, row.SumProductsPre))
            {
                problem = "a CUPED row sets preSum, preSumSquares and sumProductsPre together";
            }
            else if (!keys.Add((row.ExperimentKey, row.MetricKey, row.Variation, row.Day)))
            {
                // PostgreSQL refuses to update one row twice in a statement; SQLite would keep the last. Neither is what the caller meant.
                problem = "a batch holds each (experiment, metric, variation, day) once";
            }

            if (problem is not null)
            {
                throw new ArgumentException($"Row {i} ({row.ExperimentKey}/{row.MetricKey}/{row.Variation}/{row.Day:yyyy-MM-dd}) is invalid: {problem}.", nameof(rows));
            }
        }
    }

    private static bool AllFinite(double sum, double sumSquares, params ReadOnlySpan<double?> others)
    {
        if (!double.IsFinite(sum) || !double.IsFinite(sumSquares))
        {
            return false;
        }

        foreach (var value in others)
        {
            if (value is { } v && !double.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }

    private static bool AllOrNone(double? a, double? b, double? c) => (a is null) == (b is null) && (b is null) == (c is null);

    private static double? Nullable(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetDouble(ordinal);

    private async Task UpsertSqliteAsync(DbConnection connection, DbTransaction transaction, Guid workspaceId, List<ExperimentMetricRollupRow> rows, DateTimeOffset now, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        var names = Columns.Split(", ");
        command.CommandText = $"INSERT INTO experiment_metric_rollups ({Columns}) VALUES ({string.Join(", ", names.Select(n => "@" + n))}) {OnConflictReplace}";
        var p = names.Select(n => command.AddParameter("@" + n)).ToArray();
        p[0].Value = dialect.Value(workspaceId);
        foreach (var row in rows)
        {
            p[1].Value = row.ExperimentKey;
            p[2].Value = row.MetricKey;
            p[3].Value = row.Variation;
            p[4].Value = dialect.Value(row.Day);
            p[5].Value = row.Units;
            p[6].Value = row.Sum;
            p[7].Value = row.SumSquares;
            p[8].Value = (object?)row.DenominatorSum ?? DBNull.Value;
            p[9].Value = (object?)row.DenominatorSumSquares ?? DBNull.Value;
            p[10].Value = (object?)row.SumProducts ?? DBNull.Value;
            p[11].Value = (object?)row.PreSum ?? DBNull.Value;
            p[12].Value = (object?)row.PreSumSquares ?? DBNull.Value;
            p[13].Value = (object?)row.SumProductsPre ?? DBNull.Value;
            p[14].Value = dialect.Value(row.ComputedAt ?? now);
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    private static async Task UpsertPostgresAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid workspaceId, List<ExperimentMetricRollupRow> rows, DateTimeOffset now, CancellationToken ct)
    {
        foreach (var chunk in rows.Chunk(PostgresBatch))
        {
            await using var command = new NpgsqlCommand(
                $"INSERT INTO experiment_metric_rollups ({Columns}) SELECT @workspace, t.* FROM unnest(@experiment, @metric, @variation, @day, @units, @sum, " +
                "@sum_squares, @denominator_sum, @denominator_sum_squares, @sum_products, @pre_sum, @pre_sum_squares, @sum_products_pre, @computed_at) AS t " +
                OnConflictReplace,
                connection, transaction);
            command.Parameters.Add(new NpgsqlParameter<Guid>("workspace", NpgsqlDbType.Uuid) { TypedValue = workspaceId });
            Add(command, "experiment", NpgsqlDbType.Text, chunk.Select(r => r.ExperimentKey));
            Add(command, "metric", NpgsqlDbType.Text, chunk.Select(r => r.MetricKey));
            Add(command, "variation", NpgsqlDbType.Integer, chunk.Select(r => r.Variation));
            Add(command, "day", NpgsqlDbType.Date, chunk.Select(r => r.Day));
            Add(command, "units", NpgsqlDbType.Bigint, chunk.Select(r => r.Units));
            Add(command, "sum", NpgsqlDbType.Double, chunk.Select(r => r.Sum));
            Add(command, "sum_squares", NpgsqlDbType.Double, chunk.Select(r => r.SumSquares));
            Add(command, "denominator_sum", NpgsqlDbType.Double, chunk.Select(r => r.DenominatorSum));
            Add(command, "denominator_sum_squares", NpgsqlDbType.Double, chunk.Select(r => r.DenominatorSumSquares));
            Add(command, "sum_products", NpgsqlDbType.Double, chunk.Select(r => r.SumProducts));
            Add(command, "pre_sum", NpgsqlDbType.Double, chunk.Select(r => r.PreSum));
            Add(command, "pre_sum_squares", NpgsqlDbType.Double, chunk.Select(r => r.PreSumSquares));
            Add(command, "sum_products_pre", NpgsqlDbType.Double, chunk.Select(r => r.SumProductsPre));
            Add(command, "computed_at", NpgsqlDbType.TimestampTz, chunk.Select(r => (r.ComputedAt ?? now).ToUniversalTime()));
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    private static void Add<T>(NpgsqlCommand command, string name, NpgsqlDbType type, IEnumerable<T> values) =>
        command.Parameters.Add(new NpgsqlParameter<T[]>(name, NpgsqlDbType.Array | type) { TypedValue = [.. values] });
}
