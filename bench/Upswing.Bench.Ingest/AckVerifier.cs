using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Upswing.Bench.Ingest;

/// <summary>
/// After a crash and restart: every message id the server acknowledged must be stored exactly once. Unacknowledged
/// batches may or may not be stored (the server may have committed one and died before answering), but never twice.
/// </summary>
internal static class AckVerifier
{
    public static async Task<int> RunAsync(Options options, CancellationToken ct)
    {
        var acked = new HashSet<string>(await File.ReadAllLinesAsync(options.Require("acks"), ct), StringComparer.Ordinal);
        acked.Remove("");
        var prefix = options.Require("prefix");
        await using DbConnection db = options.Get("sqlite") is { } file
            ? new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=false")
            : new NpgsqlConnection(options.Require("database"));
        await db.OpenAsync(ct);
        await using var command = db.CreateCommand();
        command.CommandText = "SELECT message_id, count(*) FROM events WHERE message_id LIKE @prefix GROUP BY message_id";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@prefix";
        parameter.Value = prefix + "-%";
        command.Parameters.Add(parameter);

        long stored = 0, rows = 0, duplicates = 0, found = 0;
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var copies = reader.GetInt64(1);
                stored++;
                rows += copies;
                duplicates += copies - 1;
                if (acked.Contains(reader.GetString(0)))
                {
                    found++;
                }
            }
        }

        var missing = acked.Count - found;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $$"""{"acknowledged":{{acked.Count}},"found":{{found}},"missing":{{missing}},"duplicates":{{duplicates}},"storedMessageIds":{{stored}},"storedRows":{{rows}},"storedButNotAcknowledged":{{stored - found}}}"""));
        return missing == 0 && duplicates == 0 ? 0 : 1;
    }
}
