namespace Upswing.Sdk;

/// <summary>Settings for <see cref="UpswingClient"/>: where the server is, which key to use, and how to stay fresh and deliver events.</summary>
public sealed class UpswingOptions
{
    /// <summary>Base address of the Upswing server, e.g. http://127.0.0.1:5080.</summary>
    public Uri? ApiHost { get; set; }

    /// <summary>The environment's client key (us_ck_…): it selects the payload and authenticates event delivery.</summary>
    public string ClientKey { get; set; } = "";

    /// <summary>Base64 AES key for payloads served encrypted (encryptedFeatures / encryptedSavedGroups).</summary>
    public string? DecryptionKey { get; set; }

    /// <summary>Stay fresh over server-sent events when the server supports them; otherwise poll.</summary>
    public bool Streaming { get; set; } = true;

    /// <summary>How often to poll for changes when streaming is off or unsupported.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>First delay before reconnecting a dropped stream; doubles on every failure up to <see cref="MaxReconnectDelay"/>.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between reconnection attempts.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>A stream silent this long is treated as dead (the server sends a heartbeat every 25 s).</summary>
    public TimeSpan StreamIdleTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>Timeout of one payload fetch or one event batch upload.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the hosted service waits for the first payload before letting the application start (evaluation then returns defaults).</summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Base address of the event ingestion API (POST /v1/batch); defaults to <see cref="ApiHost"/>.</summary>
    public Uri? EventsHost { get; set; }

    /// <summary>Send "Experiment Viewed" events when an evaluation puts a user in an experiment.</summary>
    public bool TrackExposures { get; set; } = true;

    /// <summary>Send a batch as soon as this many events are queued.</summary>
    public int FlushAt { get; set; } = 100;

    /// <summary>Send queued events at least this often.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Events kept in memory at most; when full, new events are dropped and counted (callers never block).</summary>
    public int MaxQueuedEvents { get; set; } = 10_000;

    /// <summary>Attempts per batch (network errors, 5xx and 429 are retried with backoff) before the batch is dropped.</summary>
    public int MaxDeliveryAttempts { get; set; } = 8;

    /// <summary>First delay before retrying a batch; doubles per attempt up to <see cref="MaxRetryDelay"/> unless the server sends Retry-After.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between delivery attempts.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long disposal waits for queued events to be delivered.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Distinct exposures remembered for deduplication; the memory is cleared when it grows past this.</summary>
    public int MaxTrackedExposures { get; set; } = 100_000;

    /// <summary>Throws when a setting cannot work.</summary>
    internal void Validate()
    {
        if (ApiHost is not { IsAbsoluteUri: true })
        {
            throw new ArgumentException("UpswingOptions.ApiHost must be an absolute URI.");
        }

        if (string.IsNullOrWhiteSpace(ClientKey))
        {
            throw new ArgumentException("UpswingOptions.ClientKey is required.");
        }

        if (EventsHost is { IsAbsoluteUri: false })
        {
            throw new ArgumentException("UpswingOptions.EventsHost must be an absolute URI.");
        }

        if (FlushAt < 1 || MaxQueuedEvents < 1 || MaxDeliveryAttempts < 1 || MaxTrackedExposures < 1)
        {
            throw new ArgumentException("UpswingOptions.FlushAt, MaxQueuedEvents, MaxDeliveryAttempts and MaxTrackedExposures must be positive.");
        }

        if (RefreshInterval <= TimeSpan.Zero || FlushInterval <= TimeSpan.Zero || ReconnectDelay <= TimeSpan.Zero || RetryDelay <= TimeSpan.Zero
            || MaxReconnectDelay < ReconnectDelay || MaxRetryDelay < RetryDelay || StreamIdleTimeout <= TimeSpan.Zero || RequestTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("UpswingOptions intervals must be positive and each maximum at least its initial delay.");
        }
    }

    /// <summary>A copy, so later changes to the caller's instance do not reach a running client.</summary>
    internal UpswingOptions Clone() => (UpswingOptions)MemberwiseClone();
}
