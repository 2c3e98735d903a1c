using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Upswing.Evaluation;

namespace Upswing.Sdk;

/// <summary>
/// The Upswing SDK: keeps the environment's feature payload in memory (fetched, then kept fresh over server-sent
/// events or by polling), evaluates flags and experiments locally, and delivers exposure and track events in
/// batches. One instance per application; every member is thread-safe and evaluation never blocks or does I/O.
/// </summary>
public sealed class UpswingClient : IAsyncDisposable
{
    /// <summary>The name of the <see cref="HttpClient"/> the SDK asks <see cref="IHttpClientFactory"/> for.</summary>
    public const string HttpClientName = "Upswing";

    /// <summary>The event name of exposures, as GrowthBook's and Segment's conventions spell it.</summary>
    public const string ExperimentViewedEvent = "Experiment Viewed";

    private static readonly JsonSerializerOptions ValueOptions = new(JsonSerializerDefaults.Web);

    private readonly UpswingOptions options;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly FeatureSync sync;
    private readonly EventDelivery events;
    private readonly ConcurrentDictionary<string, byte> trackedExposures = new(StringComparer.Ordinal);
    private int trackedExposureCount;
    private int disposed;

    /// <summary>A client over one <see cref="HttpClient"/> the caller owns and keeps alive.</summary>
    public UpswingClient(UpswingOptions options, HttpClient httpClient, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
        : this(options, () => httpClient, timeProvider, loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
    }

    /// <summary>A client that takes its HTTP clients from the factory (named <see cref="HttpClientName"/>).</summary>
    public UpswingClient(UpswingOptions options, IHttpClientFactory httpClientFactory, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
        : this(options, () => httpClientFactory.CreateClient(HttpClientName), timeProvider, loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(httpClientFactory);
    }

    private UpswingClient(UpswingOptions options, Func<HttpClient> http, TimeProvider? timeProvider, ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.options = options.Clone();
        time = timeProvider ?? TimeProvider.System;
        logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<UpswingClient>();
        sync = new FeatureSync(this.options, http, time, logger);
        sync.Updated += (_, _) => FeaturesUpdated?.Invoke(this, EventArgs.Empty);
        events = new EventDelivery(this.options, http, time, logger);
    }

    /// <summary>Raised (on a background thread) whenever a new payload has replaced the previous one.</summary>
    public event EventHandler? FeaturesUpdated;

    /// <summary>True once a payload has been loaded; before that every feature evaluates as unknown (fallbacks apply).</summary>
    public bool IsReady => sync.IsReady;

    /// <summary>True while the server-sent event stream is connected.</summary>
    public bool IsStreaming => sync.StreamConnected;

    /// <summary>Events dropped because the queue was full.</summary>
    public long DroppedEvents => events.Dropped;

    /// <summary>Events the ingestion API accepted.</summary>
    public long DeliveredEvents => events.Delivered;

    /// <summary>Events given up on (rejected by the API, or failing after every retry).</summary>
    public long FailedEvents => events.Failed;

    /// <summary>The keys of the features in the current payload.</summary>
    public IReadOnlyCollection<string> FeatureKeys => sync.Current.Model.Features.Keys.ToList();

    internal FeatureSync Sync => sync;

    /// <summary>
    /// Loads the payload and starts keeping it fresh. Returns false when the server could not be reached in time;
    /// the client then keeps trying in the background and evaluation returns fallbacks until it succeeds.
    /// </summary>
    public Task<bool> InitializeAsync(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        return sync.InitializeAsync(ct);
    }

    /// <summary>Fetches the payload now (a conditional request: unchanged payloads cost a 304). True when the server answered.</summary>
    public Task<bool> RefreshAsync(CancellationToken ct = default) => sync.RefreshAsync(ct);

    /// <summary>Evaluates a feature for a user: the value and why (source, rule id, experiment assignment).</summary>
    public FeatureResult EvalFeature(string key, JsonObject? attributes = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        var result = Evaluator.EvalFeature(ContextFor(attributes), key);
        if (result is { Experiment: { } experiment, ExperimentResult: { } assignment })
        {
            RecordExposure(experiment, assignment, attributes);
        }

        return result;
    }

    /// <summary>True when the feature's value is truthy for the user.</summary>
    public bool IsOn(string key, JsonObject? attributes = null) => EvalFeature(key, attributes).On;

    /// <summary>True when the feature's value is falsy for the user (unknown features are off).</summary>
    public bool IsOff(string key, JsonObject? attributes = null) => EvalFeature(key, attributes).Off;

    /// <summary>
    /// The feature's value as <typeparamref name="T"/> (bool, string, numbers, JsonElement, JsonNode or a class read from
    /// JSON with web defaults), or <paramref name="fallback"/> when the feature is unknown, null, or not of that type.
    /// </summary>
    public T GetValue<T>(string key, T fallback, JsonObject? attributes = null) => ConvertValue(EvalFeature(key, attributes).Value, fallback);

    /// <summary>Runs an inline experiment for a user.</summary>
    public ExperimentResult Run(Experiment experiment, JsonObject? attributes = null)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        var result = Evaluator.Run(ContextFor(attributes), experiment);
        RecordExposure(experiment, result, attributes);
        return result;
    }

    /// <summary>A view bound to one user's attributes, with the same evaluation methods.</summary>
    public UpswingUser ForUser(JsonObject attributes) => new(this, attributes ?? throw new ArgumentNullException(nameof(attributes)));

    /// <summary>A view bound to one user's attributes (values are converted to JSON once, here).</summary>
    public UpswingUser ForUser(IReadOnlyDictionary<string, object?> attributes) => new(this, ToJson(attributes));

    /// <summary>
    /// Queues a custom event for <paramref name="userId"/> and/or <paramref name="anonymousId"/> (one is required).
    /// Never blocks: returns false when the queue is full and the event was dropped.
    /// </summary>
    public bool Track(string eventName, string? userId = null, string? anonymousId = null, IReadOnlyDictionary<string, object?>? properties = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventName);
        if (string.IsNullOrEmpty(userId) && string.IsNullOrEmpty(anonymousId))
        {
            throw new ArgumentException("An event needs a userId or an anonymousId.", nameof(userId));
        }

        return events.Enqueue(new TrackedEvent(eventName, NullIfEmpty(userId), NullIfEmpty(anonymousId), properties is null ? [] : ToJson(properties), time.GetUtcNow(), Guid.NewGuid()));
    }

