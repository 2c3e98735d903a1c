using System.Text.Json;
using Upswing.Analytics;

namespace Upswing.App.Tests.Analytics;

public sealed class ExperimentMetricCalculatorTests
{
    private static readonly DateTimeOffset Exposed = new(2026, 11, 10, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void PercentileCap_CapsEachUnitAtTheQuantileOfAllUnitsValues()
    {
        var metric = Metric(MetricType.Sum, valueProperty: "amount", capping: new MetricCapping(MetricCappingType.Percentile, 0.5));
        var units = Enumerable.Range(0, 5).Select(i => new CalculatorUnit($"p{i}", 0, Exposed)).ToList();
        var amounts = new[] { 1.0, 2, 3, 4, 100 };

        var values = ExperimentMetricCalculator.Values(metric, units, p => [Event("Buy", Exposed.AddHours(1), $$"""{"amount": {{amounts[int.Parse(p[1..], System.Globalization.CultureInfo.InvariantCulture)]}}}""")], Now, pre: false);

        Assert.Equal([1.0, 2, 3, 3, 3], values);
    }

    [Theory]
    [InlineData(0.5, 2.5)]
    [InlineData(0.9, 3.7)]
    [InlineData(0.0, 1.0)]
    public void Quantile_InterpolatesBetweenOrderStatistics(double q, double expected) =>
        Assert.Equal(expected, ExperimentMetricCalculator.Quantile([4, 1, 3, 2], q), 12);

    [Theory]
    [InlineData("""{"plan": "pro"}""", "eq", "\"pro\"", true)]
    [InlineData("""{"plan": "free"}""", "eq", "\"pro\"", false)]
    [InlineData("""{}""", "eq", "\"pro\"", false)]
    [InlineData("""{}""", "neq", "\"pro\"", true)]
    [InlineData("""{"price": 10}""", "gt", "9", true)]
    [InlineData("""{"price": "10"}""", "gte", "10", true)]
    [InlineData("""{"price": 10}""", "lt", "10", false)]
    [InlineData("""{"plan": "pro"}""", "in", "[\"team\", \"pro\"]", true)]
    [InlineData("""{"url": "/checkout/done"}""", "contains", "\"checkout\"", true)]
    [InlineData("""{"vip": true}""", "eq", "true", true)]
    [InlineData("""{"count": 1}""", "eq", "\"1\"", false)]
    public void Filters_CompareTopLevelProperties(string properties, string op, string value, bool matches)
    {
        var filter = new MetricFilter(ExtractProperty(properties), Enum.Parse<MetricFilterOperator>(op, ignoreCase: true), JsonDocument.Parse(value).RootElement);

        Assert.Equal(matches, ExperimentMetricCalculator.Matches([filter], Event("X", Exposed, properties)));
    }

    [Fact]
    public void Binomial_CountsTheEndOfTheConversionWindow_ButNotASecondLater()
    {
        var metric = Metric(MetricType.Binomial, conversionWindowHours: 24);
        var unit = new CalculatorUnit("p", 0, Exposed);

        Assert.Equal(1, ExperimentMetricCalculator.Value(metric, unit, [Event("Buy", Exposed.AddHours(24))], Now, pre: false));
        Assert.Equal(0, ExperimentMetricCalculator.Value(metric, unit, [Event("Buy", Exposed.AddHours(24).AddSeconds(1))], Now, pre: false));
        Assert.Equal(0, ExperimentMetricCalculator.Value(metric, unit, [Event("Buy", Exposed.AddSeconds(-1))], Now, pre: false));
    }

    [Fact]
    public void Retention_CountsOnlyTheNthDayAfterExposure()
    {
        var metric = Metric(MetricType.Retention, retentionDay: 7);
        var unit = new CalculatorUnit("p", 0, Exposed);

        Assert.Equal(1, ExperimentMetricCalculator.Value(metric, unit, [Event("Buy", Exposed.AddDays(7))], Now, pre: false));
        Assert.Equal(0, ExperimentMetricCalculator.Value(metric, unit, [Event("Buy", Exposed.AddDays(8))], Now, pre: false));
        Assert.Equal(0, ExperimentMetricCalculator.Value(metric, unit, [Event("Buy", Exposed.AddDays(6))], Now, pre: false));
    }

    [Fact]
    public void Cuped_PrePeriodValue_CountsTheDaysBeforeExposureOnly()
    {
        var metric = Metric(MetricType.Count, cupedPreDays: 2);
        var unit = new CalculatorUnit("p", 0, Exposed);
        CalculatorEvent[] events = [Event("Buy", Exposed.AddDays(-3)), Event("Buy", Exposed.AddDays(-2)), Event("Buy", Exposed.AddMinutes(-1)), Event("Buy", Exposed)];

        Assert.Equal(2, ExperimentMetricCalculator.Value(metric, unit, events, Now, pre: true));
        Assert.Equal(1, ExperimentMetricCalculator.Value(metric, unit, events, Now, pre: false));
    }

    [Fact]
    public void RecomputeFrom_WithOnlyWindowedMetrics_ReachesBackAsFarAsTheLongestWindow()
    {
        var window = new RollupWindow(Guid.Empty, new DateOnly(2026, 11, 20), new DateOnly(2026, 11, 23), Now);
        var binomial = Metric(MetricType.Binomial, conversionWindowHours: 72);

        Assert.Equal(new DateOnly(2026, 11, 16), ExperimentRollups.RecomputeFrom([binomial], new Dictionary<string, MetricDto>(), window, Now, new DateOnly(2026, 11, 1)));
        Assert.Equal(new DateOnly(2026, 11, 1), ExperimentRollups.RecomputeFrom([Metric(MetricType.Count)], new Dictionary<string, MetricDto>(), window, Now, new DateOnly(2026, 11, 1)));
        // Stopped before the window: nothing outside the window can have changed.
        Assert.Equal(new DateOnly(2026, 11, 20), ExperimentRollups.RecomputeFrom([Metric(MetricType.Count)], new Dictionary<string, MetricDto>(), window, new DateTimeOffset(2026, 11, 5, 0, 0, 0, TimeSpan.Zero), new DateOnly(2026, 11, 1)));
    }

    [Fact]
    public void Compute_GroupsUnitsByVariationAndExposureDay_WithRatioCrossSums()
    {
        var revenue = Metric(MetricType.Sum, key: "revenue", valueProperty: "amount");
        var orders = Metric(MetricType.Count, key: "orders");
        var ratio = Metric(MetricType.Ratio, key: "aov", numerator: "revenue", denominator: "orders");
        var units = new[] { new CalculatorUnit("a", 1, Exposed), new CalculatorUnit("b", 1, Exposed.AddHours(1)), new CalculatorUnit("c", 1, Exposed.AddDays(1)) };
        var events = new Dictionary<string, CalculatorEvent[]>
        {
            ["a"] = [Event("Buy", Exposed.AddHours(1), """{"amount": 10}"""), Event("Buy", Exposed.AddHours(2), """{"amount": 30}""")],
            ["b"] = [Event("Buy", Exposed.AddHours(2), """{"amount": 5}""")],
            ["c"] = [],
        };

        var rows = ExperimentMetricCalculator.Compute("exp", [ratio], new Dictionary<string, MetricDto> { ["revenue"] = revenue, ["orders"] = orders }, units,
            p => events[p], Now, DateOnly.MinValue, DateOnly.MaxValue, Now);

        var first = Assert.Single(rows, r => r.Day == DateOnly.FromDateTime(Exposed.UtcDateTime));
        Assert.Equal((2L, 45.0, 40.0 * 40 + 25, 3.0, 4.0 + 1, (40.0 * 2) + 5), (first.Units, first.Sum, first.SumSquares, first.DenominatorSum!.Value, first.DenominatorSumSquares!.Value, first.SumProducts!.Value));
        Assert.Equal(1, Assert.Single(rows, r => r.Day != first.Day).Units);
    }

    private static string ExtractProperty(string json) => JsonDocument.Parse(json).RootElement.EnumerateObject().Select(p => p.Name).FirstOrDefault() ?? "plan";

    private static CalculatorEvent Event(string name, DateTimeOffset at, string? properties = null) => new(name, at, properties);

    private static MetricDto Metric(
        MetricType type, string key = "m", string? valueProperty = null, int? conversionWindowHours = null, int? retentionDay = null, MetricCapping? capping = null,
        int? cupedPreDays = null, string? numerator = null, string? denominator = null) =>
        new(Guid.Empty, key, key, null, type, type == MetricType.Ratio ? null : "Buy", valueProperty, [], conversionWindowHours, retentionDay, numerator, denominator,
            MetricDirection.Increase, false, capping, cupedPreDays, 1, Now, Now);
}
