using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Upswing.Common;
using Upswing.Operations;

namespace Upswing.Benchmarks;

/// <summary>Per-request costs that must stay allocation-free: ids and metric recording.</summary>
[MemoryDiagnoser]
public class SmallBenchmarks
{
    // Boxed once, as ASP.NET Core does for status codes, so the benchmark measures the exporter, not boxing.
    private static readonly object Status200 = 200;
    private readonly Meter meter = new("Upswing.Bench");
    private Counter<long> counter = null!;
    private Histogram<double> histogram = null!;
    private PrometheusMetrics metrics = null!;

    [GlobalSetup]
    public void Setup()
    {
        metrics = new PrometheusMetrics(["Upswing.Bench"]);
        counter = meter.CreateCounter<long>("bench.requests");
        histogram = meter.CreateHistogram<double>("bench.duration", "s");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        metrics.Dispose();
        meter.Dispose();
    }

    [Benchmark(Description = "Ids.New (monotonic v7 GUID)")]
    public Guid NewId() => Ids.New(TimeProvider.System);

    [Benchmark(Description = "counter.Add with 3 tags, exported")]
    public void Count() => counter.Add(1, new("route", "/api/v1/keys"), new("method", "GET"), new("status", Status200));

    [Benchmark(Description = "histogram.Record with 3 tags, exported")]
    public void Record() => histogram.Record(0.0042, new("route", "/api/v1/keys"), new("method", "GET"), new("status", Status200));
}
