namespace Upswing.Server.Hosting;

/// <summary>The first administrator, created on first start when the installation has no users.</summary>
internal sealed class AdminOptions
{
    public const string Section = "Admin";

    /// <summary>UPSWING_ADMIN_EMAIL; admin@upswing.local when empty.</summary>
    public string? Email { get; set; }

    /// <summary>UPSWING_ADMIN_PASSWORD; when empty a one-time password is generated and printed once.</summary>
    public string? Password { get; set; }
}

/// <summary>What `upswing serve` does before it accepts requests.</summary>
internal sealed class StartupOptions
{
    /// <summary>Apply pending migrations on start. Defaults to on for SQLite; PostgreSQL uses `upswing migrate`.</summary>
    public bool? AutoMigrate { get; set; }

    /// <summary>Create the demo workspace (serve --demo).</summary>
    public bool Demo { get; set; }

    /// <summary>Print the dashboard URL and sign-in help to stdout once listening.</summary>
    public bool PrintBanner { get; set; }
}
