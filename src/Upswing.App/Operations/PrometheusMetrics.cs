using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;

namespace Upswing.Operations;

/// <summary>Aggregates the runtime's meters and renders them in the Prometheus text exposition format (version 0.0.4).</summary>
/// <remarks>
/// Create one per process (the listener sees every meter in it), keep it for the process's lifetime and call
/// <see cref="Render"/> from the scrape endpoint. Recording is lock-free and allocates only when a new tag set is first seen.
/// </remarks>
public sealed class PrometheusMetrics : IDisposable
{
    /// <summary>The Content-Type a scrape endpoint should answer with.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    // Prometheus' and OpenTelemetry's usual defaults: a latency ladder for seconds, a generic ladder otherwise.
    private static readonly double[] SecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
    private static readonly double[] DefaultBuckets = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    private readonly HashSet<string> _meterNames;
    private readonly MeterListener _listener;
    // Keyed by the Prometheus family name rather than by Instrument: hosts built through IMeterFactory (one per test server,
    // say) publish equal instruments on separate Meter objects, and Prometheus rejects a family declared twice.
    private readonly ConcurrentDictionary<string, Family> _families = new(StringComparer.Ordinal);
    private readonly Lock _renderLock = new();
    private readonly double _processStartSeconds;
    private volatile bool _disposed;

    /// <summary>Starts listening to every instrument, present and future, whose <see cref="Meter.Name"/> is in <paramref name="meterNames"/>.</summary>
    public PrometheusMetrics(IEnumerable<string> meterNames)
    {
        ArgumentNullException.ThrowIfNull(meterNames);
        _meterNames = new HashSet<string>(meterNames, StringComparer.Ordinal);
        using (var process = Process.GetCurrentProcess())
        {
            _processStartSeconds = (process.StartTime.ToUniversalTime() - DateTime.UnixEpoch).TotalSeconds;
        }

        _listener = new MeterListener { InstrumentPublished = OnInstrumentPublished };
        Listen<byte>();
        Listen<short>();
        Listen<int>();
        Listen<long>();
        Listen<float>();
        Listen<double>();
        Listen<decimal>();
        _listener.Start();
    }

    private enum Kind { Counter, UpDownCounter, ObservedCounter, Gauge, Histogram }

