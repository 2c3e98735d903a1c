using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using Upswing.Data;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Events;

/// <summary>
/// The check of bench/load/crash-safety.sh (docs/operations/crash-safety.md), small enough for CI: `upswing serve` runs
/// as a real process and is killed with SIGKILL while batches are in flight, then restarted; the sender resends every
/// batch that got no 2xx. Every event that was answered 2xx must then be stored exactly once.
/// </summary>
public abstract class CrashSafetyContract
{
    private const int BatchSize = 100;
    private const int Senders = 8;

    protected abstract Task<TestDatabase> CreateDatabaseAsync();

    [Fact]
    public async Task AcknowledgedEvents_SurviveASigkillMidLoad_AndAreStoredExactlyOnce()
    {
        var database = await CreateDatabaseAsync();
        // The workspace and its client key are made by the in-process host on the same database, which is then stopped:
        // quicker than two CLI processes.
        var setup = await UpswingTestServer.StartAsync(database);
        var key = (await setup.CreateWorkspaceAsync()).ClientKey;
        await setup.StopAsync();
        var baseAddress = new Uri($"http://127.0.0.1:{UpswingProcess.FreePort()}");
        var prefix = Infrastructure.Unique("crash");

        var server = await UpswingProcess.StartAsync(database, baseAddress: baseAddress);
        var load = new BatchSender(baseAddress, key, prefix);
        try
        {
            load.Start();
            await Infrastructure.WaitUntilAsync(() => Task.FromResult(load.AcknowledgedBatches >= 20), TimeSpan.FromSeconds(60), "20 acknowledged batches before the kill");
            Assert.True(load.InFlight > 0, "no batch was in flight when the server was killed");
            await server.KillAsync();
            var acknowledgedAtKill = load.AcknowledgedBatches;

            await server.DisposeAsync();
            server = await UpswingProcess.StartAsync(database, baseAddress: baseAddress);
            await Infrastructure.WaitUntilAsync(() => Task.FromResult(load.AcknowledgedBatches >= acknowledgedAtKill + 20), TimeSpan.FromSeconds(60), "20 more acknowledged batches after the restart");
            await load.StopAsync();
            Assert.True(load.FailedAttempts > 0, "no request failed, so the kill did not hit the load");
        }
        finally
        {
            await load.StopAsync();
            await server.DisposeAsync();
        }

        var acknowledged = load.AcknowledgedMessageIds();
        var stored = await StoredCopiesAsync(database, prefix);
        var duplicates = stored.Where(s => s.Value > 1).Select(s => s.Key).ToList();
        var missing = acknowledged.Where(id => !stored.ContainsKey(id)).ToList();
        Assert.True(duplicates.Count == 0, $"{duplicates.Count} message ids stored more than once, e.g. {string.Join(", ", duplicates.Take(5))}");
        Assert.True(missing.Count == 0, $"{missing.Count} of {acknowledged.Count} acknowledged events are missing, e.g. {string.Join(", ", missing.Take(5))}");
        Assert.True(acknowledged.Count >= 40 * BatchSize, $"only {acknowledged.Count} events acknowledged");
        TryDelete(database.DataDir);
    }

    private static async Task<Dictionary<string, long>> StoredCopiesAsync(TestDatabase database, string prefix)
    {
        await using DbConnection db = database.Provider == DatabaseProvider.Sqlite
            ? new SqliteConnection($"Data Source={Path.Combine(database.DataDir, "upswing.db")};Pooling=false")
            : new NpgsqlConnection(database.ConnectionString);
        await db.OpenAsync();
        await using var command = db.CreateCommand();
        command.CommandText = "SELECT message_id, count(*) FROM events WHERE message_id LIKE @prefix GROUP BY message_id";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@prefix";
        parameter.Value = prefix + "-%";
        command.Parameters.Add(parameter);
        var copies = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            copies[reader.GetString(0)] = reader.GetInt64(1);
        }

        return copies;
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>Several senders posting Segment batches; a batch without a 2xx is sent again with the same message ids.</summary>
    private sealed class BatchSender(Uri baseAddress, string key, string prefix)
    {
        private readonly ConcurrentBag<long> acknowledged = [];
        private readonly CancellationTokenSource stop = new();
        private readonly HttpClient http = new() { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(20) };
        private Task? running;
        private long nextBatch = -1;
        private int inFlight;
        private long failedAttempts;

        public int AcknowledgedBatches => acknowledged.Count;

        public int InFlight => Volatile.Read(ref inFlight);

        public long FailedAttempts => Interlocked.Read(ref failedAttempts);

        public void Start()
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":")));
            running = Task.WhenAll(Enumerable.Range(0, Senders).Select(_ => Task.Run(SendAsync)));
        }

        public async Task StopAsync()
        {
            if (running is null)
            {
                return;
            }

            await stop.CancelAsync();
            await running;
            running = null;
            http.Dispose();
        }

        public List<string> AcknowledgedMessageIds() =>
            acknowledged.SelectMany(batch => Enumerable.Range(0, BatchSize).Select(i => MessageId(batch, i))).ToList();

        private string MessageId(long batch, int index) => string.Create(CultureInfo.InvariantCulture, $"{prefix}-{batch}-{index}");

        private async Task SendAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                var batch = Interlocked.Increment(ref nextBatch);
                var body = Body(batch);
                while (!stop.IsCancellationRequested)
                {
                    Interlocked.Increment(ref inFlight);
                    try
                    {
                        using var content = new ByteArrayContent(body);
                        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                        using var response = await http.PostAsync("/v1/batch", content, stop.Token);
                        if (response.IsSuccessStatusCode)
                        {
                            acknowledged.Add(batch);
                            break;
                        }
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                    {
                        // Refused, reset or cut off by the kill: maybe stored, maybe not; send it again.
                    }
                    finally
                    {
                        Interlocked.Decrement(ref inFlight);
                    }

                    Interlocked.Increment(ref failedAttempts);
                    // A client's backoff before resending, so a server that is down is not spun on.
                    await Task.Delay(50, CancellationToken.None);
                }
            }
        }

        private byte[] Body(long batch)
        {
            var now = TimeProvider.System.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
            var body = new StringBuilder("{\"batch\":[");
            for (var i = 0; i < BatchSize; i++)
            {
                body.Append(i == 0 ? "" : ",")
                    .Append(CultureInfo.InvariantCulture, $$"""{"type":"track","event":"Crash Test","userId":"user-{{i % 17}}","messageId":"{{MessageId(batch, i)}}","timestamp":"{{now}}",""")
                    .Append("\"properties\":{\"batch\":").Append(batch).Append(",\"index\":").Append(i).Append(",\"nested\":{\"ok\":true}}}");
            }

            return Encoding.UTF8.GetBytes(body.Append(CultureInfo.InvariantCulture, $$"""],"sentAt":"{{now}}"}""").ToString());
        }
    }
}

public sealed class CrashSafetyOnSqlite : CrashSafetyContract
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => Task.FromResult(TestDatabase.Sqlite());
}

public sealed class CrashSafetyOnPostgres : CrashSafetyContract
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabase.PostgresAsync(nameof(CrashSafetyOnPostgres));
}
