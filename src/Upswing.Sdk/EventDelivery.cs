using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Upswing.Sdk;

/// <summary>One queued Segment-style track event; its message id stays the same across retries so the server can drop duplicates.</summary>
internal sealed record TrackedEvent(string Event, string? UserId, string? AnonymousId, JsonObject Properties, DateTimeOffset Timestamp, Guid MessageId);

/// <summary>
/// Delivers events in batches to POST {EventsHost}/v1/batch (Segment's batch format, HTTP Basic with the client key).
/// Callers only ever write to a bounded in-memory queue: when it is full the event is dropped and counted, so
/// tracking never blocks a request. One background loop sends a batch when <see cref="UpswingOptions.FlushAt"/>
/// events are waiting, when <see cref="UpswingOptions.FlushInterval"/> has passed, or when asked to flush, and
/// retries network errors, 5xx and 429 (honouring Retry-After) with backoff.
/// </summary>
internal sealed class EventDelivery : IAsyncDisposable
{
    private static readonly string LibraryVersion =
        typeof(EventDelivery).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    // Retry-After beyond this is treated as a misconfiguration rather than obeyed for hours.
    private static readonly TimeSpan LongestRetryAfter = TimeSpan.FromMinutes(10);

    private readonly UpswingOptions options;
    private readonly Func<HttpClient> http;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly Channel<TrackedEvent> queue;
    private readonly Uri batchUri;
    private readonly AuthenticationHeaderValue authorization;
    private readonly CancellationTokenSource stopping = new();
    private readonly Lock gate = new();
    private readonly List<(long Target, TaskCompletionSource Done)> flushWaiters = [];
    private readonly Task loop;
    private CancellationTokenSource flushNow = new();
    private volatile int pendingFlushes;
    private volatile bool closing;
    private long enqueued;
    private long settled;
    private long dropped;
    private long delivered;
    private long failed;

