using Upswing.Events;

namespace Upswing.App.Tests.Events;

public sealed class EventRateTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 15, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void PerSecond_AveragesTheLastMinute()
    {
        var rate = new EventRate();
        rate.Add(Start, 30);
        rate.Add(Start.AddSeconds(10), 60);
        rate.Add(Start.AddSeconds(10.5), 30);

        Assert.Equal(2.0, rate.PerSecond(Start.AddSeconds(30)));
    }

    [Fact]
    public void PerSecond_ForgetsEventsOlderThanAMinute()
    {
        var rate = new EventRate();
        rate.Add(Start, 600);
        rate.Add(Start.AddSeconds(59), 60);

        Assert.Equal(1.0, rate.PerSecond(Start.AddSeconds(60)));
        Assert.Equal(0.0, rate.PerSecond(Start.AddSeconds(120)));
    }

    [Fact]
    public void Add_ReusingASlotAMinuteLater_StartsItFromZero()
    {
        var rate = new EventRate();
        rate.Add(Start, 600);
        rate.Add(Start.AddSeconds(60), 6);

        Assert.Equal(0.1, rate.PerSecond(Start.AddSeconds(60)));
    }
}
