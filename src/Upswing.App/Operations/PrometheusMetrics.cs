namespace Upswing.Operations;

// PLACEHOLDER until the MeterListener exporter lands; never committed.
public sealed class PrometheusMetrics(IEnumerable<string> meterNames) : IDisposable
{
    public string Render() => string.Join(",", meterNames);

    public void Dispose()
    {
    }
}
