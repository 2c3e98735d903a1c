using System.Text.Json.Nodes;
using Upswing.Sdk.Tests.Support;

namespace Upswing.Sdk.Tests;

/// <summary>Batching, retries and shutdown of event delivery, against the local ingestion emulator; timers on a manual clock.</summary>
public sealed class EventDeliveryTests : IAsyncLifetime
{
    private const string Key = "us_ck_eventsdeliverytestkey";
    private readonly ManualTime time = new();
    private IngestionEmulator emulator = null!;

    public async ValueTask InitializeAsync() => emulator = await IngestionEmulator.StartAsync(Key);

    private readonly List<UpswingClient> clients = [];

    public async ValueTask DisposeAsync()
    {
        // Disposal waits for delivery on the manual clock; moving it keeps a failed test from hanging the run.
        foreach (var client in clients)
        {
            var disposing = client.DisposeAsync().AsTask();
            while (!disposing.IsCompleted)
            {
                time.Advance(TimeSpan.FromMinutes(1));
                await Task.WhenAny(disposing, Task.Delay(20, CancellationToken.None));
            }
        }

        await emulator.DisposeAsync();
    }

    private UpswingClient Client(Action<UpswingOptions>? configure = null, string key = Key)
    {
        // The payload host is never asked here: these tests do not initialize the client.
        var options = TestData.Options(emulator.BaseAddress, key, o =>
        {
            o.FlushInterval = TimeSpan.FromHours(1);
            configure?.Invoke(o);
        });
        var client = new UpswingClient(options, new HttpClient(), time);
        clients.Add(client);
        return client;
    }

    [Fact]
    public async Task Batches_GoOutAtFlushAt_InSegmentFormat_WithBasicAuth()
    {
        var client = Client(o => o.FlushAt = 3);
        for (var i = 0; i < 7; i++)
        {
            Assert.True(client.Track("Signed Up", userId: $"user-{i}", properties: new Dictionary<string, object?> { ["plan"] = "pro", ["seats"] = i }));
        }

        await TestData.WaitUntilAsync(() => emulator.AcceptedBatches.Count == 2, "two full batches");
        Assert.All(emulator.AcceptedBatches, b => Assert.Equal(3, b["batch"]!.AsArray().Count));

        var message = emulator.AcceptedBatches[0]["batch"]![0]!;
        Assert.Equal("track", message["type"]!.GetValue<string>());
        Assert.Equal("Signed Up", message["event"]!.GetValue<string>());
        Assert.Equal("user-0", message["userId"]!.GetValue<string>());
        Assert.Equal("""{"plan":"pro","seats":0}""", message["properties"]!.ToJsonString());
        Assert.Equal("2026-01-15T12:00:00.000Z", message["timestamp"]!.GetValue<string>());
        Assert.True(Guid.TryParse(message["messageId"]!.GetValue<string>(), out _));
        Assert.Equal("upswing-dotnet", message["context"]!["library"]!["name"]!.GetValue<string>());
        Assert.NotNull(emulator.AcceptedBatches[0]["sentAt"]);

        // The seventh waits for the interval.
        Assert.Contains(TimeSpan.FromHours(1), time.PendingDelays);
        time.Advance(TimeSpan.FromHours(1));
        await TestData.WaitUntilAsync(() => emulator.Messages.Count == 7, "the last event after the interval");
        Assert.Equal(3, emulator.AcceptedBatches.Count);
        Assert.Equal(7, client.DeliveredEvents);
    }

    [Fact]
    public async Task FailedBatches_AreRetried_WithTheSameMessageIds_BackingOff_AndHonouringRetryAfter()
    {
        emulator.FailNext(500);
        emulator.FailNext(429, retryAfter: "7");
        var client = Client(o => o.RetryDelay = TimeSpan.FromSeconds(1));
        client.Track("Clicked", anonymousId: "anon-1");
        client.Track("Clicked", anonymousId: "anon-2");
        var flushed = client.FlushAsync(TestContext.Current.CancellationToken);

        await TestData.WaitUntilAsync(() => emulator.Attempts.Count == 1 && time.PendingDelays.Count > 0, "the first attempt and its backoff");
        Assert.Equal(500, emulator.Attempts[0].Status);
        var backoff = time.PendingDelays[0];
        Assert.InRange(backoff.TotalSeconds, 0.5, 1);
        // Exactly to the timer: the retry it releases may arm the next timer before Advance returns.
        time.Advance(backoff);

        await TestData.WaitUntilAsync(() => emulator.Attempts.Count == 2 && time.PendingDelays.Contains(TimeSpan.FromSeconds(7)), "the second attempt and its Retry-After wait");
        Assert.Equal(429, emulator.Attempts[1].Status);
        Assert.Equal(TimeSpan.FromSeconds(7), time.PendingDelays[0]);
        time.Advance(TimeSpan.FromSeconds(6.9));
        Assert.Equal(2, emulator.Attempts.Count);
        time.Advance(TimeSpan.FromSeconds(0.1));

        await flushed.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal([500, 429, 200], emulator.Attempts.Select(a => a.Status));
        var ids = emulator.Attempts.Select(a => string.Join(",", a.Body!["batch"]!.AsArray().Select(m => m!["messageId"]!.GetValue<string>()))).ToList();
        Assert.Single(ids.Distinct());
        Assert.Equal(2, emulator.Messages.Count);
        Assert.Equal((2, 0L), (client.DeliveredEvents, client.FailedEvents));
    }

