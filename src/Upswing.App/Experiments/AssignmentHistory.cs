using System.Data.Common;
using System.Globalization;
using System.Text;
using Upswing.Data;

namespace Upswing.Experiments;

/// <summary>A unit's stored assignment in one experiment: the variation's index and the time of its first exposure.</summary>
public sealed record ExposedUnit(string UnitId, int VariationIndex, DateTimeOffset FirstExposedAt);

/// <summary>A unit's stored assignment, with the experiment's key, the unit's bucket and the time of the first exposure.</summary>
public sealed record UnitAssignment(string UnitId, string ExperimentKey, string VariationKey, int VariationIndex, DateTimeOffset FirstExposedAt, double Bucket);

/// <summary>
/// The stored assignments of given units, for other modules: ingestion enriches each event with the variations its
/// user had at the event's time, and a user's profile lists them. Runs on the caller's connection and transaction,
/// because ingestion asks in the middle of its own.
/// </summary>
public sealed class AssignmentHistory(SqlDialect dialect, ExperimentCatalogCache catalogs, AssignmentMemo memo)
{
    // Bounded IN lists: SQLite caps a statement's parameters, and one plan per size stays cached.
    private const int Chunk = 256;

    /// <summary>
    /// Like <see cref="ForUnitsAsync"/>, for the ingestion hot path: nothing is asked of the database when the workspace
    /// has never started an experiment, and a unit whose every assignment this node has seen already is answered from
    /// memory (a stored assignment never changes). The other units are looked up.
    /// </summary>
    public async Task<IReadOnlyList<UnitAssignment>> RecallAsync(DbConnection connection, DbTransaction? transaction, Guid workspaceId, IReadOnlyCollection<string> units, CancellationToken ct)
    {
        var catalog = await catalogs.GetAsync(workspaceId, ct);
        var started = catalog.Experiments.Values.Where(e => e.Status != ExperimentStatus.Draft).ToList();
        if (started.Count == 0 || units.Count == 0)
        {
            return [];
        }

        var found = new List<UnitAssignment>();
        List<string>? unknown = null;
        foreach (var unit in units)
        {
            var all = true;
            foreach (var entry in started)
            {
                if (memo.TryGet(entry.Id, unit, out var stored))
                {
                    found.Add(new UnitAssignment(unit, entry.Key, entry.VariationKeys[stored.VariationIndex], stored.VariationIndex, stored.FirstExposedAt, stored.Bucket));
                }
                else
                {
                    all = false;
                }
            }

            if (!all)
            {
                (unknown ??= []).Add(unit);
            }
        }

        if (unknown is null)
        {
            return found;
        }

        // The database answers for whole units; drop what memory already gave for them.
        var unknownSet = unknown.ToHashSet(StringComparer.Ordinal);
        found.RemoveAll(a => unknownSet.Contains(a.UnitId));
        foreach (var row in await ForUnitsAsync(connection, transaction, workspaceId, unknown, ct))
        {
            found.Add(row);
            if (started.Find(e => e.Key == row.ExperimentKey) is { } entry)
            {
                memo.Remember(entry.Id, row);
            }
        }

        return found;
    }

    public async Task<IReadOnlyList<UnitAssignment>> ForUnitsAsync(DbConnection connection, DbTransaction? transaction, Guid workspaceId, IReadOnlyCollection<string> units, CancellationToken ct)
    {
        var found = new List<UnitAssignment>();
        if (units.Count == 0)
        {
            return found;
        }

        foreach (var chunk in units.Chunk(Chunk))
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            var sql = new StringBuilder("""
                SELECT a.unit_id, e.key, a.variation_key, a.variation_index, a.first_exposed_at, a.bucket
                FROM experiment_assignments a JOIN experiments e ON e.id = a.experiment_id
                WHERE a.workspace_id = @workspace AND a.unit_id
                """);
            command.AddParameter("workspace", dialect.Value(workspaceId));
            if (dialect.Provider == DatabaseProvider.Postgres)
            {
                sql.Append(" = ANY(@units)");
                command.AddParameter("units", chunk);
            }
            else
            {
                sql.Append(" IN (");
                for (var i = 0; i < chunk.Length; i++)
                {
                    var name = "u" + i.ToString(CultureInfo.InvariantCulture);
                    sql.Append(i == 0 ? "@" : ", @").Append(name);
                    command.AddParameter(name, chunk[i]);
                }

                sql.Append(')');
            }

            // Served by the (workspace_id, unit_id) index of experiment_assignments.
            command.CommandText = sql.ToString();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                found.Add(new UnitAssignment(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), dialect.ReadTime(reader, 4), reader.GetDouble(5)));
            }
        }

        return found;
    }

    /// <summary>Every unit assigned to an experiment of the workspace, for the rollups of its metrics.</summary>
    public async Task<IReadOnlyList<ExposedUnit>> ForExperimentAsync(Guid workspaceId, Guid experimentId, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        // The primary key (experiment_id, unit_id) finds the experiment's rows; the workspace check keeps tenants apart.
        command.CommandText = "SELECT unit_id, variation_index, first_exposed_at FROM experiment_assignments WHERE experiment_id = @experiment AND workspace_id = @workspace";
        command.AddParameter("experiment", dialect.Value(experimentId));
        command.AddParameter("workspace", dialect.Value(workspaceId));
        var units = new List<ExposedUnit>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            units.Add(new ExposedUnit(reader.GetString(0), reader.GetInt32(1), dialect.ReadTime(reader, 2)));
        }

        return units;
    }
}
