namespace Upswing.Sdk.Tests;

public sealed class ServerSentEventParserTests
{
    private static List<ServerSentEvent> Feed(ServerSentEventParser parser, params string[] lines) =>
        lines.Select(parser.Parse).OfType<ServerSentEvent>().ToList();

    [Fact]
    public void DataLines_JoinWithNewlines_AndTheEventNameApplies()
    {
        var events = Feed(new ServerSentEventParser(), "event: features", "data: {\"a\":", "data:1}", "");
        var single = Assert.Single(events);
        Assert.Equal(("features", "{\"a\":\n1}"), (single.Type, single.Data));
    }

    [Fact]
    public void Comments_AndEventsWithoutData_DispatchNothing()
    {
        var parser = new ServerSentEventParser();
        Assert.Empty(Feed(parser, ": ping", "", "event: features", "", ":", ""));
        // The name of an event without data does not leak into the next one.
        Assert.Equal("message", Assert.Single(Feed(parser, "data: x", "")).Type);
    }

    [Fact]
    public void OnlyOneLeadingSpace_IsStripped_AndAFieldWithoutColonHasAnEmptyValue()
    {
        var events = Feed(new ServerSentEventParser(), "data:  two spaces", "data", "");
        Assert.Equal(" two spaces\n", Assert.Single(events).Data);
    }

    [Fact]
    public void RetryAndId_AreRemembered_InvalidRetryIsIgnored()
    {
        var parser = new ServerSentEventParser();
        Feed(parser, "retry: 2500", "id: 7", "data: x", "", "retry: soon", "retry: -5");
        Assert.Equal(TimeSpan.FromMilliseconds(2500), parser.Retry);
        Assert.Equal("7", parser.LastEventId);
    }

    [Fact]
    public void Reset_DiscardsAHalfReceivedEvent()
    {
        var parser = new ServerSentEventParser();
        Feed(parser, "event: features", "data: partial");
        parser.Reset();
        Assert.Equal(("message", "whole"), Feed(parser, "data: whole", "").Select(e => (e.Type, e.Data)).Single());
    }

    [Fact]
    public void UnknownFields_AreIgnored()
    {
        Assert.Equal("x", Assert.Single(Feed(new ServerSentEventParser(), "foo: bar", "data: x", "")).Data);
    }
}

public sealed class BackoffTests
{
    [Fact]
    public void Delays_DoubleUpToTheCap_WithJitterInTheUpperHalf_AndResetStartsOver()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8));
        double[] ceilings = [1, 2, 4, 8, 8, 8];
        foreach (var ceiling in ceilings)
        {
            var delay = backoff.Next().TotalSeconds;
            Assert.InRange(delay, ceiling / 2, ceiling);
        }

        backoff.Reset();
        Assert.InRange(backoff.Next().TotalSeconds, 0.5, 1);
    }

    [Fact]
    public void Jitter_SpreadsClients()
    {
        var delays = Enumerable.Range(0, 50).Select(_ => new Backoff(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60)).Next()).Distinct().Count();
        Assert.True(delays > 40, $"only {delays} distinct delays");
    }
}
