namespace Upswing.Sdk;

/// <summary>
/// Exponential backoff with jitter: the n-th delay lies in [d/2, d] for d = initial·2ⁿ capped at max.
/// Jitter spreads the reconnects of many clients after a server restart instead of letting them arrive together.
/// </summary>
internal sealed class Backoff(TimeSpan initial, TimeSpan max)
{
    private int failures;

    public int Failures => failures;

    /// <summary>The delay before the next attempt; each call counts one more failure.</summary>
    public TimeSpan Next()
    {
        var exponent = Math.Min(failures, 30);
        failures++;
        var ceiling = Math.Min(initial.TotalMilliseconds * Math.Pow(2, exponent), max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ceiling / 2 + Random.Shared.NextDouble() * ceiling / 2);
    }

    /// <summary>After a healthy connection the next failure starts from the initial delay again.</summary>
    public void Reset() => failures = 0;
}