    /// <summary>Delivers every event queued before the call; completes when they were sent or given up on.</summary>
    public Task FlushAsync(CancellationToken ct = default) => events.FlushAsync(ct);

    /// <summary>Stops streaming and delivers queued events (waiting at most <see cref="UpswingOptions.ShutdownTimeout"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        await sync.DisposeAsync();
        await events.DisposeAsync();
    }

    internal static T ConvertValue<T>(JsonNode? value, T fallback)
    {
        if (value is null || value.GetValueKind() == JsonValueKind.Null)
        {
            return fallback;
        }

        if (typeof(T) == typeof(JsonNode))
        {
            return (T)(object)value!.DeepClone();
        }

        try
        {
            return value.Deserialize<T>(ValueOptions) ?? fallback;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or FormatException)
        {
            return fallback;
        }
    }

    internal static JsonObject ToJson(IReadOnlyDictionary<string, object?> values)
    {
        var json = new JsonObject();
        foreach (var (key, value) in values)
        {
            json[key] = value switch
            {
                null => null,
                JsonNode node => node.DeepClone(),
                _ => JsonSerializer.SerializeToNode(value, value.GetType(), ValueOptions),
            };
        }

        return json;
    }

    private EvaluationContext ContextFor(JsonObject? attributes) => sync.Current.Model with { Attributes = attributes ?? [] };

    private void RecordExposure(Experiment experiment, ExperimentResult result, JsonObject? attributes)
    {
        // Like GrowthBook's trackingCallback: only users hashed into the experiment are exposures, once per
        // user, experiment and variation.
        if (!options.TrackExposures || !result.InExperiment || !result.HashUsed)
        {
            return;
        }

        var dedupKey = string.Join('\u001f', result.HashAttribute, result.HashValue, experiment.Key, result.Key);
        if (!trackedExposures.TryAdd(dedupKey, 0))
        {
            return;
        }

        // Bounded memory on a server that sees millions of users: forgetting means at most one repeated exposure
        // per user, which the analysis deduplicates anyway.
        if (Interlocked.Increment(ref trackedExposureCount) > options.MaxTrackedExposures)
        {
            trackedExposures.Clear();
            Interlocked.Exchange(ref trackedExposureCount, 0);
        }

        var userId = NullIfEmpty(JsonText.AsString(attributes?["id"]));
        var anonymousId = result.HashAttribute == "id" ? null : NullIfEmpty(result.HashValue);
        if (userId is null && anonymousId is null)
        {
            userId = result.HashValue;
        }

        var properties = new JsonObject
        {
            ["experimentId"] = experiment.Key,
            ["variationId"] = result.Key,
            ["variationIndex"] = result.VariationId,
        };
        if (result.FeatureId is { } featureId)
        {
            properties["featureId"] = featureId;
        }

        events.Enqueue(new TrackedEvent(ExperimentViewedEvent, userId, anonymousId, properties, time.GetUtcNow(), Guid.NewGuid()));
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

/// <summary>One user's view of an <see cref="UpswingClient"/>: the same evaluation methods with the attributes bound.</summary>
public sealed class UpswingUser
{
    private readonly UpswingClient client;

    internal UpswingUser(UpswingClient client, JsonObject attributes)
    {
        this.client = client;
        Attributes = attributes;
    }

    /// <summary>The user's attributes; treat as read-only while the view is in use.</summary>
    public JsonObject Attributes { get; }

    /// <summary>Evaluates a feature for this user.</summary>
    public FeatureResult EvalFeature(string key) => client.EvalFeature(key, Attributes);

    /// <summary>True when the feature is on for this user.</summary>
    public bool IsOn(string key) => client.IsOn(key, Attributes);

    /// <summary>True when the feature is off for this user.</summary>
    public bool IsOff(string key) => client.IsOff(key, Attributes);

    /// <summary>The feature's value for this user as <typeparamref name="T"/>, or <paramref name="fallback"/>.</summary>
    public T GetValue<T>(string key, T fallback) => client.GetValue(key, fallback, Attributes);

    /// <summary>Runs an inline experiment for this user.</summary>
    public ExperimentResult Run(Experiment experiment) => client.Run(experiment, Attributes);

    /// <summary>Queues an event for this user (userId from the "id" attribute, anonymousId from "anonymousId"); false when dropped.</summary>
    public bool Track(string eventName, IReadOnlyDictionary<string, object?>? properties = null) =>
        client.Track(eventName, JsonText.AsString(Attributes["id"]), JsonText.AsString(Attributes["anonymousId"]), properties);
}
