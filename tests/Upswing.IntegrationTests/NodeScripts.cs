using System.Diagnostics;
using Upswing.TestKit;

namespace Upswing.IntegrationTests;

/// <summary>
/// A folder of Node.js scripts with a committed package-lock.json: installs its packages once (npm ci) and runs its
/// scripts with JSON on stdin. Skips (fails under CI) when node or npm is missing.
/// </summary>
public sealed class NodeScripts(string folder, string purpose, params string[] packages)
{
    private readonly SemaphoreSlim installGate = new(1, 1);

    public string Directory { get; } = Path.Combine(Infrastructure.RepositoryRoot, folder);

    /// <summary>Runs <c>npm ci</c> unless every package this folder needs is in node_modules already.</summary>
    public async Task EnsureInstalledAsync()
    {
        Infrastructure.Require(FindOnPath("node") is not null && FindOnPath("npm") is not null, $"Node.js and npm are needed to run {purpose} (apt-get install nodejs npm).");
        await installGate.WaitAsync();
        try
        {
            if (!packages.All(p => System.IO.Directory.Exists(Path.Combine(Directory, "node_modules", p))))
            {
                await RunAsync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], null);
            }
        }
        finally
        {
            installGate.Release();
        }
    }

    /// <summary>Runs node with <paramref name="args"/>, writing <paramref name="stdin"/>; returns stdout and fails on a non-zero exit.</summary>
    public Task<string> RunNodeAsync(IReadOnlyList<string> args, string stdin) => RunAsync("node", args, stdin);

    private async Task<string> RunAsync(string file, IReadOnlyList<string> args, string? stdin)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = Directory, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);
}
