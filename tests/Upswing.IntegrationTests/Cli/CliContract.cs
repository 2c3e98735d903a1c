using System.Net;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Cli;

/// <summary>The `upswing` verbs as an operator runs them, on SQLite and on PostgreSQL (--database).</summary>
public abstract class CliContract
{
    protected abstract Task<TestDatabase> DatabaseAsync();

    [Fact]
    public async Task WorkspacesAndKeys_CreatedByTheCli_WorkAgainstTheServer()
    {
        var db = await DatabaseAsync();
        var migrated = await UpswingCliRunner.RunAsync(["migrate", .. db.CliArguments]);
        Assert.True(migrated.ExitCode == 0, migrated.ToString());
        var again = await UpswingCliRunner.RunAsync(["migrate", .. db.CliArguments]);
        Assert.Contains("up to date", again.StdOut);

        var name = Infrastructure.Unique("Acme Growth");
        var created = await UpswingCliRunner.RunAsync(["workspaces", "create", "--name", name, .. db.CliArguments]);
        Assert.True(created.ExitCode == 0, created.ToString());
        var line = Assert.Single(created.OutLines).Split(' ');
        Assert.True(Guid.TryParse(line[0], out _), created.StdOut);
        var slug = line[1];
        Assert.StartsWith("acme-growth-", slug);

        var key = await UpswingCliRunner.RunAsync(["keys", "create", "--workspace", slug, "--kind", "secret", .. db.CliArguments]);
        Assert.True(key.ExitCode == 0, key.ToString());
        var secret = Assert.Single(key.OutLines);
        Assert.Matches("^us_sk_[A-Za-z0-9]{43}$", secret);
        Assert.Equal(secret + "\n", key.StdOut);

        var client = await UpswingCliRunner.RunAsync(["keys", "create", "--workspace", slug, "--kind", "client", "--environment", "development", .. db.CliArguments]);
        Assert.Matches("^us_ck_[A-Za-z0-9]{43}$", Assert.Single(client.OutLines));

        await using var server = await UpswingTestServer.StartAsync(db);
        using var api = server.NewClient(secret);
        var workspaces = await (await api.GetAsync("/api/v1/workspaces")).ReadOkAsync();
        Assert.Equal(slug, workspaces[0]!.Str("slug"));
        var keys = await (await api.GetAsync("/api/v1/keys")).ReadOkAsync();
        Assert.Contains(keys.AsArray(), k => k!.Str("kind") == "client" && k!.Str("environment") == "development");
    }

