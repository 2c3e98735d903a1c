using Upswing.Analytics;
using Upswing.Common.Http;

namespace Upswing.App.Tests.Analytics;

public sealed class VitalsTests
{
    private static readonly DateOnly Today = new(2026, 12, 2);

    [Theory]
    [InlineData(new[] { 1.0, 2, 3, 4 }, 0.75, 3.25)]        // numpy.percentile([1,2,3,4], 75) = 3.25
    [InlineData(new[] { 15.0, 20, 35, 40, 50 }, 0.4, 29.0)] // h = 1.6: 20 + 0.6 × 15
    [InlineData(new[] { 15.0, 20, 35, 40, 50 }, 0.5, 35.0)]
    [InlineData(new[] { 7.0 }, 0.75, 7.0)]
    [InlineData(new[] { 1.0, 9 }, 0.0, 1.0)]
    [InlineData(new[] { 1.0, 9 }, 1.0, 9.0)]
    [InlineData(new[] { 1.0, 9 }, 0.9, 8.2)]
    public void Percentile_InterpolatesLinearlyBetweenTheClosestRanks(double[] sorted, double p, double expected) =>
        Assert.Equal(expected, Vitals.Percentile(sorted, p), 1e-12);

    [Fact]
    public void Percentile_OfNoValues_Throws() => Assert.Throws<ArgumentOutOfRangeException>(() => Vitals.Percentile([], 0.75));

    [Theory]
    [InlineData("LCP", 2500, "good")]
    [InlineData("LCP", 2500.5, "needs-improvement")]
    [InlineData("LCP", 4000, "needs-improvement")]
    [InlineData("LCP", 4000.1, "poor")]
    [InlineData("INP", 200, "good")]
    [InlineData("INP", 500, "needs-improvement")]
    [InlineData("INP", 501, "poor")]
    [InlineData("CLS", 0.1, "good")]
    [InlineData("CLS", 0.25, "needs-improvement")]
    [InlineData("CLS", 0.26, "poor")]
    [InlineData("FCP", 1800, "good")]
    [InlineData("FCP", 3000, "needs-improvement")]
    [InlineData("FCP", 3001, "poor")]
    [InlineData("TTFB", 800, "good")]
    [InlineData("TTFB", 1800, "needs-improvement")]
    [InlineData("TTFB", 1801, "poor")]
    public void Rating_GoodUpToTheFirstThreshold_NeedsImprovementUpToTheSecond_ElsePoor(string metric, double value, string expected) =>
        Assert.Equal(expected, Vitals.Rating(metric, value));

    [Fact]
    public void Rating_OfAnUnknownMetric_IsNull() => Assert.Null(Vitals.Rating("FID", 10));

    [Fact]
    public void Filter_WithoutDates_IsTheLast30DaysToToday()
    {
        var filter = VitalsFilter.Parse(null, null, null, null, null, Today);

        Assert.Equal((Today.AddDays(-29), Today), (filter.Value!.From, filter.Value.To));
    }

    [Fact]
    public void Filter_ListsEveryInvalidField()
    {
        var filter = VitalsFilter.Parse("2026-13-01", "yesterday", "FID", "no-slash", "watch", Today);

        Assert.Equal(["device", "from", "metric", "path", "to"], filter.Failure!.Errors!.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Filter_FromAfterTo_IsInvalid() =>
        Assert.Equal(["from"], VitalsFilter.Parse("2026-12-02", "2026-12-01", null, null, null, Today).Failure!.Errors!.Keys);

    [Fact]
    public void Csv_HasAHeader_AndQuotesFieldsWithCommasQuotesAndLineBreaks()
    {
        var csv = Csv.Write([new VitalsDto(Today, "LCP", "/a,\"b\"", "mobile", 3, 1, 2.5, 3, "good")], VitalsCsv.Columns);

        Assert.Equal("day,metric,path,deviceClass,samples,p50,p75,p90,rating\r\n2026-12-02,LCP,\"/a,\"\"b\"\"\",mobile,3,1,2.5,3,good\r\n", csv);
        Assert.Equal("\"x\ny\"", Csv.Quote("x\ny"));
        Assert.Equal("plain", Csv.Quote("plain"));
    }
}
