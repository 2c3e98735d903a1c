using System.CommandLine;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Options;
using Spectre.Console;
using Upswing.Access;
using Upswing.Common;
using Upswing.Data;
using Upswing.Demo;
using Upswing.Server.Hosting;
using Upswing.Workspaces;

namespace Upswing.Server.Cli;

/// <summary>
/// The `upswing` command line. `serve` is the default verb. Every verb takes --data-dir and --database,
/// prints its result on stdout, and on failure prints one line on stderr and exits non-zero.
/// </summary>
internal static partial class UpswingCli
{
    private static readonly Option<string?> DataDir = new("--data-dir") { Description = "Data directory (default ./data, or UPSWING_DATA_DIR).", Recursive = true };
    private static readonly Option<string?> Database = new("--database") { Description = "PostgreSQL connection string (Host=…); the embedded SQLite database when omitted (or UPSWING_DATABASE).", Recursive = true };

    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("Upswing — the self-hosted growth engine: experiments, events, growth loops, publishing.");
        root.Options.Add(DataDir);
        root.Options.Add(Database);
        root.Subcommands.Add(ServeCommand());
        root.Subcommands.Add(Verb("migrate", "Applies pending database migrations (safe to run again).", MigrateAsync, requireSchema: false));
        root.Subcommands.Add(SeedCommand());
        root.Subcommands.Add(WorkspacesCommand());
        root.Subcommands.Add(KeysCommand());
        root.Subcommands.Add(UsersCommand());
        root.Subcommands.Add(JobsCommand());
        root.Subcommands.Add(StatsCommand());
        root.Subcommands.Add(RollupCommand());
        root.Subcommands.Add(VersionCommand());
        var parse = root.Parse(WithDefaultVerb(args));
        if (parse.Errors.Count > 0)
        {
            // One line on stderr, nothing on stdout: scripts capture stdout.
            return Fail(string.Join(" ", parse.Errors.Select(e => e.Message)) + " (see `upswing --help`)");
        }