    [Fact]
    public async Task Jobs_EnqueueListShowCancelRetryStats_FromTheCommandLine()
    {
        var db = await DatabaseAsync();
        Assert.Equal(0, (await UpswingCliRunner.RunAsync(["migrate", .. db.CliArguments])).ExitCode);
        var queue = Infrastructure.Unique("cli");

        var enqueued = await UpswingCliRunner.RunAsync(["jobs", "enqueue", "upswing.sleep", "--args", "{\"milliseconds\":5}", "--queue", queue, .. db.CliArguments]);
        Assert.True(enqueued.ExitCode == 0, enqueued.ToString());
        var id = long.Parse(Assert.Single(enqueued.OutLines), System.Globalization.CultureInfo.InvariantCulture);
        var many = await UpswingCliRunner.RunAsync(["jobs", "enqueue", "upswing.noop", "--count", "1500", "--queue", queue, .. db.CliArguments]);
        Assert.Equal("1500 jobs enqueued", Assert.Single(many.OutLines));

        var list = await UpswingCliRunner.RunAsync(["jobs", "list", "--queue", queue, "--kind", "upswing.sleep", .. db.CliArguments]);
        var row = Assert.Single(list.OutLines).Split('\t');
        Assert.Equal([id.ToString(System.Globalization.CultureInfo.InvariantCulture), "available", "upswing.sleep", queue], row[..4]);

        Assert.Equal($"job {id}: cancelled", Assert.Single((await UpswingCliRunner.RunAsync(["jobs", "cancel", id.ToString(System.Globalization.CultureInfo.InvariantCulture), .. db.CliArguments])).OutLines));
        var show = await UpswingCliRunner.RunAsync(["jobs", "show", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json", .. db.CliArguments]);
        var job = System.Text.Json.Nodes.JsonNode.Parse(show.StdOut)!;
        Assert.Equal("cancelled", job.Str("state"));
        Assert.Equal(5, job["args"]!["milliseconds"]!.GetValue<int>());
        Assert.Equal("Cancelled before it ran.", job["errors"]![0]!.Str("error"));

        Assert.Equal("1 jobs retried", Assert.Single((await UpswingCliRunner.RunAsync(["jobs", "retry", "--state", "cancelled", "--queue", queue, .. db.CliArguments])).OutLines));
        var stats = await UpswingCliRunner.RunAsync(["jobs", "stats", .. db.CliArguments]);
        Assert.Contains($"{queue}\t1501\t0\t0\t0", stats.OutLines);
        Assert.Contains(stats.OutLines, l => l.StartsWith("periodic: prune-jobs", StringComparison.Ordinal));

        var unknown = await UpswingCliRunner.RunAsync(["jobs", "enqueue", "no.such.kind", .. db.CliArguments]);
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("No handler is registered for the job kind 'no.such.kind'", unknown.StdErr);
        var missing = await UpswingCliRunner.RunAsync(["jobs", "show", "999999999", .. db.CliArguments]);
        Assert.Equal("upswing: No job 999999999.", missing.StdErr.Trim());
    }

    [Fact]
    public async Task Failures_ExitNonZero_WithOneLineOnStderr()
    {
        var db = await DatabaseAsync();
        var unknownWorkspace = await UpswingCliRunner.RunAsync(["keys", "create", "--workspace", "no-such-workspace", "--kind", "secret", .. db.CliArguments]);
        Assert.NotEqual(0, unknownWorkspace.ExitCode);
        Assert.Equal("", unknownWorkspace.StdOut);
        Assert.Equal("upswing: No workspace with slug 'no-such-workspace'.", unknownWorkspace.StdErr.Trim());

        var badKind = await UpswingCliRunner.RunAsync(["keys", "create", "--workspace", "x", "--kind", "admin", .. db.CliArguments]);
        Assert.NotEqual(0, badKind.ExitCode);
        Assert.Equal("", badKind.StdOut.Trim());

        var shortPassword = await UpswingCliRunner.RunAsync(["users", "create", "--email", Infrastructure.Unique("u") + "@example.com", "--password-stdin", .. db.CliArguments], stdin: "short\n");
        Assert.NotEqual(0, shortPassword.ExitCode);
        Assert.Single(shortPassword.StdErr.Trim().Split('\n'));
        Assert.Contains("at least 8 characters", shortPassword.StdErr);
    }

    [Fact]
    public async Task UsersCreate_ReadsThePasswordFromStdin_AndTheUserCanSignIn()
    {
        var db = await DatabaseAsync();
        var email = Infrastructure.Unique("ops") + "@example.com";
        var created = await UpswingCliRunner.RunAsync(["users", "create", "--email", email, "--password-stdin", "--admin", .. db.CliArguments], stdin: "correct horse battery\n");
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.True(Guid.TryParse(Assert.Single(created.OutLines), out _));

        var duplicate = await UpswingCliRunner.RunAsync(["users", "create", "--email", email.ToUpperInvariant(), "--password-stdin", .. db.CliArguments], stdin: "another password\n");
        Assert.NotEqual(0, duplicate.ExitCode);
        Assert.Contains("already exists", duplicate.StdErr);

        await using var server = await UpswingTestServer.StartAsync(db);
        var user = await server.WithServicesAsync(sp => Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
            .GetRequiredService<Upswing.Access.UserService>(sp).SignInAsync(email, "correct horse battery", CancellationToken.None));
        Assert.True(user?.IsAdmin);
    }

    [Fact]
    public async Task SeedDemo_CreatesTheDemoWorkspaceOnce()
    {
        var db = await DatabaseAsync();
        var first = await UpswingCliRunner.RunAsync(["seed", "--demo", .. db.CliArguments]);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.EndsWith(" demo", first.StdOut.Trim());
        var second = await UpswingCliRunner.RunAsync(["seed", "--demo", .. db.CliArguments]);
        Assert.Equal(first.StdOut, second.StdOut);

        await using var server = await UpswingTestServer.StartAsync(db);
        var members = await server.WithServicesAsync(async sp =>
        {
            var workspace = await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Upswing.Workspaces.WorkspaceService>(sp).GetBySlugAsync("demo", CancellationToken.None);
            return await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Upswing.Access.MemberService>(sp).ListAsync(workspace!.Id, CancellationToken.None);
        });
        Assert.Equal(4, members.Count);
        var (flags, experiments) = await server.WithServicesAsync(async sp =>
        {
            var workspace = await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Upswing.Workspaces.WorkspaceService>(sp).GetBySlugAsync("demo", CancellationToken.None);
            return (
                await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Upswing.Flags.FeatureService>(sp).ListAsync(workspace!.Id, includeArchived: false, CancellationToken.None),
                await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Upswing.Experiments.ExperimentService>(sp).ListAsync(workspace.Id, null, CancellationToken.None));
        });
        Assert.Equal(["critter-colors", "hatch-animation", "new-onboarding", "shop-discount", "welcome-copy"], flags.Select(f => f.Key));
        Assert.Equal(["discount-test:running", "hatch-animation:stopped", "headline-test:running", "trading-post:draft"], experiments.Select(e => $"{e.Key}:{e.Status.ToString().ToLowerInvariant()}"));
    }
}

[Trait("Provider", "SQLite")]
public sealed class CliOnSqlite : CliContract
{
    protected override Task<TestDatabase> DatabaseAsync() => Task.FromResult(TestDatabase.Sqlite());

    [Fact]
    public async Task Version_PrintsTheVersion()
    {
        var result = await UpswingCliRunner.RunAsync(["version"]);
        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("upswing ", result.StdOut);
    }

    [Fact]
    public async Task InvalidDatabaseSetting_IsAOneLineError()
    {
        var result = await UpswingCliRunner.RunAsync(["migrate", "--database", "mysql://nope"]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.StartsWith("upswing: ", result.StdErr);
        Assert.Contains("PostgreSQL connection string", result.StdErr);
        Assert.Single(result.StdErr.Trim().Split('\n'));
    }

    [Fact]
    public async Task UnreachablePostgres_IsAOneLineError()
    {
        var result = await UpswingCliRunner.RunAsync(["migrate", "--database", "Host=127.0.0.1;Port=1;Username=x;Database=x;Timeout=2"]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.StartsWith("upswing: ", result.StdErr);
        Assert.Single(result.StdErr.Trim().Split('\n'));
    }

    [Fact]
    public async Task EnvironmentVariables_ChooseTheDataDirectory()
    {
        var db = TestDatabase.Sqlite();
        var result = await UpswingCliRunner.RunAsync(["workspaces", "create", "--name", "From env"], environment: new Dictionary<string, string> { ["UPSWING_DATA_DIR"] = db.DataDir });
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(File.Exists(Path.Combine(db.DataDir, "upswing.db")));
    }

    [Fact]
    public async Task Serve_OnAFreshDirectory_PrintsTheDashboardUrlAndAOneTimePassword()
    {
        await using var serve = await ServeProcess.StartAsync(TestDatabase.Sqlite(), ["--demo"]);
        Assert.Contains($"Dashboard: {serve.BaseAddress}/", serve.Banner);
        Assert.Matches("Sign in as admin@upswing.local with this one-time password \\(shown once\\): [A-Za-z0-9]{20}", serve.Banner);
        using var http = new HttpClient { BaseAddress = new Uri(serve.BaseAddress) };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/signin")).StatusCode);
    }

    [Fact]
    public async Task Serve_WithInvalidSettings_ExitsWithOneLine()
    {
        var result = await UpswingCliRunner.RunAsync(["serve", "--urls", "http://127.0.0.1:0", "--data-dir", TestDatabase.Sqlite().DataDir],
            environment: new Dictionary<string, string> { ["UPSWING_Data__SqliteBusyTimeoutMs"] = "5" });
        Assert.NotEqual(0, result.ExitCode);
        Assert.StartsWith("upswing: invalid configuration:", result.StdErr.Trim().Split('\n').Last());
        Assert.Contains("SqliteBusyTimeoutMs", result.StdErr);
    }

    [Fact]
    public async Task Serve_WithAnOtlpEndpoint_ExportsTracesAndMetrics()
    {
        var port = FreePort();
        using var collector = new System.Net.HttpListener();
        collector.Prefixes.Add($"http://127.0.0.1:{port}/");
        collector.Start();
        var received = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        var receiving = Task.Run(async () =>
        {
            while (collector.IsListening)
            {
                System.Net.HttpListenerContext context;
                try
                {
                    context = await collector.GetContextAsync();
                }
                catch (System.Net.HttpListenerException)
                {
                    return;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                received.AddOrUpdate(context.Request.Url!.AbsolutePath, body.Length, (_, n) => n + body.Length);
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        });

        await using var serve = await ServeProcess.StartAsync(TestDatabase.Sqlite(), [], new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        });
        using var http = new HttpClient { BaseAddress = new Uri(serve.BaseAddress) };
        await Infrastructure.WaitUntilAsync(async () =>
        {
            await http.GetAsync("/health/live");
            return received.GetValueOrDefault("/v1/traces") > 0 && received.GetValueOrDefault("/v1/metrics") > 0;
        }, TimeSpan.FromSeconds(30), "OTLP traces and metrics");
        collector.Stop();
        await receiving;
    }

    internal static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>`upswing serve` as a separate process, read until it prints its banner.</summary>
internal sealed class ServeProcess : IAsyncDisposable
{
    private readonly System.Diagnostics.Process process;

    private ServeProcess(System.Diagnostics.Process process, string baseAddress, string banner)
    {
        this.process = process;
        BaseAddress = baseAddress;
        Banner = banner;
    }

    public string BaseAddress { get; }

    public string Banner { get; }

    public static async Task<ServeProcess> StartAsync(TestDatabase db, IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var address = $"http://127.0.0.1:{CliOnSqlite.FreePort()}";
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])[Path.Combine(AppContext.BaseDirectory, "upswing.dll"), "serve", "--urls", address, .. db.CliArguments, .. args])
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = System.Diagnostics.Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        var banner = new System.Text.StringBuilder();
        while (!banner.ToString().Contains("API docs", StringComparison.Ordinal))
        {
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            if (line is null)
            {
                throw new InvalidOperationException("upswing serve exited: " + await process.StandardError.ReadToEndAsync(timeout.Token));
            }

            banner.AppendLine(line);
        }

        // Keep draining stdout (JSON logs) so the child never blocks on a full pipe.
        _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
        return new ServeProcess(process, address, banner.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync(CancellationToken.None);
        process.Dispose();
    }
}

[Trait("Provider", "PostgreSQL")]
public sealed class CliOnPostgres : CliContract
{
    protected override Task<TestDatabase> DatabaseAsync() => TestDatabase.PostgresAsync(nameof(CliOnPostgres));
}
