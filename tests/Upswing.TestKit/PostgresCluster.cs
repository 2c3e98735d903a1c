using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Upswing.Common;
using Upswing.Data;

namespace Upswing.TestKit;

/// <summary>
/// A throwaway PostgreSQL cluster started from the installed server binaries on a free loopback port
/// (about a second), shared by one test assembly. Each test class gets its own database, cloned from a
/// template that is migrated once, so classes never see each other's rows.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private const string Template = "upswing_template";
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static PostgresCluster? shared;

    private readonly string directory;
    private readonly string binaries;
    private readonly int port;

    private PostgresCluster(string directory, string binaries, int port)
    {
        this.directory = directory;
        this.binaries = binaries;
        this.port = port;
    }

    public string AdminConnectionString => $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=false";

    /// <summary>Why no cluster could be started, or null when one runs.</summary>
    public static string? UnavailableReason { get; private set; }

    /// <summary>The assembly's cluster, started on first use; null (with <see cref="UnavailableReason"/>) when PostgreSQL is not installed.</summary>
    public static async Task<PostgresCluster?> SharedAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (shared is null && UnavailableReason is null)
            {
                shared = await TryStartAsync();
                if (shared is not null)
                {
                    AppDomain.CurrentDomain.ProcessExit += (_, _) => shared.Stop();
                }
            }

            return shared;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>Creates an empty, fully migrated database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name, bool migrated = true)
    {
        var database = "t_" + new string(name.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(40).ToArray()) + "_" + Guid.NewGuid().ToString("N")[..8];
        await ExecuteAsync(migrated ? $"CREATE DATABASE \"{database}\" TEMPLATE {Template}" : $"CREATE DATABASE \"{database}\"");
        return $"Host=127.0.0.1;Port={port};Username=postgres;Database={database}";
    }

    public async ValueTask DisposeAsync()
    {
        Stop();
        await Task.CompletedTask;
    }

    private static async Task<PostgresCluster?> TryStartAsync()
    {
        var binaries = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderBy(d => d, StringComparer.Ordinal).LastOrDefault()
            : null;
        if (binaries is null)
        {
            UnavailableReason = "PostgreSQL server binaries were not found under /usr/lib/postgresql (apt-get install postgresql).";
            return null;
        }

        var directory = Path.Combine(Path.GetTempPath(), "upswing-pg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        var asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            // initdb refuses to run as root; the cluster belongs to the postgres user.
            await RunAsync("chown", ["postgres:postgres", directory], asPostgres: false);
        }

        var port = UpswingProcess.FreePort();
        await RunAsync(Path.Combine(binaries, "initdb"), ["-D", Path.Combine(directory, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], asRoot);
        await RunAsync(Path.Combine(binaries, "pg_ctl"),
            ["-D", Path.Combine(directory, "data"), "-l", Path.Combine(directory, "pg.log"), "-w", "-t", "30",
             "-o", $"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", "start"], asRoot);
        var cluster = new PostgresCluster(directory, binaries, port);
        await cluster.ExecuteAsync($"CREATE DATABASE {Template}");
        await cluster.MigrateTemplateAsync();
        return cluster;
    }

    private async Task MigrateTemplateAsync()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = true });
        builder.Configuration["Data:Database"] = $"Host=127.0.0.1;Port={port};Username=postgres;Database={Template};Pooling=false";
        builder.AddUpswingModules();
        using var host = builder.Build();
        await using (var scope = host.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<DatabaseMigrator>().MigrateAsync(CancellationToken.None);
        }

        // A template database must have no open connections while it is being cloned.
        NpgsqlConnection.ClearAllPools();
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private void Stop()
    {
        if (!Directory.Exists(directory))
        {
            return;
        }

        try
        {
            RunAsync(Path.Combine(binaries, "pg_ctl"), ["-D", Path.Combine(directory, "data"), "-m", "immediate", "-w", "stop"], Environment.UserName == "root")
                .GetAwaiter().GetResult();
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        Directory.Delete(directory, recursive: true);
    }

    private static async Task RunAsync(string file, IReadOnlyList<string> args, bool asPostgres)
    {
        var start = new ProcessStartInfo(asPostgres ? "runuser" : file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (asPostgres)
        {
            foreach (var a in (string[])["-u", "postgres", "--", file])
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Cannot start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} exited with {process.ExitCode}: {await stderr}{await stdout}");
        }
    }
}
