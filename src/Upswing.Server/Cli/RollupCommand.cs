using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Upswing.Analytics;
using Upswing.Workspaces;

namespace Upswing.Server.Cli;

/// <summary>`upswing rollup …`: recompute rollups from raw events now, or check the stored ones against them.</summary>
internal static partial class UpswingCli
{
    private sealed record RollupOptions(Option<string> Job, Option<int?> WindowDays, Option<string?> Workspace);

    private static RollupOptions NewRollupOptions() => new(
        new Option<string>("--job") { Description = "Which rollup: daily, experiments, vitals, funnels, retention, kfactor (or another registered one), or all.", DefaultValueFactory = _ => "all" },
        new Option<int?>("--window-days") { Description = "Recompute the last N days (today included) instead of the window from the watermark." },
        new Option<string?>("--workspace") { Description = "Only this workspace (slug); every workspace when omitted." });

    private static Command RollupCommand()
    {
        var run = NewRollupOptions();
        var command = new Command("rollup", "Recomputes rollups from raw events (replacing the window's days, so running it twice changes nothing) and prints rows and duration per job.")
        {
            run.Job, run.WindowDays, run.Workspace,
        };
        command.SetAction((parse, ct) => RunVerbAsync(parse, async services =>
        {
            var runner = services.GetRequiredService<RollupRunner>();
            var (jobs, workspaces) = await RollupTargetsAsync(services, runner, parse.GetValue(run.Job)!, parse.GetValue(run.Workspace), parse.GetValue(run.WindowDays), ct);
            var results = new List<(string Job, string Workspace, RollupRunDto? Run, string? Error)>();

            async Task RunAllAsync(Action<string>? advance)
            {
                foreach (var job in jobs)
                {
                    foreach (var workspace in workspaces)
                    {
                        try
                        {
                            var dto = await runner.RunAsync(workspace.Id, job, parse.GetValue(run.WindowDays), ct);
                            results.Add((job, workspace.Slug, dto, null));
                        }
                        catch (Exception ex) when (ex is not OperationCanceledException)
                        {
                            results.Add((job, workspace.Slug, null, $"{ex.GetType().Name}: {ex.Message.Split('\n')[0]}"));
                        }

                        advance?.Invoke(job);
                    }
                }
            }

            if (Console.IsOutputRedirected)
            {
                await RunAllAsync(null);
            }
            else
            {
                await AnsiConsole.Progress().AutoClear(false).StartAsync(async context =>
                {
                    var tasks = jobs.ToDictionary(j => j, j => context.AddTask(j, maxValue: Math.Max(1, workspaces.Count)));
                    await RunAllAsync(job => tasks[job].Increment(1));
                });
            }

            foreach (var (job, workspace, dto, error) in results)
            {
                Console.Out.WriteLine(dto is { } r
                    ? $"{job}\t{workspace}\t{r.WindowFrom:yyyy-MM-dd}..{r.WindowTo:yyyy-MM-dd}\t{r.RowsWritten} rows\t{r.DurationMs} ms\t{r.Outcome}"
                    : $"{job}\t{workspace}\tfailed\t{error}");
            }

            foreach (var job in jobs)
            {
                var ofJob = results.Where(r => r.Job == job).ToList();
                var rows = ofJob.Sum(r => r.Run?.RowsWritten ?? 0);
                var ms = ofJob.Sum(r => r.Run?.DurationMs ?? 0);
                var failed = ofJob.Count(r => r.Run is null);
                Console.Out.WriteLine($"total {job}: {rows.ToString(CultureInfo.InvariantCulture)} rows in {ms.ToString(CultureInfo.InvariantCulture)} ms over {ofJob.Count} workspaces" +
                    (failed > 0 ? $", {failed} failed" : ""));
            }

            return results.Any(r => r.Run is null) ? 1 : 0;
        }));

        var check = NewRollupOptions();
        var verify = new Command("verify", "Recomputes the rollups' window from raw events in memory and prints every difference from the stored rows; exit code 1 if there is any.")
        {
            check.Job, check.WindowDays, check.Workspace,
        };
        verify.SetAction((parse, ct) => RunVerbAsync(parse, async services =>
        {
            var runner = services.GetRequiredService<RollupRunner>();
            var (jobs, workspaces) = await RollupTargetsAsync(services, runner, parse.GetValue(check.Job)!, parse.GetValue(check.Workspace), parse.GetValue(check.WindowDays), ct);
            var count = 0;
            foreach (var job in jobs)
            {
                foreach (var workspace in workspaces)
                {
                    foreach (var d in await runner.VerifyAsync(workspace.Id, job, parse.GetValue(check.WindowDays), ct))
                    {
                        count++;
                        Console.Out.WriteLine($"{job}\t{workspace.Slug}\t{d.Row}\t{d.Column}\tstored {d.Stored}\tcomputed {d.Computed}");
                    }
                }
            }

            Console.Out.WriteLine(count == 0
                ? $"rollups match the raw events ({string.Join(", ", jobs)}; {workspaces.Count} workspaces)"
                : $"{count} differences");
            return count == 0 ? 0 : 1;
        }));
        command.Subcommands.Add(verify);
        return command;
    }

    private static async Task<(IReadOnlyList<string> Jobs, IReadOnlyList<WorkspaceDto> Workspaces)> RollupTargetsAsync(
        IServiceProvider services, RollupRunner runner, string job, string? slug, int? windowDays, CancellationToken ct)
    {
        if (windowDays is < 1)
        {
            throw new CliException("--window-days is at least 1.");
        }

        IReadOnlyList<string> jobs = job == "all" ? runner.Jobs
            : runner.Jobs.Contains(job) ? [job]
            : throw new CliException($"No rollup named '{job}'; choose {string.Join(", ", runner.Jobs)} or all.");
        var workspaceService = services.GetRequiredService<WorkspaceService>();
        IReadOnlyList<WorkspaceDto> workspaces = slug is null
            ? await workspaceService.ListAllAsync(ct)
            : [await workspaceService.GetBySlugAsync(slug, ct) ?? throw new CliException($"No workspace with slug '{slug}'.")];
        return (jobs, workspaces);
    }
}
