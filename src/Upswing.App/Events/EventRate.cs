namespace Upswing.Events;

/// <summary>
/// A count per second over the last minute in 60 one-second buckets: adding is O(1) and memory is fixed however
/// many events arrive. A lock, not atomics: one writer loop adds once per commit, and the dashboard reads rarely.
/// </summary>
internal sealed class EventRate
{
    public const int WindowSeconds = 60;
    private readonly long[] seconds = new long[WindowSeconds];
    private readonly long[] counts = new long[WindowSeconds];
    private readonly Lock gate = new();

    public void Add(DateTimeOffset now, long events)
    {
        var second = now.ToUnixTimeSeconds();
        var slot = (int)(second % WindowSeconds);
        lock (gate)
        {
            // A bucket last used a minute or more ago starts again from zero.
            if (seconds[slot] != second)
            {
                seconds[slot] = second;
                counts[slot] = 0;
            }

            counts[slot] += events;
        }
    }

    /// <summary>Events in the minute up to <paramref name="now"/> (this second included), per second.</summary>
    public double PerSecond(DateTimeOffset now)
    {
        var second = now.ToUnixTimeSeconds();
        long total = 0;
        lock (gate)
        {
            for (var i = 0; i < WindowSeconds; i++)
            {
                if (seconds[i] > second - WindowSeconds && seconds[i] <= second)
                {
                    total += counts[i];
                }
            }
        }

        return total / (double)WindowSeconds;
    }
}
