using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Upswing.Events;
using Upswing.Experiments;
using Upswing.TestKit;

namespace Upswing.App.Tests.Events;

public sealed class EventWriterTests : IAsyncDisposable
{
    private readonly ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    [Fact]
    public async Task ConcurrentRequests_ShareOneCommit_AndAreReleasedOnlyAfterIt()
    {
        var store = new GatedStore();
        var writer = NewWriter(store, capacity: 1000);
        await writer.StartAsync(CancellationToken.None);

        var first = Write(2);
        Assert.Equal(WriteRefusal.None, writer.TryEnqueue(first));
        await store.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // While the first commit is in flight, three more requests queue up behind it.
        var waiting = Enumerable.Range(0, 3).Select(_ => Write(5)).ToList();
        Assert.All(waiting, w => Assert.Equal(WriteRefusal.None, writer.TryEnqueue(w)));
        Assert.False(first.Completion.IsCompleted);

        store.Release();
        await first.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        await Task.WhenAll(waiting.Select(w => w.Completion)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([1, 3], store.GroupSizes);
        Assert.Equal(0, writer.QueuedRows);
        await writer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task FullQueue_RefusesAtOnce_AndAcceptsAgainOnceDrained()
    {
        var store = new GatedStore();
        var writer = NewWriter(store, capacity: 100);
        await writer.StartAsync(CancellationToken.None);

        var inFlight = Write(60);
        writer.TryEnqueue(inFlight);
        await store.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(WriteRefusal.None, writer.TryEnqueue(Write(40)));
        Assert.Equal(WriteRefusal.QueueFull, writer.TryEnqueue(Write(1)));
        Assert.Equal(100, writer.QueuedRows);

        store.Release();
        await inFlight.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        await Infrastructure.WaitUntilAsync(() => Task.FromResult(writer.QueuedRows == 0), TimeSpan.FromSeconds(10), "the queue to drain");
        Assert.Equal(WriteRefusal.None, writer.TryEnqueue(Write(1)));
        await writer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Stop_CommitsEverythingQueued_ThenRefusesNewWrites()
    {
        var store = new GatedStore();
        var writer = NewWriter(store, capacity: 1000);
        await writer.StartAsync(CancellationToken.None);
        var writes = Enumerable.Range(0, 4).Select(_ => Write(3)).ToList();
        writer.TryEnqueue(writes[0]);
        await store.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        foreach (var write in writes.Skip(1))
        {
            writer.TryEnqueue(write);
        }

        var stopping = writer.StopAsync(CancellationToken.None);
        Assert.Equal(WriteRefusal.Stopping, writer.TryEnqueue(Write(1)));
        Assert.False(stopping.IsCompleted);
        store.Release();
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(writes, w => Assert.True(w.Completion.IsCompletedSuccessfully));
        Assert.Equal(4, store.GroupSizes.Sum());
    }

    [Fact]
    public async Task FailedGroup_IsRetriedRequestByRequest_SoOnlyTheBadOneFails()
    {
        var store = new GatedStore { Poison = 7 };
        var writer = NewWriter(store, capacity: 1000);
        await writer.StartAsync(CancellationToken.None);
        var first = Write(1);
        writer.TryEnqueue(first);
        await store.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var (good, bad, alsoGood) = (Write(2), Write(7), Write(3));
        foreach (var write in new[] { good, bad, alsoGood })
        {
            writer.TryEnqueue(write);
        }

        store.Release();
        await Task.WhenAll(first.Completion, good.Completion, alsoGood.Completion).WaitAsync(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<InvalidOperationException>(() => bad.Completion.WaitAsync(TimeSpan.FromSeconds(10)));
        await writer.StopAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync() => await services.DisposeAsync();

    private EventWriter NewWriter(EventStore store, int capacity) =>
        new(() => store, 1, new IngestionMetrics(services.GetRequiredService<IMeterFactory>()), services.GetRequiredService<IMeterFactory>(),
            Options.Create(new EventsOptions { QueueCapacity = capacity }), NullLogger<EventWriter>.Instance);

    private static PendingWrite Write(int events) =>
        new(Guid.NewGuid(), null, TimeProvider.System.GetUtcNow(), [.. Enumerable.Range(0, events).Select(i => new IncomingEvent { Type = EventTypes.Track, Name = "e", UserId = "u", MessageId = "m" + i })], []);

    /// <summary>A store whose first commit waits for <see cref="Release"/>; a request of <see cref="Poison"/> events fails any commit it is in.</summary>
    private sealed class GatedStore() : EventStore(new AssignmentHistory(null!, null!, null!), new ExposureRecorder(null!, null!))
    {
        private readonly TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<int> GroupSizes { get; } = [];

        public int Poison { get; init; } = -1;

        public void Release() => gate.TrySetResult();

        public override async Task WriteAsync(IReadOnlyList<PendingWrite> group, CancellationToken ct)
        {
            Entered.TrySetResult();
            await gate.Task;
            if (group.Any(w => w.Events.Count == Poison))
            {
                throw new InvalidOperationException("poisoned");
            }

            GroupSizes.Add(group.Count);
        }

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
