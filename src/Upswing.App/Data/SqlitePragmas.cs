using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Upswing.Data;

/// <summary>
/// Sets Upswing's SQLite pragmas on every physical connection. Microsoft.Data.Sqlite pools connections and a
/// pooled "open" reuses the same sqlite3 handle, whose per-connection settings (busy_timeout, synchronous,
/// foreign_keys) are still in force, so each handle is configured once, not on every open: running the
/// pragmas per open cost more than the queries of a typical request.
/// </summary>
internal sealed class SqlitePragmas(int busyTimeoutMs) : DbConnectionInterceptor
{
    // WAL lets readers run beside the single writer; synchronous=NORMAL is durable across
    // application crashes in WAL mode and loses at most the last commits on power loss.
    private readonly string pragmas =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; " +
        $"PRAGMA busy_timeout={busyTimeoutMs}; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-20000;";

    private readonly ConditionalWeakTable<object, object> configured = [];

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        // Pragmas are local and fast; the synchronous call avoids an async state machine per open.
        Apply(connection);
        return Task.CompletedTask;
    }

    public void Apply(DbConnection connection)
    {
        object key = connection is SqliteConnection { Handle: { } handle } ? handle : connection;
        if (configured.TryGetValue(key, out _))
        {
            return;
        }

        using (var command = connection.CreateCommand())
        {
            command.CommandText = pragmas;
            command.ExecuteNonQuery();
        }

        configured.AddOrUpdate(key, key);
    }
}
