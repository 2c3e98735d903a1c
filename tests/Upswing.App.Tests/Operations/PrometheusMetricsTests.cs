using System.Diagnostics.Metrics;
using System.Globalization;
using Upswing.Operations;

namespace Upswing.App.Tests.Operations;

public sealed class PrometheusMetricsTests
{
    [Fact]
    public void Counter_WithTags_WritesOneSeriesPerTagSet()
    {
        using var meter = new Meter(nameof(Counter_WithTags_WritesOneSeriesPerTagSet));
        using var exporter = new PrometheusMetrics([meter.Name]);
        var counter = meter.CreateCounter<long>("upswing.jobs.completed", "{job}", "Jobs that finished.");

        counter.Add(2, new KeyValuePair<string, object?>("job.kind", "import"));
        counter.Add(3, new KeyValuePair<string, object?>("job.kind", "import"));
        counter.Add(1, new KeyValuePair<string, object?>("job.kind", "export"));

        var lines = Lines(exporter.Render());
        Assert.Contains("# HELP upswing_jobs_completed_total Jobs that finished.", lines);
        Assert.Contains("# TYPE upswing_jobs_completed_total counter", lines);
        Assert.Contains("upswing_jobs_completed_total{job_kind=\"import\"} 5", lines);
        Assert.Contains("upswing_jobs_completed_total{job_kind=\"export\"} 1", lines);
        Assert.Equal(2, lines.Count(l => l.StartsWith("upswing_jobs_completed_total{", StringComparison.Ordinal)));
        Assert.Single(lines, l => l.StartsWith("# TYPE upswing_jobs_completed_total ", StringComparison.Ordinal));
    }

    [Fact]
    public void Counter_TagsInDifferentOrder_AggregateIntoOneSeries()
    {
        using var meter = new Meter(nameof(Counter_TagsInDifferentOrder_AggregateIntoOneSeries));
        using var exporter = new PrometheusMetrics([meter.Name]);
        var counter = meter.CreateCounter<int>("requests");

        counter.Add(1, new("method", "GET"), new("status", 200));
        counter.Add(1, new("status", 200), new("method", "GET"));

        var lines = Lines(exporter.Render());
        Assert.Contains("requests_total{method=\"GET\",status=\"200\"} 2", lines);
        Assert.Single(lines, l => l.StartsWith("requests_total{", StringComparison.Ordinal));
    }

    [Fact]
    public void Histogram_WithSecondsUnit_WritesCumulativeBucketsSumAndCount()
    {
        using var meter = new Meter(nameof(Histogram_WithSecondsUnit_WritesCumulativeBucketsSumAndCount));
        using var exporter = new PrometheusMetrics([meter.Name]);
        var histogram = meter.CreateHistogram<double>("http.server.request.duration", "s", "Duration of requests.");
        var route = new KeyValuePair<string, object?>("http.route", "/api/things");

        histogram.Record(0.003, route);
        histogram.Record(0.01, route); // exactly on a boundary: counts in that bucket ("less than or equal")
        histogram.Record(0.2, route);
        histogram.Record(30, route);

        var lines = Lines(exporter.Render());
        Assert.Contains("# TYPE http_server_request_duration_seconds histogram", lines);
        Assert.Contains("http_server_request_duration_seconds_bucket{http_route=\"/api/things\",le=\"0.005\"} 1", lines);
        Assert.Contains("http_server_request_duration_seconds_bucket{http_route=\"/api/things\",le=\"0.01\"} 2", lines);
        Assert.Contains("http_server_request_duration_seconds_bucket{http_route=\"/api/things\",le=\"0.1\"} 2", lines);
        Assert.Contains("http_server_request_duration_seconds_bucket{http_route=\"/api/things\",le=\"0.25\"} 3", lines);
        Assert.Contains("http_server_request_duration_seconds_bucket{http_route=\"/api/things\",le=\"10\"} 3", lines);
        Assert.Contains("http_server_request_duration_seconds_bucket{http_route=\"/api/things\",le=\"+Inf\"} 4", lines);
        Assert.Contains("http_server_request_duration_seconds_count{http_route=\"/api/things\"} 4", lines);
        Assert.Equal(30.213, Value(lines, "http_server_request_duration_seconds_sum{http_route=\"/api/things\"}"), 9);
        // 14 default boundaries for seconds plus +Inf.
        Assert.Equal(15, lines.Count(l => l.StartsWith("http_server_request_duration_seconds_bucket{", StringComparison.Ordinal)));
    }