        return await parse.InvokeAsync();
    }

    /// <summary>`upswing` and `upswing --demo` mean `upswing serve …`; help and version requests stay at the root.</summary>
    internal static string[] WithDefaultVerb(string[] args) =>
        args.Length == 0 || (args[0].StartsWith('-') && args[0] is not ("-h" or "--help" or "-?" or "--version"))
            ? ["serve", .. args]
            : args;

    private static Command ServeCommand()
    {
        var urls = new Option<string?>("--urls") { Description = $"Addresses to listen on (default {UpswingWebApp.DefaultUrls})." };
        var demo = new Option<bool>("--demo") { Description = "Create the demo workspace (slug 'demo') with demo data on a fresh database." };
        var command = new Command("serve", "Runs the server: API, dashboard and background work (the default verb).") { urls, demo };
        command.SetAction(async (parse, ct) =>
        {
            var settings = Settings(parse) with { Urls = parse.GetValue(urls) };
            return await Guarded(async () =>
            {
                await using var app = UpswingWebApp.Build(settings, new StartupOptions { Demo = parse.GetValue(demo), PrintBanner = true });
                await app.RunAsync();
                return 0;
            });
        });
        return command;
    }

    private static Command SeedCommand()
    {
        var demo = new Option<bool>("--demo") { Description = "Create the demo workspace with demo data." };
        var scale = new Option<int>("--scale")
        {
            Description = $"Generate this many times the demo's 30 days of traffic (about 180,000 events each, 1 to {DemoData.MaxScale}): 55 gives the rollup benchmark's ten million.",
            DefaultValueFactory = _ => 1,
        };
        var command = new Command("seed", "Adds demo data to the database.") { demo, scale };
        command.SetAction((parse, ct) => RunVerbAsync(parse, async services =>
        {
            if (!parse.GetValue(demo))
            {
                throw new CliException("Nothing to seed: pass --demo.");
            }

            var parts = parse.GetValue(scale);
            if (parts is < 1 or > DemoData.MaxScale)
            {
                throw new CliException($"--scale must be between 1 and {DemoData.MaxScale}.");
            }

            await services.GetRequiredService<DatabaseMigrator>().MigrateAsync(ct);
            var owner = await services.GetRequiredService<UserService>().FirstAdminIdAsync(ct);
            var data = services.GetRequiredService<DemoData>();
            WorkspaceDto workspace;
            if (parts == 1 || Console.IsErrorRedirected)
            {
                workspace = await data.EnsureAsync(owner, Actor.Cli, parts, null, ct);
            }
            else
            {
                // The history's parts are stored one after another, then the rollups run: a bar for the first, a spinner after.
                var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
                workspace = await console.Progress().AutoClear(true).StartAsync(async context =>
                {
                    var bar = context.AddTask("demo history", maxValue: parts);
                    return await data.EnsureAsync(owner, Actor.Cli, parts, new Progress<int>(done => bar.Value = done), ct);
                });
            }

            Console.Out.WriteLine($"{workspace.Id} {workspace.Slug}");
            if (data.LastSeeded is { } seeded)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"seeded {seeded.Events:N0} events, {seeded.Vitals:N0} vitals, {seeded.Persons:N0} persons ({seeded.Users:N0} signed up) and their rollups in {seeded.Elapsed.TotalSeconds:F1} s"));
            }
        }));
        return command;
    }

    private static Command WorkspacesCommand()
    {
        var name = new Option<string>("--name") { Description = "Display name of the workspace.", Required = true };
        var slug = new Option<string?>("--slug") { Description = "URL name; derived from the name when omitted." };
        var create = new Command("create", "Creates a workspace and prints its id and slug.") { name, slug };
        create.SetAction((parse, ct) => RunVerbAsync(parse, async services =>
        {
            var result = await services.GetRequiredService<WorkspaceService>().CreateAsync(parse.GetValue(name), parse.GetValue(slug), Actor.Cli, owner: null, ct);
            var workspace = Unwrap(result);
            Console.Out.WriteLine($"{workspace.Id} {workspace.Slug}");
        }));

        var list = new Command("list", "Lists workspaces: id, slug and name.");
        list.SetAction((parse, ct) => RunVerbAsync(parse, async services =>
        {
            foreach (var w in await services.GetRequiredService<WorkspaceService>().ListForUserAsync(Guid.Empty, isAdmin: true, ct))
            {
                Console.Out.WriteLine($"{w.Id} {w.Slug} {w.Name}");
            }
        }));
        return new Command("workspaces", "Manages workspaces.") { create, list };
    }

    private static Command KeysCommand()
    {
        var workspace = new Option<string>("--workspace") { Description = "Workspace slug.", Required = true };
        var kind = new Option<string>("--kind") { Description = "secret (management API, server side), client (publishable, SDKs and event writes) or read (dashboard token: /v1/metrics only).", Required = true };
        kind.AcceptOnlyFromAmong("secret", "client", "read");
        var environment = new Option<string?>("--environment") { Description = "Environment of a client key (default production)." };
        var name = new Option<string?>("--name") { Description = "A name to recognise the key by." };
        var create = new Command("create", "Creates an API key and prints it once; nothing else goes to stdout.") { workspace, kind, environment, name };
        create.SetAction((parse, ct) => RunVerbAsync(parse, async services =>
        {
            var target = await services.GetRequiredService<WorkspaceService>().GetBySlugAsync(parse.GetValue(workspace)!, ct)
                ?? throw new CliException($"No workspace with slug '{parse.GetValue(workspace)}'.");
            var keyKind = Enum.Parse<ApiKeyKind>(parse.GetValue(kind)!, ignoreCase: true);
            var caller = new WorkspaceContext(target.Id, WorkspaceRole.Owner, Actor.Cli);
            var created = Unwrap(await services.GetRequiredService<ApiKeyService>().CreateAsync(caller, keyKind, parse.GetValue(environment), parse.GetValue(name), ct));
            Console.Out.WriteLine(created.Key);
        }));
        return new Command("keys", "Manages API keys.") { create };
    }

    private static Command UsersCommand()
    {
        var email = new Option<string>("--email") { Description = "Sign-in e-mail address.", Required = true };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from standard input (first line)." };
        var admin = new Option<bool>("--admin") { Description = "Make the user an installation administrator (sees every workspace)." };
        var create = new Command("create", "Creates a user and prints its id.") { email, passwordStdin, admin };
        create.SetAction((parse, ct) => RunVerbAsync(parse, async services =>
        {
            if (!parse.GetValue(passwordStdin))
            {
                throw new CliException("Pass the password on standard input with --password-stdin (never as an argument: it would end up in shell history).");
            }

            var password = (await Console.In.ReadLineAsync(ct))?.TrimEnd('\r');
            var user = Unwrap(await services.GetRequiredService<UserService>().CreateAsync(parse.GetValue(email), password, parse.GetValue(admin), ct));
            Console.Out.WriteLine(user.Id);
        }));
        return new Command("users", "Manages user accounts.") { create };
    }

    private static Command VersionCommand()
    {
        var command = new Command("version", "Prints the version.");
        command.SetAction(_ =>
        {
            Console.Out.WriteLine($"upswing {Version}");
            return 0;
        });
        return command;
    }

    public static string Version =>
        typeof(UpswingCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    private static Command Verb(string name, string description, Func<IServiceProvider, CancellationToken, Task> run, bool requireSchema = true)
    {
        var command = new Command(name, description);
        command.SetAction((parse, ct) => RunVerbAsync(parse, services => run(services, ct), requireSchema));
        return command;
    }

    private static async Task MigrateAsync(IServiceProvider services, CancellationToken ct)
    {
        var migrator = services.GetRequiredService<DatabaseMigrator>();
        var applied = await migrator.MigrateAsync(ct);
        Console.Out.WriteLine(applied.Count == 0
            ? $"Database is up to date ({migrator.ProviderName})."
            : $"Applied {applied.Count} migrations ({migrator.ProviderName}): {string.Join(", ", applied)}");
    }

    private static CommandLineSettings Settings(ParseResult parse) => new(parse.GetValue(DataDir), parse.GetValue(Database));

    /// <summary>Runs a verb against a small host with the same modules and configuration as the server.</summary>
    private static Task<int> RunVerbAsync(ParseResult parse, Func<IServiceProvider, Task> verb, bool requireSchema = true) =>
        RunVerbAsync(parse, async services =>
        {
            await verb(services);
            return 0;
        }, requireSchema);

    /// <summary>Runs a verb that decides its own exit code (e.g. 1 when a check finds differences).</summary>
    private static Task<int> RunVerbAsync(ParseResult parse, Func<IServiceProvider, Task<int>> verb, bool requireSchema = true) => Guarded(async () =>
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        UpswingConfiguration.Apply(builder.Configuration, Settings(parse));
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole().AddFilter(level => level >= LogLevel.Warning)
            // A failed command is reported as one line by Guarded; EF's own error log would repeat it noisily.
            .AddFilter("Microsoft.EntityFrameworkCore", LogLevel.None);
        // Verbs print results on stdout; diagnostics go to stderr so `key=$(upswing keys create …)` works.
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.AddUpswingModules();
        using var host = builder.Build();
        ValidateOptions(host.Services);
        await using var scope = host.Services.CreateAsyncScope();
        if (requireSchema)
        {
            await EnsureSchemaAsync(scope.ServiceProvider);
        }

        return await verb(scope.ServiceProvider);
    });

    /// <summary>The embedded database migrates itself, as `serve` does; a shared PostgreSQL is migrated on purpose.</summary>
    private static async Task EnsureSchemaAsync(IServiceProvider services)
    {
        var migrator = services.GetRequiredService<DatabaseMigrator>();
        if (services.GetRequiredService<IOptions<DatabaseOptions>>().Value.Provider == DatabaseProvider.Sqlite)
        {
            await migrator.MigrateAsync(CancellationToken.None);
        }
        else if ((await migrator.PendingAsync(CancellationToken.None)).Count > 0)
        {
            throw new CliException("The database has pending migrations; run `upswing migrate --database …` first.");
        }
    }

    private static void ValidateOptions(IServiceProvider services)
    {
        foreach (var validator in services.GetServices<IStartupValidator>())
        {
            validator.Validate();
        }
    }

    private static async Task<int> Guarded(Func<Task<int>> run)
    {
        try
        {
            return await run();
        }
        catch (Exception ex) when (Describe(ex) is { } message)
        {
            return Fail(message);
        }
    }

    /// <summary>The one line an operator sees for an expected failure; null lets a real bug surface with its stack.</summary>
    private static string? Describe(Exception ex) => ex switch
    {
        System.Reflection.TargetInvocationException or AggregateException when ex.InnerException is { } inner => Describe(inner),
        CliException => ex.Message,
        OptionsValidationException options => $"invalid configuration: {string.Join(" ", options.Failures)}",
        InvalidOperationException => ex.Message,
        System.Data.Common.DbException or Microsoft.EntityFrameworkCore.DbUpdateException or IOException or UnauthorizedAccessException or ArgumentException
            => $"{ex.GetType().Name}: {ex.Message.Split('\n')[0]}",
        _ => null,
    };

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"upswing: {message}");
        return 1;
    }

    private static T Unwrap<T>(Result<T> result) => result.Succeeded ? result.Value! : throw new CliException(result.Failure!.Message);
}

/// <summary>A verb failure whose message is the one line the user sees.</summary>
internal sealed class CliException(string message) : Exception(message);
