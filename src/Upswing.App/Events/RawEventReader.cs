using System.Data.Common;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Upswing.Data;

namespace Upswing.Events;

/// <summary>A stored track event as rollups read it: who did it (the person, see <see cref="RawEventReader"/>), what and when.</summary>
/// <param name="Person">The user id, else the user the anonymous id is linked to, else the anonymous id.</param>
/// <param name="Name">The event name.</param>
/// <param name="Timestamp">When it happened (skew-corrected).</param>
/// <param name="Properties">The properties as a JSON object text, or null.</param>
/// <param name="Environment">The environment of the key it came in with; <see cref="Guid.Empty"/> for a key bound to none.</param>
public sealed record RawTrackEvent(string Person, string Name, DateTimeOffset Timestamp, string? Properties, Guid Environment = default);

/// <summary>Track events and users per UTC day, environment and event name, as the database counts them.</summary>
/// <param name="Day">The UTC day of the events' timestamps.</param>
/// <param name="Environment">The environment of the keys they came in with; <see cref="Guid.Empty"/> for keys bound to none.</param>
/// <param name="Name">The event name.</param>
/// <param name="Events">How many were stored.</param>
/// <param name="Users">How many distinct persons did them.</param>
public sealed record DailyEventCount(DateOnly Day, Guid Environment, string Name, long Events, long Users);

/// <summary>A person who had at least one track event on a UTC day, with a key of an environment (<see cref="Guid.Empty"/>: of none).</summary>
public readonly record struct PersonDay(string Person, DateOnly Day, Guid Environment = default);

/// <summary>
/// The read side of raw events for rollups (the Analytics module), so they never query the Events tables themselves.
/// A <b>person</b> is how identity links merge ids: an event's person is its user id, else the user its anonymous id is
/// linked to in <c>event_identities</c> (the first link of an anonymous id wins, as ingestion records it), else the
/// anonymous id. Hand-written SQL: these scans are the rollups' hot path.
/// </summary>
public sealed class RawEventReader(SqlDialect dialect)
{
    private const int ChunkSize = 500;

    private bool Postgres => dialect.Provider == DatabaseProvider.Postgres;

    // LEFT JOIN on event_identities' primary key (workspace_id, anonymous_id): one probe per event with an anonymous id.
    private const string PersonJoin = "LEFT JOIN event_identities i ON i.workspace_id = e.workspace_id AND i.anonymous_id = e.anonymous_id";
    private const string Person = "COALESCE(e.user_id, i.user_id, e.anonymous_id)";
    private const string Environment = $"COALESCE(e.environment_id, {NoEnvironment})";

    /// <summary>The SQL text of the environment of events sent with a key bound to none (<see cref="Guid.Empty"/>), on both providers.</summary>
    internal const string NoEnvironment = "'00000000-0000-0000-0000-000000000000'";

