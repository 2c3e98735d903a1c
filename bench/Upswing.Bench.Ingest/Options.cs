using System.Globalization;

namespace Upswing.Bench.Ingest;

/// <summary>--name value pairs.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string> values = new(StringComparer.Ordinal);

    public static Options Parse(IEnumerable<string> args)
    {
        var options = new Options();
        string? name = null;
        foreach (var arg in args)
        {
            if (name is null)
            {
                name = arg.StartsWith("--", StringComparison.Ordinal) ? arg[2..] : throw new ArgumentException($"expected --option, got '{arg}'");
            }
            else
            {
                options.values[name] = arg;
                name = null;
            }
        }

        return name is null ? options : throw new ArgumentException($"--{name} needs a value");
    }

    public string? Get(string name) => values.GetValueOrDefault(name);

    public string Require(string name) => Get(name) ?? throw new ArgumentException($"--{name} is required");

    public int Int(string name, int fallback) => Get(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) => Get(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
