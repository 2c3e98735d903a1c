using System.Runtime.CompilerServices;
using Upswing.Data;

namespace Upswing.Events;

/// <summary>A stored web-vitals measurement as the vitals rollup reads it.</summary>
/// <param name="Name">LCP, INP, CLS, FCP, TTFB (or FID).</param>
/// <param name="Value">The metric's last reported value (ms, or unitless for CLS).</param>
/// <param name="Path">The page's path, or null when the page was not known.</param>
/// <param name="DeviceClass">mobile, tablet or desktop.</param>
/// <param name="Timestamp">When it was received.</param>
/// <param name="Environment">The environment of the key it came in with; <see cref="Guid.Empty"/> for a key bound to none.</param>
public sealed record RawWebVital(string Name, double Value, string? Path, string DeviceClass, DateTimeOffset Timestamp, Guid Environment = default);

/// <summary>
/// The read side of <c>web_vitals</c> for the Analytics module, so it never queries the Events tables itself.
/// The table holds one row per web-vitals metric id (ingestion replaces an earlier report of a growing CLS or INP),
/// so each row read is one sample.
/// </summary>
public sealed class WebVitalReader(SqlDialect dialect)
{
    /// <summary>The longest page path stored.</summary>
    public const int MaxPathLength = WebVitals.MaxUrlLength;

    /// <summary>The UTC day of the workspace's earliest stored measurement, or null when it has none.</summary>
    public async Task<DateOnly?> EarliestDayAsync(Guid workspaceId, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT MIN(timestamp) FROM web_vitals WHERE workspace_id = @workspace";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) && !reader.IsDBNull(0) ? DateOnly.FromDateTime(dialect.ReadTime(reader, 0).UtcDateTime) : null;
    }

    /// <summary>The workspace's measurements with <paramref name="start"/> ≤ timestamp &lt; <paramref name="end"/>.</summary>
    public async IAsyncEnumerable<RawWebVital> ReadAsync(Guid workspaceId, DateTimeOffset start, DateTimeOffset end, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        // No index leads with (workspace_id, timestamp); (workspace_id, name, timestamp) serves the workspace prefix, and
        // vitals volumes are modest next to events.
        command.CommandText = $"SELECT name, value, path, device_class, timestamp, COALESCE(environment_id, {RawEventReader.NoEnvironment}) "
            + "FROM web_vitals WHERE workspace_id = @workspace AND timestamp >= @start AND timestamp < @end";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@start", dialect.Value(start));
        command.AddParameter("@end", dialect.Value(end));
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            yield return new RawWebVital(reader.GetString(0), reader.GetDouble(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3), dialect.ReadTime(reader, 4), reader.GetGuid(5));
        }
    }
}
