using System.Text.Json.Nodes;
using Upswing.Statistics;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Cli;

/// <summary>
/// `upswing stats analyze` gives, for every reference case, exactly the document the engine gives in process (which
/// tests/Upswing.Statistics.Tests holds to gbstats 0.8.0's values).
/// </summary>
public sealed class StatsCliTests
{
    private static readonly string CasesPath = Path.Combine(Infrastructure.RepositoryRoot, "tests", "Upswing.Statistics.Tests", "TestData", "stats-cases.json");

    [Fact]
    public async Task Analyze_EveryReferenceCase_FromStdinAndFromAFile_MatchesTheEngine()
    {
        var cases = JsonNode.Parse(await File.ReadAllTextAsync(CasesPath))!["cases"]!.AsArray();
        using var gate = new SemaphoreSlim(4);
        var checks = cases.Select(async (c, index) =>
        {
            await gate.WaitAsync();
            try
            {
                var input = c!["input"]!.ToJsonString();
                var expected = AnalysisJson.Serialize(AnalysisJson.Analyze(input).Output!);
                var fromStdin = await UpswingCliRunner.RunAsync(["stats", "analyze"], stdin: input);
                Assert.True(fromStdin.ExitCode == 0, $"case {index}: {fromStdin}");
                Assert.Equal(expected, fromStdin.StdOut.Trim());
                if (index == 0)
                {
                    var file = Path.Combine(Path.GetTempPath(), Infrastructure.Unique("stats") + ".json");
                    await File.WriteAllTextAsync(file, input);
                    var fromFile = await UpswingCliRunner.RunAsync(["stats", "analyze", "--input", file]);
                    File.Delete(file);
                    Assert.Equal(expected, fromFile.StdOut.Trim());
                }
            }
            finally
            {
                gate.Release();
            }
        });
        await Task.WhenAll(checks);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"metric\": \"mean\", \"engine\": \"frequentist\", \"variations\": [{\"n\": 10, \"sum\": 5, \"sumSquares\": 9}]}")]
    [InlineData("{\"metric\": \"median\", \"engine\": \"frequentist\", \"variations\": []}")]
    public async Task Analyze_InvalidInput_IsAMessageOnStderr_AndExitCode2(string input)
    {
        var result = await UpswingCliRunner.RunAsync(["stats", "analyze"], stdin: input);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("", result.StdOut);
        Assert.StartsWith("upswing: ", result.StdErr, StringComparison.Ordinal);
    }
}