    /// <summary>Collects the observable instruments and renders every series seen so far.</summary>
    public string Render()
    {
        // Serialised so two scrapes don't interleave observable callbacks, which need not be thread-safe.
        lock (_renderLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _listener.RecordObservableInstruments();

            var output = new StringBuilder(8192);
            output.Append("# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n")
                .Append("# TYPE process_start_time_seconds gauge\n")
                .Append("process_start_time_seconds ").Append(Format(_processStartSeconds)).Append('\n');
            foreach (var family in _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal))
                family.Render(output);

            return output.ToString();
        }
    }

    /// <summary>Stops listening; the exporter cannot render afterwards.</summary>
    public void Dispose()
    {
        _disposed = true;
        _listener.Dispose();
    }

    private void Listen<T>() where T : struct, INumberBase<T> =>
        _listener.SetMeasurementEventCallback<T>(static (_, value, tags, state) => ((Family)state!).Record(double.CreateTruncating(value), tags));

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (!_meterNames.Contains(instrument.Meter.Name) || KindOf(instrument) is not { } kind) return;

        var family = _families.GetOrAdd(
            FamilyName(instrument.Name, instrument.Unit, kind is Kind.Counter or Kind.ObservedCounter),
            static (name, arg) => new Family(name, arg.kind, arg.instrument),
            (kind, instrument));
        // A same-named instrument of another kind can't share the family: dropping it beats an exposition Prometheus rejects.
        if (family.Kind == kind) listener.EnableMeasurementEvents(instrument, family);
    }

    private static Kind? KindOf(Instrument instrument)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType) return null;

        var definition = type.GetGenericTypeDefinition();
        return definition == typeof(Counter<>) ? Kind.Counter
            : definition == typeof(UpDownCounter<>) ? Kind.UpDownCounter
            : definition == typeof(ObservableCounter<>) ? Kind.ObservedCounter
            : definition == typeof(Histogram<>) ? Kind.Histogram
            : definition == typeof(Gauge<>) || definition == typeof(ObservableGauge<>) || definition == typeof(ObservableUpDownCounter<>) ? Kind.Gauge
            : null;
    }

    private static string FamilyName(string instrumentName, string? unit, bool monotonic)
    {
        var text = new DefaultInterpolatedStringHandler(0, 0, CultureInfo.InvariantCulture, stackalloc char[128]);
        AppendName(ref text, instrumentName, allowColon: true);
        var name = text.ToStringAndClear();
        // Strip first so that a counter already named "_total" still gets its unit before the suffix, not after it.
        if (monotonic && name.EndsWith("_total", StringComparison.Ordinal)) name = name[..^"_total".Length];
        var suffix = UnitSuffix(unit);
        if (suffix.Length > 0 && !name.EndsWith("_" + suffix, StringComparison.Ordinal)) name += "_" + suffix;
        return monotonic ? name + "_total" : name;
    }

    private static string UnitSuffix(string? unit) => unit switch
    {
        null or "" or "1" => "",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "min" => "minutes",
        "h" => "hours",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "%" => "percent",
        // UCUM annotations such as {request} say what is counted; Prometheus leaves them out of the name.
        _ when unit.Contains('{', StringComparison.Ordinal) => "",
        _ => Sanitised(unit),
    };

    private static string Sanitised(string unit)
    {
        var text = new DefaultInterpolatedStringHandler(0, 0, CultureInfo.InvariantCulture, stackalloc char[32]);
        AppendName(ref text, unit, allowColon: false);
        return text.ToStringAndClear();
    }

    // Metric names may hold colons, label names may not; neither may start with a digit.
    private static void AppendName(ref DefaultInterpolatedStringHandler text, ReadOnlySpan<char> name, bool allowColon)
    {
        if (name.IsEmpty || char.IsAsciiDigit(name[0])) text.AppendLiteral("_");
        foreach (var c in name)
            text.AppendFormatted(char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':') ? c : '_');
    }

    private static readonly SearchValues<char> LabelSpecials = SearchValues.Create("\\\"\n");

    private static void AppendEscaped(ref DefaultInterpolatedStringHandler text, ReadOnlySpan<char> value)
    {
        int index;
        while ((index = value.IndexOfAny(LabelSpecials)) >= 0)
        {
            text.AppendFormatted(value[..index]);
            text.AppendLiteral(value[index] switch { '\n' => "\\n", '"' => "\\\"", _ => "\\\\" });
            value = value[(index + 1)..];
        }

        text.AppendFormatted(value);
    }

    private static string Format(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    // Holds one family's series. The key is the rendered label list (a="x",b="y"), so rendering needs no second pass over tags.
    private sealed class Family
    {
        // Beyond this, tags are almost certainly unbounded (raw paths, ids); fold them as OpenTelemetry does instead of growing without end.
        internal const int MaxSeries = 2000;
        private const string OverflowKey = "otel_metric_overflow=\"true\"";

        private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, Series>.AlternateLookup<ReadOnlySpan<char>> _lookup;
        private readonly double[]? _bounds;
        private readonly string _help;

        public Family(string name, Kind kind, Instrument instrument)
        {
            Name = name;
            Kind = kind;
            // Without a description the original dotted name is the most useful help: it is what the docs and dashboards call it.
            _help = (string.IsNullOrEmpty(instrument.Description) ? instrument.Name : instrument.Description).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
            _lookup = _series.GetAlternateLookup<ReadOnlySpan<char>>();
            if (kind == Kind.Histogram)
                _bounds = AdvisedBounds(instrument) ?? (instrument.Unit == "s" ? SecondsBuckets : DefaultBuckets);
        }

        public string Name { get; }

        public Kind Kind { get; }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var series = GetSeries(tags);
            switch (Kind)
            {
                case Kind.Counter or Kind.UpDownCounter:
                    Add(ref series.Value, value);
                    break;
                case Kind.Histogram:
                    // Buckets are "less than or equal", which is exactly what BinarySearch's exact-match index gives; NaN counts only in +Inf.
                    var index = double.IsNaN(value) ? _bounds!.Length : Array.BinarySearch(_bounds!, value);
                    Interlocked.Increment(ref series.Buckets![index < 0 ? ~index : index]);
                    Add(ref series.Value, value);
                    break;
                default:
                    // Observable counters report the cumulative total themselves, so they keep the last value like gauges.
                    Volatile.Write(ref series.Value, value);
                    break;
            }
        }

        public void Render(StringBuilder output)
        {
            if (_series.IsEmpty) return;

            output.Append("# HELP ").Append(Name).Append(' ').Append(_help).Append('\n');
            output.Append("# TYPE ").Append(Name).Append(Kind switch
            {
                Kind.Counter or Kind.ObservedCounter => " counter\n",
                Kind.Histogram => " histogram\n",
                _ => " gauge\n",
            });
            foreach (var (labels, series) in _series.OrderBy(pair => pair.Key, StringComparer.Ordinal))
            {
                if (_bounds is null)
                {
                    WriteSample(output, Name, labels, null, Volatile.Read(ref series.Value));
                    continue;
                }

                // Count is derived from the same bucket snapshot so that +Inf and _count always agree, as Prometheus requires.
                long cumulative = 0;
                for (var i = 0; i < series.Buckets!.Length; i++)
                {
                    cumulative += Volatile.Read(ref series.Buckets[i]);
                    WriteSample(output, Name + "_bucket", labels, i < _bounds.Length ? Format(_bounds[i]) : "+Inf", cumulative);
                }

                WriteSample(output, Name + "_sum", labels, null, Volatile.Read(ref series.Value));
                WriteSample(output, Name + "_count", labels, null, cumulative);
            }
        }

        private Series GetSeries(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.IsEmpty) return _series.TryGetValue("", out var untagged) ? untagged : AddSeries("");

            // Fast path: a tag set seen before, found by a fingerprint of its keys and values and confirmed by comparing
            // them, so the label text is built only on a first sighting. Tags of other value types take the slow path.
            var fingerprint = Fingerprint(tags);
            if (fingerprint is { } print && _recent.TryGetValue(print, out var recent) && recent.Matches(tags)) return recent.Series;

            var series = SeriesByLabels(tags);
            if (fingerprint is { } key && Volatile.Read(ref _recentCount) < MaxSeries * 2 && _recent.TryAdd(key, new RecentTags(tags.ToArray(), series)))
                Interlocked.Increment(ref _recentCount);

            return series;
        }

        // Tag sets already resolved to their series, by fingerprint; bounded like the series themselves.
        private readonly ConcurrentDictionary<long, RecentTags> _recent = new();
        private int _recentCount;

        private static long? Fingerprint(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var hash = new HashCode();
            foreach (var (key, value) in tags)
            {
                hash.Add(key.GetHashCode(StringComparison.Ordinal));
                switch (value)
                {
                    case null: hash.Add(0); break;
                    case string text: hash.Add(text.GetHashCode(StringComparison.Ordinal)); break;
                    case int number: hash.Add(number); break;
                    case long number: hash.Add(number); break;
                    case bool flag: hash.Add(flag); break;
                    default: return null;
                }
            }

            return ((long)tags.Length << 32) ^ (uint)hash.ToHashCode();
        }

        private sealed record RecentTags(KeyValuePair<string, object?>[] Tags, Series Series)
        {
            public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> tags)
            {
                if (tags.Length != Tags.Length) return false;
                for (var i = 0; i < tags.Length; i++)
                {
                    if (!string.Equals(tags[i].Key, Tags[i].Key, StringComparison.Ordinal) || !Equals(tags[i].Value, Tags[i].Value)) return false;
                }

                return true;
            }
        }

        private Series SeriesByLabels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            // Sorting indices by key makes {a,b} and {b,a} one series without copying the tags.
            Span<int> order = tags.Length <= 32 ? stackalloc int[tags.Length] : new int[tags.Length];
            for (var i = 0; i < order.Length; i++)
            {
                var j = i;
                for (; j > 0 && string.CompareOrdinal(tags[order[j - 1]].Key, tags[i].Key) > 0; j--)
                    order[j] = order[j - 1];

                order[j] = i;
            }

            Span<char> scratch = stackalloc char[64];
            var text = new DefaultInterpolatedStringHandler(0, 0, CultureInfo.InvariantCulture, stackalloc char[256]);
            foreach (var i in order)
            {
                if (text.Text.Length > 0) text.AppendLiteral(",");
                AppendName(ref text, tags[i].Key, allowColon: false);
                text.AppendLiteral("=\"");
                switch (tags[i].Value)
                {
                    case null:
                        break;
                    case string s:
                        AppendEscaped(ref text, s);
                        break;
                    case bool b:
                        text.AppendLiteral(b ? "true" : "false");
                        break;
                    case ISpanFormattable f when f.TryFormat(scratch, out var written, default, CultureInfo.InvariantCulture):
                        AppendEscaped(ref text, scratch[..written]);
                        break;
                    case var other:
                        AppendEscaped(ref text, other.ToString());
                        break;
                }

                text.AppendLiteral("\"");
            }

            // The span lookup is what keeps a known tag set from allocating; only a first sighting pays for the string.
            var series = _lookup.TryGetValue(text.Text, out var found) ? found : AddSeries(text.Text.ToString());
            text.Clear();
            return series;
        }

        private Series AddSeries(string key)
        {
            // Count takes every lock of the dictionary, so it is consulted only on this rare path.
            if (key.Length > 0 && _series.Count >= MaxSeries && !_series.ContainsKey(key)) key = OverflowKey;
            return _series.GetOrAdd(key, static (_, buckets) => new Series(buckets), _bounds is null ? 0 : _bounds.Length + 1);
        }

        private static double[]? AdvisedBounds(Instrument instrument) => instrument switch
        {
            Instrument<byte> i => ToDoubles(i.Advice?.HistogramBucketBoundaries),
            Instrument<short> i => ToDoubles(i.Advice?.HistogramBucketBoundaries),
            Instrument<int> i => ToDoubles(i.Advice?.HistogramBucketBoundaries),
            Instrument<long> i => ToDoubles(i.Advice?.HistogramBucketBoundaries),
            Instrument<float> i => ToDoubles(i.Advice?.HistogramBucketBoundaries),
            Instrument<double> i => ToDoubles(i.Advice?.HistogramBucketBoundaries),
            Instrument<decimal> i => ToDoubles(i.Advice?.HistogramBucketBoundaries),
            _ => null,
        };

        // InstrumentAdvice already rejects unsorted boundaries, so they can go straight into BinarySearch.
        private static double[]? ToDoubles<T>(IReadOnlyList<T>? bounds) where T : struct, INumberBase<T> =>
            bounds is null || bounds.Count == 0 ? null : [.. bounds.Select(double.CreateTruncating)];

        private static void Add(ref double target, double value)
        {
            var current = Volatile.Read(ref target);
            while (true)
            {
                var seen = Interlocked.CompareExchange(ref target, current + value, current);
                // Compared as bits: NaN != NaN would otherwise spin forever once a NaN has been added.
                if (BitConverter.DoubleToInt64Bits(seen) == BitConverter.DoubleToInt64Bits(current)) return;
                current = seen;
            }
        }

        private static void WriteSample(StringBuilder output, string name, string labels, string? le, double value)
        {
            output.Append(name);
            if (labels.Length > 0 || le is not null)
            {
                output.Append('{').Append(labels);
                if (le is not null) output.Append(labels.Length > 0 ? ",le=\"" : "le=\"").Append(le).Append('"');
                output.Append('}');
            }

            output.Append(' ').Append(Format(value)).Append('\n');
        }
    }

    private sealed class Series(int bucketCount)
    {
        // The running sum for counters and histograms, the last value for everything else.
        public double Value;
        public readonly long[]? Buckets = bucketCount > 0 ? new long[bucketCount] : null;
    }
}
