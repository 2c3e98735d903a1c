namespace Upswing.Server.Hosting;

/// <summary>Settings given on the command line; they win over every other configuration source.</summary>
internal sealed record CommandLineSettings(string? DataDir = null, string? Database = null, string? Urls = null)
{
    public IEnumerable<KeyValuePair<string, string?>> ToConfiguration()
    {
        if (DataDir is not null)
        {
            yield return new("Data:DataDir", DataDir);
        }

        if (Database is not null)
        {
            yield return new("Data:Database", Database);
        }

        if (Urls is not null)
        {
            yield return new("urls", Urls);
        }
    }
}

/// <summary>
/// Configuration layers, lowest first: appsettings.json, appsettings.{Environment}.json, environment
/// variables with the UPSWING_ prefix (UPSWING_Data__DataDir), the documented short names
/// (UPSWING_DATA_DIR, UPSWING_DATABASE, UPSWING_ADMIN_EMAIL, UPSWING_ADMIN_PASSWORD), then the command line.
/// </summary>
internal static class UpswingConfiguration
{
    private static readonly (string Variable, string Key)[] ShortNames =
    [
        ("UPSWING_DATA_DIR", "Data:DataDir"),
        ("UPSWING_DATABASE", "Data:Database"),
        ("UPSWING_ADMIN_EMAIL", "Admin:Email"),
        ("UPSWING_ADMIN_PASSWORD", "Admin:Password"),
        ("UPSWING_URLS", "urls"),
    ];

    public static void Apply(IConfigurationManager configuration, CommandLineSettings settings, IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        configuration.AddEnvironmentVariables("UPSWING_");
        var shortNames = ShortNames
            .Select(s => (s.Key, Value: Environment.GetEnvironmentVariable(s.Variable)))
            .Where(s => !string.IsNullOrEmpty(s.Value))
            .Select(s => new KeyValuePair<string, string?>(s.Key, s.Value));
        configuration.AddInMemoryCollection(shortNames);
        configuration.AddInMemoryCollection(settings.ToConfiguration());
        if (overrides is not null)
        {
            configuration.AddInMemoryCollection(overrides);
        }

        // Relative data directories mean "relative to where upswing was started", not to the binary.
        var dataDir = configuration["Data:DataDir"] ?? "data";
        configuration["Data:DataDir"] = Path.GetFullPath(dataDir, Environment.CurrentDirectory);
    }
}