    /// <summary>The UTC day of the workspace's earliest stored event, or null when it has none.</summary>
    public async Task<DateOnly?> EarliestDayAsync(Guid workspaceId, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        // The (workspace_id, timestamp) index answers MIN with one probe.
        command.CommandText = "SELECT MIN(timestamp) FROM events WHERE workspace_id = @workspace";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) && !reader.IsDBNull(0) ? DateOnly.FromDateTime(dialect.ReadTime(reader, 0).UtcDateTime) : null;
    }

    /// <summary>
    /// Track events and distinct persons per UTC day, environment and name for the days <paramref name="from"/>…<paramref name="to"/>
    /// (both included), aggregated in the database.
    /// </summary>
    public async Task<IReadOnlyList<DailyEventCount>> CountDailyAsync(Guid workspaceId, DateOnly from, DateOnly to, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        var day = dialect.DayOf("e.timestamp");
        // The (workspace_id, timestamp) index bounds the scan; on PostgreSQL the range also prunes day partitions.
        command.CommandText = $"""
            SELECT {day} AS day, {Environment} AS environment, e.name, COUNT(*), COUNT(DISTINCT {Person})
            FROM events e {PersonJoin}
            WHERE e.workspace_id = @workspace AND e.timestamp >= @from AND e.timestamp < @to AND e.type = 'track' AND e.name IS NOT NULL
            GROUP BY 1, 2, e.name
            """;
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@from", dialect.Value(Start(from)));
        command.AddParameter("@to", dialect.Value(Start(to.AddDays(1))));
        var rows = new List<DailyEventCount>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new DailyEventCount(dialect.ReadDay(reader, 0), reader.GetGuid(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4)));
        }

        return rows;
    }

    /// <summary>
    /// Streams the workspace's track events with a timestamp in [<paramref name="from"/>, <paramref name="to"/>), of the
    /// given names (every name when null), in no particular order.
    /// </summary>
    public async IAsyncEnumerable<RawTrackEvent> ReadTrackAsync(Guid workspaceId, IReadOnlyCollection<string>? names, DateTimeOffset from, DateTimeOffset to,
        [EnumeratorCancellation] CancellationToken ct)
    {
        if (names is { Count: 0 } || from >= to)
        {
            yield break;
        }

        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        var properties = Postgres ? "e.properties::text" : "e.properties";
        var sql = new StringBuilder($"""
            SELECT {Person}, e.name, e.timestamp, {properties}, {Environment}
            FROM events e {PersonJoin}
            WHERE e.workspace_id = @workspace AND e.timestamp >= @from AND e.timestamp < @to AND e.type = 'track' AND e.name IS NOT NULL
            """);
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@from", dialect.Value(from));
        command.AddParameter("@to", dialect.Value(to));
        if (names is not null)
        {
            sql.Append(" AND e.name");
            AppendIn(command, sql, "n", [.. names]);
        }

        command.CommandText = sql.ToString();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            yield return new RawTrackEvent(reader.GetString(0), reader.GetString(1), dialect.ReadTime(reader, 2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetGuid(4));
        }
    }

    /// <summary>
    /// The distinct (environment, person, UTC day) triples of the workspace's track events with a timestamp in [<paramref name="from"/>,
    /// <paramref name="to"/>), aggregated in the database and ordered so that each environment's person's days come together.
    /// </summary>
    public async IAsyncEnumerable<PersonDay> ReadActiveDaysAsync(Guid workspaceId, DateTimeOffset from, DateTimeOffset to, [EnumeratorCancellation] CancellationToken ct)
    {
        if (from >= to)
        {
            yield break;
        }

        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        // The (workspace_id, timestamp) index bounds the scan; grouping returns person-days, not events.
        command.CommandText = $"""
            SELECT {Person} AS person, {dialect.DayOf("e.timestamp")} AS day, {Environment} AS environment
            FROM events e {PersonJoin}
            WHERE e.workspace_id = @workspace AND e.timestamp >= @from AND e.timestamp < @to AND e.type = 'track' AND e.name IS NOT NULL
            GROUP BY 3, 1, 2 ORDER BY 3, 1
            """;
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@from", dialect.Value(from));
        command.AddParameter("@to", dialect.Value(to));
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            yield return new PersonDay(reader.GetString(0), dialect.ReadDay(reader, 1), reader.GetGuid(2));
        }
    }

    /// <summary>
    /// The persons, per environment, whose earliest track event of that environment (before <paramref name="to"/>) is at or
    /// after <paramref name="from"/>: one <c>GROUP BY environment, person HAVING MIN(timestamp)</c> in the database over the
    /// workspace's track events before <paramref name="to"/>.
    /// </summary>
    public async Task<HashSet<(Guid Environment, string Person)>> PersonsFirstActiveSinceAsync(Guid workspaceId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var persons = new HashSet<(Guid Environment, string Person)>();
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {Environment}, {Person}
            FROM events e {PersonJoin}
            WHERE e.workspace_id = @workspace AND e.timestamp < @to AND e.type = 'track' AND e.name IS NOT NULL
            GROUP BY 1, 2 HAVING MIN(e.timestamp) >= @from
            """;
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@from", dialect.Value(from));
        command.AddParameter("@to", dialect.Value(to));
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            persons.Add((reader.GetGuid(0), reader.GetString(1)));
        }

        return persons;
    }

    /// <summary>The person of each id: the user an anonymous id is linked to, or the id itself.</summary>
    public async Task<IReadOnlyDictionary<string, string>> PersonsAsync(Guid workspaceId, IReadOnlyCollection<string> ids, CancellationToken ct)
    {
        var persons = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            persons[id] = id;
        }

        if (persons.Count == 0)
        {
            return persons;
        }

        await using var connection = await dialect.OpenConnectionAsync(ct);
        foreach (var chunk in persons.Keys.ToList().Chunk(ChunkSize))
        {
            await using var command = connection.CreateCommand();
            var sql = new StringBuilder("SELECT anonymous_id, user_id FROM event_identities WHERE workspace_id = @workspace AND anonymous_id");
            command.AddParameter("@workspace", dialect.Value(workspaceId));
            AppendIn(command, sql, "a", chunk);
            // Served by the primary key (workspace_id, anonymous_id).
            command.CommandText = sql.ToString();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                persons[reader.GetString(0)] = reader.GetString(1);
            }
        }

        return persons;
    }

    private static DateTimeOffset Start(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    private void AppendIn(DbCommand command, StringBuilder sql, string prefix, string[] values)
    {
        if (Postgres)
        {
            sql.Append(" = ANY(@").Append(prefix).Append(')');
            command.AddParameter("@" + prefix, values);
            return;
        }

        sql.Append(" IN (");
        for (var i = 0; i < values.Length; i++)
        {
            var name = "@" + prefix + i.ToString(CultureInfo.InvariantCulture);
            sql.Append(i == 0 ? "" : ", ").Append(name);
            command.AddParameter(name, values[i]);
        }

        sql.Append(')');
    }
}
