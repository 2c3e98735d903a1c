using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Upswing.Data;

namespace Upswing.App.Tests.Data;

public sealed class WalCheckpointerTests : IDisposable
{
    private const int RowsPerCommit = 8;
    private readonly string dir = Directory.CreateTempSubdirectory("upswing-wal-").FullName;
    private readonly SqliteDialect dialect;

    public WalCheckpointerTests() => dialect = new SqliteDialect(new DatabaseOptions { DataDir = dir }, new SqlitePragmas(5_000));

    [Fact]
    public async Task WithoutIt_TheWritersLogIsNeverCopied()
    {
        await using var writer = await OpenWriterAsync();
        for (var i = 0; i < 160; i++)
        {
            await CommitAsync(writer, i);
        }

        // 1,280 pages and more: with SQLite's own checkpoints the log would have started again at 1,000.
        var pages = new FileInfo(Path.Combine(dir, "upswing.db-wal")).Length / (4096 + 24);
        Assert.True(pages > 1_200, $"log pages {pages}");
    }

    [Fact]
    public async Task CopiesEachCommitBesideTheWriter()
    {
        await using var checkpointer = new WalCheckpointer(dialect, TimeProvider.System, NullLogger.Instance, TimeSpan.Zero);
        await using var writer = await OpenWriterAsync();
        var longest = 0L;
        for (var i = 0; i < 60; i++)
        {
            await checkpointer.BeforeWriteAsync(writer, CancellationToken.None);
            await CommitAsync(writer, i);
            await CheckpointAsync(checkpointer);
            Assert.Equal(checkpointer.LogPages, checkpointer.CheckpointedPages);
            longest = Math.Max(longest, checkpointer.LogPages);
        }

        // 480 pages and more were written; each commit found the log copied and started it again.
        Assert.InRange(longest, RowsPerCommit, (3 * RowsPerCommit) + 16);
        await using var reader = await dialect.OpenConnectionAsync(CancellationToken.None);
        await using var count = reader.CreateCommand();
        count.CommandText = "SELECT count(*) FROM t";
        Assert.Equal(60L * RowsPerCommit, (long)(await count.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task ALongLogIsStartedAgainByTheWriter_ThoughTheLoopIsACommitBehind()
    {
        await using var checkpointer = new WalCheckpointer(dialect, TimeProvider.System, NullLogger.Instance, TimeSpan.Zero, longLogPages: 64);
        await using var writer = await OpenWriterAsync();
        for (var i = 0; i < 20; i++)
        {
            await CommitAsync(writer, i);
        }

        // Under load a commit always lands before the loop's checkpoint is done. Here a reader that began while the log
        // was not copied yet keeps SQLite from starting the log again at the next commit, so the log stays long and
        // its last commit is not copied when the writer comes back.
        await using (var reader = await dialect.OpenConnectionAsync(CancellationToken.None))
        await using (var read = ((SqliteConnection)reader).BeginTransaction(deferred: true))
        {
            await using var select = reader.CreateCommand();
            select.Transaction = read;
            select.CommandText = "SELECT count(*) FROM t";
            await select.ExecuteScalarAsync();
            await CheckpointAsync(checkpointer);
            Assert.True(checkpointer.LogPages >= 160, $"log {checkpointer.LogPages}");
            await CommitAsync(writer, 20);
        }

        await checkpointer.BeforeWriteAsync(writer, CancellationToken.None);
        await CommitAsync(writer, 21);

        await CheckpointAsync(checkpointer);
        Assert.InRange(checkpointer.LogPages, 1, (2 * RowsPerCommit) + 8);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(dir, recursive: true);
    }

    private async Task<DbConnection> OpenWriterAsync()
    {
        var writer = await dialect.OpenConnectionAsync(CancellationToken.None);
        await using var command = writer.CreateCommand();
        command.CommandText = WalCheckpointer.WriterPragmas + "CREATE TABLE IF NOT EXISTS t (n INTEGER, payload BLOB)";
        await command.ExecuteNonQueryAsync();
        return writer;
    }

    /// <summary>One transaction of rows of 4 KB: at least one page each.</summary>
    private static async Task CommitAsync(DbConnection writer, int n)
    {
        await using var transaction = await writer.BeginTransactionAsync();
        await using var insert = writer.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO t (n, payload) VALUES ($n, randomblob(4096))";
        var parameter = insert.CreateParameter();
        parameter.ParameterName = "$n";
        insert.Parameters.Add(parameter);
        for (var row = 0; row < RowsPerCommit; row++)
        {
            parameter.Value = (n * RowsPerCommit) + row;
            await insert.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    /// <summary>Reports a commit and waits for the loop's checkpoint after it.</summary>
    private static async Task CheckpointAsync(WalCheckpointer checkpointer)
    {
        var seen = checkpointer.Checkpoints;
        checkpointer.Committed();
        for (var waited = 0; checkpointer.Checkpoints == seen; waited += 10)
        {
            Assert.True(waited < 10_000, "the background checkpoint did not run");
            await Task.Delay(10);
        }
    }
}
