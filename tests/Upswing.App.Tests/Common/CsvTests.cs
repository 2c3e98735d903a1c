using Microsoft.AspNetCore.Http;
using Upswing.Common.Http;

namespace Upswing.App.Tests.Common;

public sealed class CsvTests
{
    private sealed record Row(string Name, double Value, DateOnly Day, DateTimeOffset At, bool Flag, long? Count);

    private static readonly IReadOnlyList<CsvColumn<Row>> Columns =
    [
        new("name", r => r.Name), new("value", r => r.Value), new("day", r => r.Day), new("at", r => r.At), new("flag", r => r.Flag), new("count", r => r.Count),
    ];

    [Fact]
    public void Write_FormatsValuesInvariantly_AndQuotesWhatNeedsIt()
    {
        var csv = Csv.Write(
            [new Row("a,\"b\"", 0.1 + 0.2, new DateOnly(2026, 12, 2), new DateTimeOffset(2026, 12, 2, 1, 2, 3, TimeSpan.Zero), true, null),
             new Row("line\nbreak", -1e-9, new DateOnly(2026, 1, 1), DateTimeOffset.UnixEpoch, false, 42)],
            Columns);

        Assert.Equal(
            "name,value,day,at,flag,count\r\n"
            + "\"a,\"\"b\"\"\",0.30000000000000004,2026-12-02,2026-12-02T01:02:03.0000000+00:00,true,\r\n"
            + "\"line\nbreak\",-1E-09,2026-01-01,1970-01-01T00:00:00.0000000+00:00,false,42\r\n",
            csv);
    }

    [Theory]
    [InlineData("text/csv", null, true)]
    [InlineData("application/json, text/csv;q=0.5", null, true)]
    [InlineData(null, "csv", true)]
    [InlineData(null, "CSV", true)]
    [InlineData("application/json", null, false)]
    [InlineData(null, "json", false)]
    [InlineData(null, null, false)]
    public void Wanted_ByAcceptHeaderOrFormatParameter(string? accept, string? format, bool expected)
    {
        var context = new DefaultHttpContext();
        if (accept is not null)
        {
            context.Request.Headers.Accept = accept;
        }

        if (format is not null)
        {
            context.Request.QueryString = new QueryString("?format=" + format);
        }

        Assert.Equal(expected, Csv.Wanted(context.Request));
    }
}
