using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Upswing.Access;
using Upswing.Common;
using Upswing.Data;
using Upswing.Demo;

namespace Upswing.Server.Hosting;

/// <summary>
/// Runs before the server accepts requests: migrations (SQLite by default), the first administrator,
/// and the demo workspace. Then prints where the dashboard is and how to sign in.
/// </summary>
internal sealed partial class StartupTasks(
    IServiceScopeFactory scopes,
    IOptions<DatabaseOptions> database,
    IOptions<AdminOptions> admin,
    IOptions<StartupOptions> startup,
    IHostApplicationLifetime lifetime,
    IServer server,
    ILogger<StartupTasks> logger) : IHostedService
{
    private string signInHelp = "Sign in with your account.";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var services = scope.ServiceProvider;
        var migrator = services.GetRequiredService<DatabaseMigrator>();
        if (startup.Value.AutoMigrate ?? database.Value.Provider == DatabaseProvider.Sqlite)
        {
            var applied = await migrator.MigrateAsync(cancellationToken);
            LogMigrated(logger, applied.Count, database.Value.Provider);
        }
        else if ((await migrator.PendingAsync(cancellationToken)).Count > 0)
        {
            LogPending(logger);
            return;
        }

        var bootstrap = await services.GetRequiredService<UserService>().EnsureAdminAsync(admin.Value.Email, admin.Value.Password, cancellationToken);
        if (bootstrap is not null)
        {
            signInHelp = bootstrap.GeneratedPassword is { } password
                ? $"Sign in as {bootstrap.User.Email} with this one-time password (shown once): {password}"
                : $"Sign in as {bootstrap.User.Email} with the password from UPSWING_ADMIN_PASSWORD.";
        }

        if (startup.Value.Demo)
        {
            var owner = bootstrap?.User.Id ?? await services.GetRequiredService<UserService>().FirstAdminIdAsync(cancellationToken);
            await services.GetRequiredService<DemoData>().EnsureAsync(owner, Actor.System, cancellationToken);
        }

        if (startup.Value.PrintBanner)
        {
            lifetime.ApplicationStarted.Register(PrintBanner);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void PrintBanner()
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://127.0.0.1:5080";
        // Straight to the terminal, never to the log: the one-time password must not end up in log storage.
        Console.Out.WriteLine($"""

            Upswing is running.
              Dashboard: {address.TrimEnd('/')}/
              {signInHelp}
              Health:    {address.TrimEnd('/')}/health/ready    API docs: {address.TrimEnd('/')}/docs

            """);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Database ready on {Provider}: {Applied} migrations applied")]
    private static partial void LogMigrated(ILogger logger, int applied, DatabaseProvider provider);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The database has pending migrations; run `upswing migrate`. /health/ready reports unhealthy until then")]
    private static partial void LogPending(ILogger logger);
}
