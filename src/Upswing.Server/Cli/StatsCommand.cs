using System.CommandLine;
using Upswing.Statistics;

namespace Upswing.Server.Cli;

/// <summary>`upswing stats analyze`: the statistics engine for warehouse users, one JSON document in, one out; no database.</summary>
internal static partial class UpswingCli
{
    private static Command StatsCommand()
    {
        var input = new Option<string?>("--input") { Description = "Read the input document from this file instead of standard input." };
        var analyze = new Command("analyze", "Analyses one experiment metric: reads {metric, engine, variations, …} as JSON and writes the results as JSON. Invalid input: a message on stderr and exit code 2.") { input };
        analyze.SetAction(async (parse, ct) =>
        {
            string text;
            try
            {
                text = parse.GetValue(input) is { } path ? await File.ReadAllTextAsync(path, ct) : await Console.In.ReadToEndAsync(ct);
            }
            catch (IOException ex)
            {
                Console.Error.WriteLine($"upswing: cannot read the input: {ex.Message}");
                return 2;
            }

            var result = AnalysisJson.Analyze(text);
            if (!result.IsSuccess)
            {
                Console.Error.WriteLine($"upswing: {result.Error}");
                return 2;
            }

            Console.Out.WriteLine(AnalysisJson.Serialize(result.Output));
            return 0;
        });
        return new Command("stats", "Experiment statistics from sufficient statistics (see docs/modules/statistics.md).") { analyze };
    }
}