    [Fact]
    public void Histogram_WithAdvice_UsesAdvisedBoundaries()
    {
        using var meter = new Meter(nameof(Histogram_WithAdvice_UsesAdvisedBoundaries));
        using var exporter = new PrometheusMetrics([meter.Name]);
        var histogram = meter.CreateHistogram("upswing.batch.size", "{item}", "Items per batch.",
            tags: null, advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [10, 100] });

        histogram.Record(5);
        histogram.Record(50);
        histogram.Record(500);

        var lines = Lines(exporter.Render());
        Assert.Equal(
            ["upswing_batch_size_bucket{le=\"10\"} 1", "upswing_batch_size_bucket{le=\"100\"} 2", "upswing_batch_size_bucket{le=\"+Inf\"} 3"],
            lines.Where(l => l.StartsWith("upswing_batch_size_bucket", StringComparison.Ordinal)));
        Assert.Contains("upswing_batch_size_sum 555", lines);
        Assert.Contains("upswing_batch_size_count 3", lines);
    }

    [Fact]
    public void Histogram_WithoutSecondsUnit_UsesGenericDefaultBoundaries()
    {
        using var meter = new Meter(nameof(Histogram_WithoutSecondsUnit_UsesGenericDefaultBoundaries));
        using var exporter = new PrometheusMetrics([meter.Name]);
        meter.CreateHistogram<long>("upswing.payload.size", "By").Record(300);

        var lines = Lines(exporter.Render());
        Assert.Contains("upswing_payload_size_bytes_bucket{le=\"0\"} 0", lines);
        Assert.Contains("upswing_payload_size_bytes_bucket{le=\"250\"} 0", lines);
        Assert.Contains("upswing_payload_size_bytes_bucket{le=\"500\"} 1", lines);
        Assert.Contains("upswing_payload_size_bytes_bucket{le=\"10000\"} 1", lines);
        Assert.Equal(16, lines.Count(l => l.StartsWith("upswing_payload_size_bytes_bucket", StringComparison.Ordinal)));
    }

    [Fact]
    public void ObservableGauge_IsReadAtRenderTime()
    {
        using var meter = new Meter(nameof(ObservableGauge_IsReadAtRenderTime));
        using var exporter = new PrometheusMetrics([meter.Name]);
        var depth = 3;
        meter.CreateObservableGauge("upswing.queue.depth", () => new Measurement<int>(depth, new KeyValuePair<string, object?>("queue", "mail")), "{message}");

        Assert.Contains("upswing_queue_depth{queue=\"mail\"} 3", Lines(exporter.Render()));
        depth = 7;
        var lines = Lines(exporter.Render());
        Assert.Contains("# TYPE upswing_queue_depth gauge", lines);
        Assert.Contains("upswing_queue_depth{queue=\"mail\"} 7", lines);
    }

    [Fact]
    public void ObservableCounter_KeepsLastObservedTotal_NotTheirSum()
    {
        using var meter = new Meter(nameof(ObservableCounter_KeepsLastObservedTotal_NotTheirSum));
        using var exporter = new PrometheusMetrics([meter.Name]);
        var total = 1.5;
        meter.CreateObservableCounter("upswing.cpu.time", () => total, "s");

        exporter.Render();
        total = 4.25;
        var lines = Lines(exporter.Render());

        Assert.Contains("# TYPE upswing_cpu_time_seconds_total counter", lines);
        Assert.Contains("upswing_cpu_time_seconds_total 4.25", lines);
    }

    [Fact]
    public void UpDownCounter_CanGoNegative()
    {
        using var meter = new Meter(nameof(UpDownCounter_CanGoNegative));
        using var exporter = new PrometheusMetrics([meter.Name]);
        var active = meter.CreateUpDownCounter<long>("http.server.active_requests", "{request}");

        active.Add(1);
        active.Add(-3);

        var lines = Lines(exporter.Render());
        Assert.Contains("# HELP http_server_active_requests http.server.active_requests", lines); // no description: the name stands in
        Assert.Contains("# TYPE http_server_active_requests gauge", lines);
        Assert.Contains("http_server_active_requests -2", lines);
    }

    [Fact]
    public void Gauge_KeepsLastRecordedValue()
    {
        using var meter = new Meter(nameof(Gauge_KeepsLastRecordedValue));
        using var exporter = new PrometheusMetrics([meter.Name]);
        var gauge = meter.CreateGauge<double>("upswing.temperature", "Cel");

        gauge.Record(21.5);
        gauge.Record(19.25);

        Assert.Contains("upswing_temperature_Cel 19.25", Lines(exporter.Render()));
    }

    [Fact]
    public void LabelValues_AreEscaped()
    {
        using var meter = new Meter(nameof(LabelValues_AreEscaped));
        using var exporter = new PrometheusMetrics([meter.Name]);
        var counter = meter.CreateCounter<int>("errors", description: "Errors with \\ and\nnewline.");

        counter.Add(1, new KeyValuePair<string, object?>("message", "say \"hi\"\\\nbye"));

        var lines = Lines(exporter.Render());
        Assert.Contains("# HELP errors_total Errors with \\\\ and\\nnewline.", lines);
        Assert.Contains("errors_total{message=\"say \\\"hi\\\"\\\\\\nbye\"} 1", lines);
    }

    [Fact]
    public void Names_AreSanitised_AndSuffixesNotDoubled()
    {
        using var meter = new Meter(nameof(Names_AreSanitised_AndSuffixesNotDoubled));
        using var exporter = new PrometheusMetrics([meter.Name]);

        meter.CreateCounter<int>("upswing.cache-hits/total:ratio").Add(1, new KeyValuePair<string, object?>("cache.name-x", "a"), new("1st", "b"));
        meter.CreateCounter<int>("upswing.logins_total").Add(1);
        meter.CreateHistogram<double>("upswing.job.duration_seconds", "s").Record(1);
        meter.CreateCounter<long>("upswing.io_bytes", "By").Add(1);

        var lines = Lines(exporter.Render());
        Assert.Contains("upswing_cache_hits_total:ratio_total{_1st=\"b\",cache_name_x=\"a\"} 1", lines);
        Assert.Contains("upswing_logins_total 1", lines);
        Assert.Contains("upswing_job_duration_seconds_count 1", lines);
        Assert.Contains("upswing_io_bytes_total 1", lines);
    }

    [Fact]
    public void Counter_ConcurrentIncrements_AreNotLost()
    {
        using var meter = new Meter(nameof(Counter_ConcurrentIncrements_AreNotLost));
        using var exporter = new PrometheusMetrics([meter.Name]);
        var counter = meter.CreateCounter<double>("upswing.work");
        var histogram = meter.CreateHistogram<double>("upswing.latency", "s");

        // Many more than 10,000: with few cores a lost update needs enough contention to show up at all.
        Parallel.For(0, 200_000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            counter.Add(1, new KeyValuePair<string, object?>("shard", i % 2));
            histogram.Record(0.5);
        });

        var lines = Lines(exporter.Render());
        Assert.Contains("upswing_work_total{shard=\"0\"} 100000", lines);
        Assert.Contains("upswing_work_total{shard=\"1\"} 100000", lines);
        Assert.Contains("upswing_latency_seconds_count 200000", lines);
        Assert.Contains("upswing_latency_seconds_bucket{le=\"0.5\"} 200000", lines);
        Assert.Contains("upswing_latency_seconds_sum 100000", lines);
    }

    [Fact]
    public void RememberedTagSets_NeverMixUpSeries()
    {
        using var meter = new Meter(nameof(RememberedTagSets_NeverMixUpSeries));
        using var exporter = new PrometheusMetrics([meter.Name]);
        var counter = meter.CreateCounter<long>("hits");
        object?[] values = ["a", "b", "", null, 1, 2, 1L, true, false, 1.5];
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < values.Length; i++)
            {
                counter.Add(i + 1, new("v", values[i]), new("k", "x"));
                // Same value under another key, and the same pair in the other order (one series with the first).
                counter.Add(100, new("w", values[i]), new("k", "x"));
                counter.Add(i + 1, new("k", "x"), new("v", values[i]));
            }
        }

        var lines = Lines(exporter.Render());
        // Each value i adds 2 × (i + 1) per round. Values that render alike share a series: "" and null, int 1 and long 1.
        Assert.Contains("hits_total{k=\"x\",v=\"a\"} 6", lines);
        Assert.Contains("hits_total{k=\"x\",v=\"b\"} 12", lines);
        Assert.Contains("hits_total{k=\"x\",v=\"\"} 42", lines);
        Assert.Contains("hits_total{k=\"x\",v=\"1\"} 72", lines);
        Assert.Contains("hits_total{k=\"x\",v=\"2\"} 36", lines);
        Assert.Contains("hits_total{k=\"x\",v=\"true\"} 48", lines);
        Assert.Contains("hits_total{k=\"x\",v=\"false\"} 54", lines);
        Assert.Contains("hits_total{k=\"x\",v=\"1.5\"} 60", lines);
        Assert.Contains("hits_total{k=\"x\",w=\"a\"} 300", lines);
        Assert.Contains("hits_total{k=\"x\",w=\"1\"} 600", lines);
    }

    [Fact]
    public void Recording_AKnownTagSet_DoesNotAllocate()
    {
        using var meter = new Meter(nameof(Recording_AKnownTagSet_DoesNotAllocate));
        using var exporter = new PrometheusMetrics([meter.Name]);
        var counter = meter.CreateCounter<int>("requests");
        var histogram = meter.CreateHistogram<double>("duration", "s");
        object status = 200; // boxed once here, so only the exporter's own allocations are measured
        for (var i = 0; i < 100; i++)
            Record();

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
            Record();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Anything per measurement would be at least 10,000 × 24 bytes; the slack only tolerates runtime noise.
        Assert.InRange(allocated, 0, 1_000);
        Assert.Contains("requests_total{method=\"GET\",route=\"/x\",status=\"200\"} 10100", Lines(exporter.Render()));

        void Record()
        {
            counter.Add(1, new("route", "/x"), new("status", status), new("method", "GET"));
            histogram.Record(0.02, new("status", status), new("route", "/x"));
        }
    }

    [Fact]
    public void AllNumericTypes_AreRecorded()
    {
        using var meter = new Meter(nameof(AllNumericTypes_AreRecorded));
        using var exporter = new PrometheusMetrics([meter.Name]);

        meter.CreateCounter<byte>("b").Add(1);
        meter.CreateCounter<short>("s").Add(2);
        meter.CreateCounter<int>("i").Add(3);
        meter.CreateCounter<long>("l").Add(4);
        meter.CreateCounter<float>("f").Add(0.5f);
        meter.CreateCounter<double>("d").Add(0.25);
        meter.CreateCounter<decimal>("m").Add(1.75m);

        var lines = Lines(exporter.Render());
        Assert.Contains("b_total 1", lines);
        Assert.Contains("s_total 2", lines);
        Assert.Contains("i_total 3", lines);
        Assert.Contains("l_total 4", lines);
        Assert.Contains("f_total 0.5", lines);
        Assert.Contains("d_total 0.25", lines);
        Assert.Contains("m_total 1.75", lines);
    }

    [Fact]
    public void Instruments_FromUnlistedMeters_AreIgnored()
    {
        using var listened = new Meter(nameof(Instruments_FromUnlistedMeters_AreIgnored));
        using var other = new Meter(nameof(Instruments_FromUnlistedMeters_AreIgnored) + ".Other");
        using var exporter = new PrometheusMetrics([listened.Name]);

        listened.CreateCounter<int>("seen").Add(1);
        other.CreateCounter<int>("unseen").Add(1);
        other.CreateObservableGauge("unseen.gauge", () => 1);

        var output = exporter.Render();
        Assert.Contains("seen_total 1\n", output, StringComparison.Ordinal);
        Assert.DoesNotContain("unseen", output, StringComparison.Ordinal);
    }

    [Fact]
    public void SameInstrument_OnTwoMeterInstances_RendersOneFamily()
    {
        // What two hosts built through IMeterFactory in one process look like.
        var name = nameof(SameInstrument_OnTwoMeterInstances_RendersOneFamily);
        using var first = new Meter(name);
        using var second = new Meter(name);
        using var exporter = new PrometheusMetrics([name]);

        first.CreateCounter<int>("hits").Add(1);
        second.CreateCounter<int>("hits").Add(2);

        var lines = Lines(exporter.Render());
        Assert.Single(lines, l => l == "# TYPE hits_total counter");
        Assert.Contains("hits_total 3", lines);
    }

    [Fact]
    public void SameName_OfAnotherKind_IsDroppedRatherThanMixedIn()
    {
        using var meter = new Meter(nameof(SameName_OfAnotherKind_IsDroppedRatherThanMixedIn));
        using var exporter = new PrometheusMetrics([meter.Name]);

        meter.CreateHistogram<int>("upswing.size").Record(5);
        meter.CreateGauge<int>("upswing.size").Record(1000);

        var lines = Lines(exporter.Render());
        Assert.Single(lines, l => l.StartsWith("# TYPE upswing_size ", StringComparison.Ordinal));
        Assert.Contains("upswing_size_count 1", lines);
        Assert.Contains("upswing_size_sum 5", lines);
    }

    [Fact]
    public void Counter_BeyondSeriesLimit_FoldsIntoOverflowSeries()
    {
        using var meter = new Meter(nameof(Counter_BeyondSeriesLimit_FoldsIntoOverflowSeries));
        using var exporter = new PrometheusMetrics([meter.Name]);
        var counter = meter.CreateCounter<int>("requests");

        for (var i = 0; i < 2010; i++)
        {
            counter.Add(1, new KeyValuePair<string, object?>("path", "/items/" + i.ToString(CultureInfo.InvariantCulture)));
        }

        var lines = Lines(exporter.Render());
        Assert.Equal(2001, lines.Count(l => l.StartsWith("requests_total{", StringComparison.Ordinal)));
        Assert.Contains("requests_total{otel_metric_overflow=\"true\"} 10", lines);
        Assert.Contains("requests_total{path=\"/items/0\"} 1", lines);
    }

    [Fact]
    public void ProcessStartTime_IsWritten()
    {
        using var exporter = new PrometheusMetrics([]);

        var lines = Lines(exporter.Render());

        Assert.Contains("# TYPE process_start_time_seconds gauge", lines);
        var start = Value(lines, "process_start_time_seconds");
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        Assert.InRange(start, now - 86_400 * 30, now + 1);
    }

    [Fact]
    public void Render_AfterDispose_Throws()
    {
        var exporter = new PrometheusMetrics([]);
        exporter.Dispose();
        exporter.Dispose();

        Assert.Throws<ObjectDisposedException>(() => exporter.Render());
    }

    [Fact]
    public void SystemRuntimeMeter_WritesDotnetSeries()
    {
        using var exporter = new PrometheusMetrics(["System.Runtime"]);
        GC.Collect();

        var output = exporter.Render();
        var lines = Lines(output);

        Assert.Contains("# TYPE dotnet_gc_collections_total counter", lines);
        Assert.True(Value(lines, "dotnet_gc_collections_total{gc_heap_generation=\"gen2\"}") >= 1);
        Assert.True(Value(lines, "dotnet_process_memory_working_set_bytes") > 0);
        Assert.True(Value(lines, "dotnet_gc_heap_total_allocated_bytes_total") > 0);
        Assert.Contains(lines, l => l.StartsWith("dotnet_process_cpu_time_seconds_total{cpu_mode=\"user\"} ", StringComparison.Ordinal));
    }

    private static string[] Lines(string output)
    {
        Assert.EndsWith("\n", output, StringComparison.Ordinal);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static double Value(string[] lines, string series)
    {
        var line = Assert.Single(lines, l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return double.Parse(line.AsSpan(series.Length + 1), CultureInfo.InvariantCulture);
    }
}
