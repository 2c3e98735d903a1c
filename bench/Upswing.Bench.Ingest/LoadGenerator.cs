using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace Upswing.Bench.Ingest;

/// <summary>
/// Posts Segment batches with <c>--concurrency</c> requests in flight. A batch that fails (connection refused while the
/// server is down, 503, a dropped connection) is sent again with the same message ids until it is acknowledged or the
/// time is up, as Segment's libraries do; only a 2xx counts as acknowledged.
/// </summary>
internal static class LoadGenerator
{
    /// <summary>Most batches built ahead (about 45 KB each at 100 events): 5,000 is 500,000 events in about 225 MB.</summary>
    private const long MaxPrebuiltBatches = 5_000;

    public static async Task<int> RunAsync(Options options, CancellationToken ct)
    {
        var url = new Uri(options.Require("url").TrimEnd('/') + "/v1/batch");
        var key = options.Require("key");
        var prefix = options.Require("prefix");
        var batchSize = options.Int("batch", 100);
        var concurrency = options.Int("concurrency", 16);
        var maxBatches = options.Get("events") is { } events ? long.Parse(events, CultureInfo.InvariantCulture) / batchSize : long.MaxValue;
        var duration = TimeSpan.FromSeconds(options.Double("duration", 3600));
        var acksFile = options.Get("acks");

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, ConnectTimeout = TimeSpan.FromSeconds(2) };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        var auth = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":")));

        // With a fixed number of events, every body is built before the clock starts: the generator shares the two
        // cores with the server and the database, and what it spends formatting JSON is taken from them.
        var prebuilt = maxBatches <= MaxPrebuiltBatches ? Prebuild(prefix, maxBatches, batchSize) : null;

        var acknowledged = new ConcurrentBag<long>();
        long nextBatch = -1, failures = 0, lastAckTicks = 0;
        var started = Stopwatch.GetTimestamp();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(duration);

        async Task WorkerAsync()
        {
            while (!deadline.IsCancellationRequested)
            {
                var batch = Interlocked.Increment(ref nextBatch);
                if (batch >= maxBatches)
                {
                    return;
                }

                var body = prebuilt?[batch] ?? BenchEvents.BatchBody(prefix, batch, batchSize, TimeProvider.System.GetUtcNow());
                while (!deadline.IsCancellationRequested)
                {
                    try
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
                        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                        request.Headers.Authorization = auth;
                        using var response = await http.SendAsync(request, deadline.Token);
                        if (response.IsSuccessStatusCode)
                        {
                            acknowledged.Add(batch);
                            Interlocked.Exchange(ref lastAckTicks, Stopwatch.GetTimestamp());
                            break;
                        }
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                    {
                        // Refused, reset or timed out: the batch may or may not have been stored; send it again.
                    }

                    Interlocked.Increment(ref failures);
                    // A short pause before resending, like a client's backoff, so a down server is not spun on.
                    try
                    {
                        await Task.Delay(100, deadline.Token);
                    }
                    catch (TaskCanceledException)
                    {
                        return;
                    }
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(WorkerAsync, CancellationToken.None)));
        var end = lastAckTicks == 0 ? Stopwatch.GetTimestamp() : lastAckTicks;
        var seconds = Stopwatch.GetElapsedTime(started, end).TotalSeconds;
        var ackedEvents = (long)acknowledged.Count * batchSize;

        if (acksFile is not null)
        {
            await using var writer = new StreamWriter(acksFile, append: false);
            foreach (var batch in acknowledged.Order())
            {
                for (var i = 0; i < batchSize; i++)
                {
                    await writer.WriteLineAsync(BenchEvents.MessageId(prefix, batch, i));
                }
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $$"""{"acknowledgedEvents":{{ackedEvents}},"acknowledgedBatches":{{acknowledged.Count}},"failedAttempts":{{failures}},"seconds":{{seconds:0.000}},"eventsPerSecond":{{ackedEvents / Math.Max(seconds, 1e-9):0}},"batch":{{batchSize}},"concurrency":{{concurrency}}}"""));
        return 0;
    }

    private static byte[][] Prebuild(string prefix, long batches, int batchSize)
    {
        var now = TimeProvider.System.GetUtcNow();
        var bodies = new byte[batches][];
        Parallel.For(0, batches, b => bodies[b] = BenchEvents.BatchBody(prefix, b, batchSize, now));
        return bodies;
    }
}
