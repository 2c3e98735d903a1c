using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace Upswing.TestKit;

/// <summary>
/// `upswing serve` as a real child process (the binary beside the tests), for what only a process can show: SIGKILL,
/// SIGSTOP, two nodes on one database. Its output lines are kept for assertions.
/// </summary>
public sealed class UpswingProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> output = new();

    private UpswingProcess(Process process, Uri baseAddress)
    {
        this.process = process;
        BaseAddress = baseAddress;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri BaseAddress { get; }

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

    /// <summary>Everything the process wrote so far (stdout and stderr).</summary>
    public IReadOnlyList<string> Output => [.. output];

    /// <summary>Starts `upswing serve` on a free port against <paramref name="database"/> and waits until /health/ready answers.</summary>
    public static async Task<UpswingProcess> StartAsync(TestDatabase database, IDictionary<string, string>? environment = null, Uri? baseAddress = null)
    {
        baseAddress ??= new Uri($"http://127.0.0.1:{FreePort()}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetTempPath() };
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "upswing.dll"), "serve", "--urls", baseAddress.ToString().TrimEnd('/'), .. database.CliArguments])
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var name in (string[])["UPSWING_DATA_DIR", "UPSWING_DATABASE", "UPSWING_ADMIN_EMAIL", "UPSWING_ADMIN_PASSWORD"])
        {
            start.Environment.Remove(name);
        }

        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Cannot start upswing serve.");
        var server = new UpswingProcess(process, baseAddress);
        using var probe = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(2) };
        await Infrastructure.WaitUntilAsync(async () =>
        {
            Assert.False(process.HasExited, $"upswing serve exited with {(process.HasExited ? process.ExitCode : 0)}: {string.Join('\n', server.Output)}");
            try
            {
                return (await probe.GetAsync("/health/ready")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
            catch (TaskCanceledException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), "upswing serve to become ready");
        return server;
    }

    /// <summary>SIGKILL: no shutdown code runs, exactly like a crash or the OOM killer.</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Sends a signal by name (STOP, CONT, TERM) with kill(1).</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>SIGTERM, then waits for the graceful exit.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (process.HasExited)
        {
            return;
        }

        await SignalAsync("TERM");
        using var deadline = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(deadline.Token);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            // A stopped process ignores SIGKILL until continued on some kernels' views of it; continue it first.
            try
            {
                await SignalAsync("CONT");
            }
            catch (Xunit.Sdk.XunitException)
            {
            }

            await KillAsync();
        }

        process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            output.Enqueue(line);
        }
    }
}
