using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Upswing.Sdk;

/// <summary>
/// Keeps the newest payload: the first fetch, conditional refetches (ETag / If-None-Match), the server-sent event
/// stream with reconnects, or polling when the server offers no stream. Readers take <see cref="Current"/> without
/// locking; every change swaps the whole parsed payload at once.
/// </summary>
internal sealed class FeatureSync(UpswingOptions options, Func<HttpClient> http, TimeProvider time, ILogger logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource stopping = new();
    private readonly SemaphoreSlim fetchGate = new(1, 1);
    private readonly Uri featuresUri = new(options.ApiHost!, "api/features/" + Uri.EscapeDataString(options.ClientKey));
    private readonly Uri streamUri = new(options.ApiHost!, "sub/" + Uri.EscapeDataString(options.ClientKey));
    private FeaturePayload current = FeaturePayload.Empty;
    private string? etag;
    private volatile bool serverStreams;
    private volatile bool ready;
    private volatile bool streamConnected;
    private Task? loop;
    private int started;

    /// <summary>Raised after a new payload replaced the old one.</summary>
    public event EventHandler? Updated;

    public FeaturePayload Current => Volatile.Read(ref current);

    public bool IsReady => ready;

    /// <summary>True while the event stream is open and has delivered its first event.</summary>
    public bool StreamConnected => streamConnected;

    /// <summary>Successful connections to the event stream since start (each reconnect counts).</summary>
    public int StreamConnections { get; private set; }

    /// <summary>Fetches the payload once, then keeps it fresh in the background whatever the outcome.</summary>
    public async Task<bool> InitializeAsync(CancellationToken ct)
    {
        bool loaded;
        try
        {
            loaded = await RefreshAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            loaded = false;
            logger.LogWarning("Upswing: no payload from {ApiHost} before the caller gave up; evaluation returns defaults until it arrives", options.ApiHost);
        }

        if (Interlocked.Exchange(ref started, 1) == 0)
        {
            // Owned by this object and stopped in DisposeAsync; not a fire-and-forget task.
            loop = Task.Run(() => RunAsync(stopping.Token), CancellationToken.None);
        }

        return loaded;
    }

    /// <summary>One conditional fetch: true when the server answered with a usable payload or 304.</summary>
    public async Task<bool> RefreshAsync(CancellationToken ct)
    {
        await fetchGate.WaitAsync(ct);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct, stopping.Token);
            timeout.CancelAfter(options.RequestTimeout);
            using var request = new HttpRequestMessage(HttpMethod.Get, featuresUri);
            if (etag is not null)
            {
                request.Headers.TryAddWithoutValidation("If-None-Match", etag);
            }

            HttpResponseMessage response;
            try
            {
                response = await http().SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
            }
            catch (HttpRequestException e)
            {
                logger.LogWarning("Upswing: fetching the payload from {ApiHost} failed: {Error}", options.ApiHost, e.Message);
                return false;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested && !stopping.IsCancellationRequested)
            {
                logger.LogWarning("Upswing: fetching the payload from {ApiHost} timed out after {Timeout}", options.ApiHost, options.RequestTimeout);
                return false;
            }

            using (response)
            {
                serverStreams = response.Headers.TryGetValues("x-sse-support", out var values) && values.Contains("enabled", StringComparer.OrdinalIgnoreCase);
                if (response.StatusCode == HttpStatusCode.NotModified)
                {
                    return ready;
                }

                if (!response.IsSuccessStatusCode)
                {
                    logger.LogWarning("Upswing: the payload request answered {StatusCode}", (int)response.StatusCode);
                    return false;
                }

                var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
                if (!Apply(body, "fetch"))
                {
                    return false;
                }

                etag = response.Headers.ETag?.ToString();
                return true;
            }
        }
        finally
        {
            fetchGate.Release();
        }
    }

    /// <summary>Parses and installs a payload; false (and the old payload stays) when it is unusable.</summary>
    internal bool Apply(ReadOnlySpan<byte> json, string source)
    {
        var (payload, problem) = FeaturePayload.Parse(json, options.DecryptionKey);
        switch (problem)
        {
            case FeaturePayload.Problem.InvalidJson:
                logger.LogError("Upswing: the payload from {Source} is not valid JSON; keeping the previous one", source);
                return false;
            case FeaturePayload.Problem.EncryptedWithoutKey:
                logger.LogError("Upswing: the payload is encrypted but no DecryptionKey is configured; keeping the previous one");
                return false;
            case FeaturePayload.Problem.DecryptionFailed:
                logger.LogError("Upswing: the payload could not be decrypted with the configured DecryptionKey; keeping the previous one");
                return false;
        }

        var previous = Current;
        // An SSE event and a fetch can cross; the older of the two must not undo the newer.
        if (previous.DateUpdated is { } had && payload!.DateUpdated is { } got && got < had)
        {
            if (logger.IsEnabled(LogLevel.Debug))
            {
                logger.LogDebug("Upswing: ignored a payload from {Source} older than the current one", source);
            }

            return true;
        }

        Volatile.Write(ref current, payload!);
        ready = true;
        if (logger.IsEnabled(LogLevel.Debug))
        {
            logger.LogDebug("Upswing: payload from {Source} with {FeatureCount} features installed", source, payload!.Model.Features.Count);
        }

        try
        {
            Updated?.Invoke(this, EventArgs.Empty);
        }
        catch (Exception e)
        {
            // An application's handler must not break the stream that calls it.
            logger.LogError(e, "Upswing: a FeaturesUpdated handler threw");
        }

        return true;
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var backoff = new Backoff(options.ReconnectDelay, options.MaxReconnectDelay);
        var parser = new ServerSentEventParser();
        var needFetch = !ready;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (needFetch)
                {
                    if (!await RefreshAsync(stop))
                    {
                        await Task.Delay(backoff.Next(), time, stop);
                        continue;
                    }

                    needFetch = false;
                }

                if (options.Streaming && serverStreams)
                {
                    await StreamAsync(parser, backoff, stop);
                    var delay = backoff.Next();
                    if (parser.Retry is { } asked && asked > delay)
                    {
                        delay = asked;
                    }

                    if (logger.IsEnabled(LogLevel.Information))
                    {
                        logger.LogInformation("Upswing: event stream closed; reconnecting in {DelayMs} ms", (long)delay.TotalMilliseconds);
                    }

                    await Task.Delay(delay, time, stop);
                }
                else
                {
                    backoff.Reset();
                    await Task.Delay(options.RefreshInterval, time, stop);
                }

                // Changes made while the stream was down or between polls arrive with this fetch.
                needFetch = true;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Upswing: unexpected error while keeping the payload fresh");
                needFetch = true;
                try
                {
                    await Task.Delay(backoff.Next(), time, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task StreamAsync(ServerSentEventParser parser, Backoff backoff, CancellationToken stop)
    {
        using var idle = new CancellationTokenSource(options.StreamIdleTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, idle.Token);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, streamUri);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
            if (parser.LastEventId is { } lastId)
            {
                request.Headers.TryAddWithoutValidation("Last-Event-ID", lastId);
            }

            using var response = await http().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            if (!response.IsSuccessStatusCode || response.Content.Headers.ContentType?.MediaType != "text/event-stream")
            {
                logger.LogWarning("Upswing: the event stream answered {StatusCode} {ContentType}", (int)response.StatusCode, response.Content.Headers.ContentType?.MediaType);
                return;
            }

            await using var body = await response.Content.ReadAsStreamAsync(linked.Token);
            using var reader = new StreamReader(body, Encoding.UTF8);
            while (await reader.ReadLineAsync(linked.Token) is { } line)
            {
                idle.CancelAfter(options.StreamIdleTimeout);
                if (parser.Parse(line) is not { } message)
                {
                    continue;
                }

                switch (message.Type)
                {
                    case "features" or "message" when message.Data.Length > 0:
                        if (Apply(Encoding.UTF8.GetBytes(message.Data), "stream") && !streamConnected)
                        {
                            streamConnected = true;
                            StreamConnections++;
                            // Only a stream that delivered something counts as healthy; a server that accepts and
                            // drops connections keeps backing off.
                            backoff.Reset();
                            if (logger.IsEnabled(LogLevel.Information))
                            {
                                logger.LogInformation("Upswing: event stream connected to {ApiHost}", options.ApiHost);
                            }
                        }

                        break;
                    case "features-updated":
                        await RefreshAsync(stop);
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            logger.LogWarning("Upswing: the event stream was silent for {IdleTimeout}; reconnecting", options.StreamIdleTimeout);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            if (logger.IsEnabled(LogLevel.Information))
            {
                logger.LogInformation("Upswing: the event stream failed: {Error}", e.Message);
            }
        }
        finally
        {
            streamConnected = false;
            parser.Reset();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        if (loop is not null)
        {
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        stopping.Dispose();
        fetchGate.Dispose();
    }
}
