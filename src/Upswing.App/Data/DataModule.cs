using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Upswing.Data;

/// <summary>Registers UpswingDb on the configured provider, the SQL dialect and the migrator.</summary>
public static class DataModule
{
    public const string SqliteMigrationsAssembly = "Upswing.Migrations.Sqlite";
    public const string PostgresMigrationsAssembly = "Upswing.Migrations.Postgres";

    public static IHostApplicationBuilder AddUpswingData(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => TryDetect(o.Database), "The Data:Database setting must be a PostgreSQL connection string (Host=…) or empty for the embedded SQLite database.")
            .ValidateOnStart();
        services.AddSingleton(TimeProvider.System);

        // The provider is fixed for the life of the process, so it is read once here.
        var options = builder.Configuration.GetSection(DatabaseOptions.Section).Get<DatabaseOptions>() ?? new DatabaseOptions();
        var provider = TryDetect(options.Database) ? options.Provider : DatabaseProvider.Sqlite;
        // Pooled contexts: options are built once and context instances are reused across requests.
        if (provider == DatabaseProvider.Postgres)
        {
            services.AddSingleton(_ => new NpgsqlDataSourceBuilder(DatabaseProviders.ToNpgsqlConnectionString(options.Database!)).Build());
            services.AddSingleton<SqlDialect, PostgresDialect>();
            services.AddDbContextPool<UpswingDb>((sp, db) => db.UseNpgsql(sp.GetRequiredService<NpgsqlDataSource>(), npgsql => npgsql.MigrationsAssembly(PostgresMigrationsAssembly)));
        }
        else
        {
            services.AddSingleton(sp => new SqlitePragmas(sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.SqliteBusyTimeoutMs));
            services.AddSingleton<SqlDialect>(sp => new SqliteDialect(sp.GetRequiredService<IOptions<DatabaseOptions>>().Value, sp.GetRequiredService<SqlitePragmas>()));
            services.AddDbContextPool<UpswingDb>((sp, db) =>
            {
                var current = sp.GetRequiredService<IOptions<DatabaseOptions>>().Value;
                Directory.CreateDirectory(current.DataDir);
                db.UseSqlite(SqliteConnectionStrings.For(current), sqlite => sqlite.MigrationsAssembly(SqliteMigrationsAssembly))
                    .AddInterceptors(sp.GetRequiredService<SqlitePragmas>());
            });
        }

        services.AddScoped<DatabaseMigrator>();
        services.AddHostedService<DatabaseNotificationListener>();
        return builder;
    }

    private static bool TryDetect(string? database)
    {
        try
        {
            DatabaseProviders.Detect(database);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}

/// <summary>Applies and inspects schema migrations.</summary>
public sealed class DatabaseMigrator(UpswingDb db)
{
    /// <summary>Applies pending migrations; returns the names applied (empty when up to date).</summary>
    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken ct)
    {
        var pending = (await db.Database.GetPendingMigrationsAsync(ct)).ToList();
        if (pending.Count > 0)
        {
            await db.Database.MigrateAsync(ct);
        }

        return pending;
    }

    public async Task<IReadOnlyList<string>> PendingAsync(CancellationToken ct) =>
        (await db.Database.GetPendingMigrationsAsync(ct)).ToList();

    public string ProviderName => db.Database.ProviderName ?? "unknown";
}
