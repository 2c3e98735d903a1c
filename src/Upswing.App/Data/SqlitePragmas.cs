using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Upswing.Data;

/// <summary>
/// Sets Upswing's SQLite pragmas on every opened connection. Pooled connections are reopened
/// often, and per-connection pragmas (busy_timeout, synchronous, foreign_keys) do not persist in the file.
/// </summary>
internal sealed class SqlitePragmas(int busyTimeoutMs) : DbConnectionInterceptor
{
    // WAL lets readers run beside the single writer; synchronous=NORMAL is durable across
    // application crashes in WAL mode and loses at most the last commits on power loss.
    private readonly string pragmas =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; " +
        $"PRAGMA busy_timeout={busyTimeoutMs}; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-20000;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public void Apply(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = pragmas;
        command.ExecuteNonQuery();
    }
}
