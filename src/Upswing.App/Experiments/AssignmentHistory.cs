using System.Data.Common;
using System.Globalization;
using System.Text;
using Upswing.Data;

namespace Upswing.Experiments;

/// <summary>A unit's stored assignment, with the experiment's key and the time of the first exposure.</summary>
public sealed record UnitAssignment(string UnitId, string ExperimentKey, string VariationKey, int VariationIndex, DateTimeOffset FirstExposedAt);

/// <summary>
/// The stored assignments of given units, for other modules: ingestion enriches each event with the variations its
/// user had at the event's time, and a user's profile lists them. Runs on the caller's connection and transaction,
/// because ingestion asks in the middle of its own.
/// </summary>
public sealed class AssignmentHistory(SqlDialect dialect)
{
    // Bounded IN lists: SQLite caps a statement's parameters, and one plan per size stays cached.
    private const int Chunk = 256;

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
                SELECT a.unit_id, e.key, a.variation_key, a.variation_index, a.first_exposed_at
                FROM experiment_assignments a JOIN experiments e ON e.id = a.experiment_id
                WHERE a.workspace_id = @workspace AND a.unit_id
                """);
            Add(command, "workspace", dialect.Value(workspaceId));
            if (dialect.Provider == DatabaseProvider.Postgres)
            {
                sql.Append(" = ANY(@units)");
                Add(command, "units", chunk);
            }
            else
            {
                sql.Append(" IN (");
                for (var i = 0; i < chunk.Length; i++)
                {
                    var name = "u" + i.ToString(CultureInfo.InvariantCulture);
                    sql.Append(i == 0 ? "@" : ", @").Append(name);
                    Add(command, name, chunk[i]);
                }

                sql.Append(')');
            }

            // Served by the (workspace_id, unit_id) index of experiment_assignments.
            command.CommandText = sql.ToString();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                found.Add(new UnitAssignment(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), dialect.ReadTime(reader, 4)));
            }
        }

        return found;
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