    [Fact]
    public async Task RetryAfterAsADate_IsHonoured()
    {
        emulator.FailNext(503, retryAfter: time.GetUtcNow().AddSeconds(30).ToString("R"));
        var client = Client();
        client.Track("Clicked", userId: "u");
        var flushed = client.FlushAsync(TestContext.Current.CancellationToken);
        await TestData.WaitUntilAsync(() => emulator.Attempts.Count == 1 && time.PendingDelays.Count > 0, "the first attempt");
        Assert.Equal(TimeSpan.FromSeconds(30), time.PendingDelays[0]);
        time.Advance(TimeSpan.FromSeconds(30));
        await flushed.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Single(emulator.Messages);
    }

    [Fact]
    public async Task ClientErrors_AreNotRetried_AndCountAsFailed()
    {
        emulator.FailNext(400);
        var client = Client();
        client.Track("Clicked", userId: "u1");
        await client.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal((1L, 0L), (client.FailedEvents, client.DeliveredEvents));
        Assert.Single(emulator.Attempts);

        client.Track("Clicked", userId: "u2");
        await client.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal("u2", Assert.Single(emulator.Messages.Values)["userId"]!.GetValue<string>());
    }

    [Fact]
    public async Task AWrongKey_IsRefused_AndNotRetried()
    {
        var client = Client(key: "us_ck_somebodyelse");
        client.Track("Clicked", userId: "u1");
        await client.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal(401, Assert.Single(emulator.Attempts).Status);
        Assert.Equal(1, client.FailedEvents);
    }

    [Fact]
    public async Task GivingUp_AfterMaxAttempts_CountsTheBatchAsFailed()
    {
        emulator.FailNext(500);
        emulator.FailNext(502);
        var client = Client(o => (o.MaxDeliveryAttempts, o.RetryDelay) = (2, TimeSpan.FromSeconds(1)));
        client.Track("Clicked", userId: "u1");
        var flushed = client.FlushAsync(TestContext.Current.CancellationToken);
        await TestData.WaitUntilAsync(() => emulator.Attempts.Count == 1 && time.PendingDelays.Count > 0, "the first attempt");
        time.Advance(TimeSpan.FromSeconds(1));
        await flushed.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal((1L, 2), (client.FailedEvents, emulator.Attempts.Count));
    }

    [Fact]
    public async Task AFullQueue_DropsNewEvents_AndCountsThem_WithoutBlocking()
    {
        // The first batch is held back by a long Retry-After, so later events pile up in the queue.
        emulator.FailNext(429, retryAfter: "300");
        var client = Client(o => (o.FlushAt, o.MaxQueuedEvents) = (2, 5));
        client.Track("E", userId: "a");
        client.Track("E", userId: "b");
        await TestData.WaitUntilAsync(() => emulator.Attempts.Count == 1 && time.PendingDelays.Contains(TimeSpan.FromSeconds(300)), "the held-back batch");

        var accepted = Enumerable.Range(0, 8).Select(i => client.Track("E", userId: $"q{i}")).ToList();
        Assert.Equal([true, true, true, true, true, false, false, false], accepted);
        Assert.Equal(3, client.DroppedEvents);

        time.Advance(TimeSpan.FromSeconds(300));
        await client.FlushAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(7, emulator.Messages.Count);
    }

    [Fact]
    public async Task Dispose_DeliversWhatIsQueued()
    {
        var client = Client();
        client.Track("A", userId: "u");
        client.Track("B", userId: "u");
        client.Track("C", userId: "u");
        Assert.Empty(emulator.Attempts);
        await client.DisposeAsync();
        Assert.Equal(["A", "B", "C"], emulator.Messages.Values.Select(m => m["event"]!.GetValue<string>()).Order());
        Assert.False(client.Track("D", userId: "u"));
    }

    [Fact]
    public async Task Track_WithoutAnyId_IsAProgrammingError()
    {
        var client = Client();
        Assert.Throws<ArgumentException>(() => client.Track("Clicked"));
    }

    [Fact]
    public void Serialize_WritesBothIdsWhenGiven()
    {
        var body = JsonNode.Parse(EventDelivery.Serialize(
            [new TrackedEvent("X", "u", "a", new JsonObject { ["k"] = 1 }, new DateTimeOffset(2026, 2, 3, 4, 5, 6, 789, TimeSpan.Zero), Guid.Empty)],
            new DateTimeOffset(2026, 2, 3, 4, 5, 7, TimeSpan.Zero)))!;
        Assert.Equal("2026-02-03T04:05:07.000Z", body["sentAt"]!.GetValue<string>());
        var message = body["batch"]![0]!;
        Assert.Equal(("u", "a", "2026-02-03T04:05:06.789Z"), (message["userId"]!.GetValue<string>(), message["anonymousId"]!.GetValue<string>(), message["timestamp"]!.GetValue<string>()));
    }
}
