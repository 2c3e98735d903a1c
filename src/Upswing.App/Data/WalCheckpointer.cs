using System.Data.Common;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Upswing.Data;

/// <summary>
/// Copies a busy SQLite writer's write-ahead log into the database file on a connection of its own, so that the
/// writer's commits do not pay for it.
/// </summary>
/// <remarks>
/// SQLite's own checkpoint runs inside the commit that pushes the log past 1,000 pages. For the event writer that is
/// nearly every commit: a group of random users dirties about one index page per event, so each commit re-reads and
/// re-writes a few megabytes, with two more fsyncs, before its requests are answered. Here the writer turns that off
/// (<see cref="WriterPragmas"/>) and calls <see cref="Committed"/>; a loop then checkpoints a moment later (pages that
/// several commits wrote are copied once) while the writer goes on with the next group.
/// A passive checkpoint never waits for the writer, so under sustained load it is always a commit behind and the log
/// would never start again from its beginning. When the log has grown past <c>longLogPages</c> the writer
/// therefore copies that last remainder itself before its next transaction (<see cref="BeforeWriteAsync"/>), and that
/// transaction starts the log again.
/// </remarks>
internal sealed partial class WalCheckpointer(SqlDialect dialect, TimeProvider time, ILogger logger, TimeSpan? delay = null, long longLogPages = 16_384) : IAsyncDisposable
{
    /// <summary>For the writer's connection: no checkpoints inside its commits.</summary>
    public const string WriterPragmas = "PRAGMA wal_autocheckpoint=0;";

    private readonly TimeSpan delay = delay ?? TimeSpan.FromMilliseconds(200);
    private readonly Channel<bool> commits = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource stop = new();
    private Task? loop;
    private volatile bool logIsLong;
    private long checkpoints;
    private int disposed;

    /// <summary>How many background checkpoints have run.</summary>
    public long Checkpoints => Interlocked.Read(ref checkpoints);

    /// <summary>Pages in the log when this loop last looked; -1 before the first checkpoint.</summary>
    public long LogPages { get; private set; } = -1;

    /// <summary>The pages of the log that its last checkpoint had copied into the database file.</summary>
    public long CheckpointedPages { get; private set; }

    /// <summary>Call after each commit of the writer.</summary>
    public void Committed()
    {
        if (Volatile.Read(ref disposed) == 1)
        {
            return;
        }

        loop ??= Task.Run(() => RunAsync(stop.Token), CancellationToken.None);
        commits.Writer.TryWrite(true);
    }

    /// <summary>Call on the writer's connection, outside a transaction, before it begins one.</summary>
    public async Task BeforeWriteAsync(DbConnection writer, CancellationToken ct)
    {
        if (!logIsLong)
        {
            return;
        }

        logIsLong = false;
        await CheckpointAsync(writer, ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }

        commits.Writer.TryComplete();
        await stop.CancelAsync();
        if (loop is not null)
        {
            try
            {
                await loop;
            }
            catch (OperationCanceledException)
            {
                // Stopping: the log stays valid and the next open reads it.
            }
        }

        stop.Dispose();
    }

    private async Task RunAsync(CancellationToken ct)
    {
        DbConnection? connection = null;
        try
        {
            while (await commits.Reader.WaitToReadAsync(ct))
            {
                commits.Reader.TryRead(out _);
                await Task.Delay(delay, time, ct);
                try
                {
                    connection ??= await dialect.OpenConnectionAsync(ct);
                    var (log, copied) = await CheckpointAsync(connection, ct);
                    (LogPages, CheckpointedPages) = (log, copied);
                    logIsLong = log >= longLogPages;
                    Interlocked.Increment(ref checkpoints);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Nothing is lost: the log keeps every commit, and the next commit tries again on a fresh connection.
                    LogCheckpointFailed(logger, ex);
                    if (connection is not null)
                    {
                        await connection.DisposeAsync();
                        connection = null;
                    }
                }
            }
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>A passive checkpoint: copies what it can without waiting for anyone; returns the log's pages and how many are copied.</summary>
    private static async Task<(long Log, long Copied)> CheckpointAsync(DbConnection connection, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetInt64(1), reader.GetInt64(2)) : (0, 0);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A background checkpoint of the SQLite log failed; the next commit tries again")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception error);
}