    public EventDelivery(UpswingOptions options, Func<HttpClient> http, TimeProvider time, ILogger logger)
    {
        this.options = options;
        this.http = http;
        this.time = time;
        this.logger = logger;
        queue = Channel.CreateBounded<TrackedEvent>(new BoundedChannelOptions(options.MaxQueuedEvents)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        batchUri = new Uri(options.EventsHost ?? options.ApiHost!, "v1/batch");
        authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(options.ClientKey + ":")));
        // Owned by this object and awaited in DisposeAsync; not a fire-and-forget task.
        loop = Task.Run(() => RunAsync(stopping.Token), CancellationToken.None);
    }

    /// <summary>Events refused because the queue was full (or the client was closing).</summary>
    public long Dropped => Interlocked.Read(ref dropped);

    /// <summary>Events the server accepted.</summary>
    public long Delivered => Interlocked.Read(ref delivered);

    /// <summary>Events given up on: rejected by the server (4xx) or still failing after every attempt.</summary>
    public long Failed => Interlocked.Read(ref failed);

    /// <summary>Queues the event; false when it was dropped.</summary>
    public bool Enqueue(TrackedEvent trackedEvent)
    {
        if (!closing && queue.Writer.TryWrite(trackedEvent))
        {
            Interlocked.Increment(ref enqueued);
            return true;
        }

        var count = Interlocked.Increment(ref dropped);
        if (count == 1 || count % 1000 == 0)
        {
            logger.LogWarning("Upswing: the event queue is full ({Capacity} events); {DroppedCount} events dropped so far", options.MaxQueuedEvents, count);
        }

        return false;
    }

    /// <summary>Sends everything queued before the call now, and returns once it was delivered or given up on.</summary>
    public Task FlushAsync(CancellationToken ct)
    {
        var target = Interlocked.Read(ref enqueued);
        if (Interlocked.Read(ref settled) >= target || loop.IsCompleted)
        {
            return Task.CompletedTask;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            flushWaiters.Add((target, done));
            pendingFlushes = flushWaiters.Count;
        }

        CompleteFlushWaiters(all: loop.IsCompleted);
        // Interrupts a batch that is waiting for more events or for its interval.
        Interlocked.Exchange(ref flushNow, new CancellationTokenSource()).Cancel();
        return done.Task.WaitAsync(ct);
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var reader = queue.Reader;
        var batch = new List<TrackedEvent>(options.FlushAt);
        try
        {
            while (await reader.WaitToReadAsync(stop))
            {
                var flush = Volatile.Read(ref flushNow);
                using (var window = new CancellationTokenSource(options.FlushInterval, time))
                using (var linked = CancellationTokenSource.CreateLinkedTokenSource(window.Token, flush.Token, stop))
                {
                    while (true)
                    {
                        while (batch.Count < options.FlushAt && reader.TryRead(out var next))
                        {
                            batch.Add(next);
                        }

                        if (batch.Count >= options.FlushAt || closing || pendingFlushes > 0)
                        {
                            break;
                        }

                        try
                        {
                            if (!await reader.WaitToReadAsync(linked.Token))
                            {
                                break;
                            }
                        }
                        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                        {
                            break;
                        }
                    }
                }

                if (batch.Count > 0)
                {
                    await SendAsync(batch, stop);
                    Interlocked.Add(ref settled, batch.Count);
                    batch.Clear();
                }

                CompleteFlushWaiters(all: false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            var lost = batch.Count + reader.Count;
            if (lost > 0)
            {
                Interlocked.Add(ref failed, lost);
                logger.LogWarning("Upswing: {EventCount} events were not delivered before shutdown", lost);
            }
        }
        finally
        {
            CompleteFlushWaiters(all: true);
        }
    }

    private void CompleteFlushWaiters(bool all)
    {
        var done = Interlocked.Read(ref settled);
        lock (gate)
        {
            for (var i = flushWaiters.Count - 1; i >= 0; i--)
            {
                if (all || flushWaiters[i].Target <= done)
                {
                    flushWaiters[i].Done.TrySetResult();
                    flushWaiters.RemoveAt(i);
                }
            }

            pendingFlushes = flushWaiters.Count;
        }
    }

    private async Task SendAsync(List<TrackedEvent> batch, CancellationToken stop)
    {
        var backoff = new Backoff(options.RetryDelay, options.MaxRetryDelay);
        for (var attempt = 1; ; attempt++)
        {
            TimeSpan? retryAfter = null;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
                timeout.CancelAfter(options.RequestTimeout);
                using var request = new HttpRequestMessage(HttpMethod.Post, batchUri) { Content = new ByteArrayContent(Serialize(batch, time.GetUtcNow())) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
                request.Headers.Authorization = authorization;
                using var response = await http().SendAsync(request, timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Add(ref delivered, batch.Count);
                    if (logger.IsEnabled(LogLevel.Debug))
                    {
                        logger.LogDebug("Upswing: delivered {EventCount} events", batch.Count);
                    }

                    return;
                }

                if (response.StatusCode != HttpStatusCode.TooManyRequests && (int)response.StatusCode < 500)
                {
                    // The server will refuse these bytes again; retrying would only block the events behind them.
                    Interlocked.Add(ref failed, batch.Count);
                    logger.LogError("Upswing: the events API rejected a batch with {StatusCode}; dropped {EventCount} events", (int)response.StatusCode, batch.Count);
                    return;
                }

                retryAfter = RetryAfter(response);
                logger.LogWarning("Upswing: the events API answered {StatusCode} (attempt {Attempt} of {MaxAttempts})", (int)response.StatusCode, attempt, options.MaxDeliveryAttempts);
            }
            catch (HttpRequestException e)
            {
                logger.LogWarning("Upswing: sending events failed (attempt {Attempt} of {MaxAttempts}): {Error}", attempt, options.MaxDeliveryAttempts, e.Message);
            }
            catch (OperationCanceledException) when (!stop.IsCancellationRequested)
            {
                logger.LogWarning("Upswing: sending events timed out (attempt {Attempt} of {MaxAttempts})", attempt, options.MaxDeliveryAttempts);
            }

            if (attempt >= options.MaxDeliveryAttempts)
            {
                Interlocked.Add(ref failed, batch.Count);
                logger.LogError("Upswing: gave up on {EventCount} events after {Attempts} attempts", batch.Count, attempt);
                return;
            }

            var delay = backoff.Next();
            if (retryAfter is { } asked)
            {
                delay = asked < TimeSpan.Zero ? TimeSpan.Zero : asked > LongestRetryAfter ? LongestRetryAfter : asked;
            }

            await Task.Delay(delay, time, stop);
        }
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - time.GetUtcNow(),
        _ => null,
    };

    /// <summary>The Segment batch body; sentAt is the time of this attempt, everything else is fixed at enqueue time.</summary>
    internal static byte[] Serialize(IReadOnlyList<TrackedEvent> batch, DateTimeOffset sentAt)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("batch");
            foreach (var e in batch)
            {
                json.WriteStartObject();
                json.WriteString("type", "track");
                json.WriteString("event", e.Event);
                if (e.UserId is not null)
                {
                    json.WriteString("userId", e.UserId);
                }

                if (e.AnonymousId is not null)
                {
                    json.WriteString("anonymousId", e.AnonymousId);
                }

                json.WritePropertyName("properties");
                e.Properties.WriteTo(json);
                json.WriteString("timestamp", Iso(e.Timestamp));
                json.WriteString("messageId", e.MessageId.ToString("D"));
                json.WriteStartObject("context");
                json.WriteStartObject("library");
                json.WriteString("name", "upswing-dotnet");
                json.WriteString("version", LibraryVersion);
                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteString("sentAt", Iso(sentAt));
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        closing = true;
        queue.Writer.TryComplete();
        Interlocked.Exchange(ref flushNow, new CancellationTokenSource()).Cancel();
        try
        {
            await loop.WaitAsync(options.ShutdownTimeout, time);
        }
        catch (TimeoutException)
        {
            await stopping.CancelAsync();
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        stopping.Dispose();
    }
}
