using System.Data.Common;
using Upswing.Data;

namespace Upswing.Experiments;

/// <summary>
/// One prepared INSERT … ON CONFLICT DO NOTHING into experiment_assignments: the primary key (experiment, unit) keeps
/// the first row, so a stored assignment never moves and a lost race is an ordinary outcome, not an error.
/// </summary>
internal sealed class AssignmentInsert : IAsyncDisposable
{
    private static readonly string[] Columns = ["workspace_id", "experiment_id", "unit_id", "variation_index", "variation_key", "bucket", "phase", "source", "first_exposed_at"];

    private readonly DbCommand command;
    private readonly DbParameter[] p;
    private readonly SqlDialect dialect;

    public AssignmentInsert(DbConnection connection, DbTransaction transaction, SqlDialect dialect)
    {
        this.dialect = dialect;
        command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = dialect.InsertIgnoringConflicts("experiment_assignments", Columns, "experiment_id, unit_id");
        p = [.. Columns.Select(n => command.AddParameter(n))];
    }

    /// <summary>True when the row was stored; false when the unit already had one for this experiment.</summary>
    public async Task<bool> TryAddAsync(ExperimentAssignment row, CancellationToken ct)
    {
        (p[0].Value, p[1].Value, p[2].Value, p[3].Value, p[4].Value) = (dialect.Value(row.WorkspaceId), dialect.Value(row.ExperimentId), row.UnitId, row.VariationIndex, row.VariationKey);
        (p[5].Value, p[6].Value, p[7].Value, p[8].Value) = (row.Bucket, row.Phase, row.Source, dialect.Value(row.FirstExposedAt));
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    public ValueTask DisposeAsync() => command.DisposeAsync();
}
