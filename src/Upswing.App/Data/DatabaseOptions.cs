using System.ComponentModel.DataAnnotations;

namespace Upswing.Data;

/// <summary>Where Upswing keeps its data: an embedded SQLite file under <see cref="DataDir"/>, or PostgreSQL.</summary>
public sealed class DatabaseOptions
{
    public const string Section = "Data";

    /// <summary>Directory for the embedded database and other local files. Defaults to ./data.</summary>
    [Required]
    public string DataDir { get; set; } = "data";

    /// <summary>A PostgreSQL connection string ("Host=…"); empty means the embedded SQLite database.</summary>
    public string? Database { get; set; }

    /// <summary>SQLite busy timeout: how long a writer waits for the single write lock.</summary>
    [Range(100, 600_000)]
    public int SqliteBusyTimeoutMs { get; set; } = 5_000;

    public DatabaseProvider Provider => DatabaseProviders.Detect(Database);

    public string SqlitePath => Path.GetFullPath(Path.Combine(DataDir, "upswing.db"));
}

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}

public static class DatabaseProviders
{
    /// <summary>A connection string in key=value form with a Host (or a postgres:// URI) is PostgreSQL; anything else is rejected.</summary>
    public static DatabaseProvider Detect(string? database)
    {
        if (string.IsNullOrWhiteSpace(database))
        {
            return DatabaseProvider.Sqlite;
        }

        var text = database.Trim();
        if (text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
            || text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            || text.Contains("host=", StringComparison.OrdinalIgnoreCase))
        {
            return DatabaseProvider.Postgres;
        }

        throw new InvalidOperationException("The database setting must be a PostgreSQL connection string such as \"Host=localhost;Username=upswing;Database=upswing\", or empty for the embedded SQLite database.");
    }

    /// <summary>Turns a postgres:// URI into Npgsql's key=value form; key=value strings pass through.</summary>
    public static string ToNpgsqlConnectionString(string database)
    {
        var text = database.Trim();
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            return text;
        }

        var uri = new Uri(text);
        var builder = new Npgsql.NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = uri.AbsolutePath.Trim('/'),
        };
        var userInfo = uri.UserInfo.Split(':', 2);
        if (userInfo[0].Length > 0)
        {
            builder.Username = Uri.UnescapeDataString(userInfo[0]);
        }

        if (userInfo.Length > 1)
        {
            builder.Password = Uri.UnescapeDataString(userInfo[1]);
        }

        return builder.ConnectionString;
    }
}
