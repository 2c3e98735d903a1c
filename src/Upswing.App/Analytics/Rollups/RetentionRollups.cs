using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Npgsql;
using NpgsqlTypes;
using Upswing.Data;
using Upswing.Events;

namespace Upswing.Analytics;

/// <summary>
/// The <c>retention</c> rollup (fills <c>retention_cohorts</c>): per workspace, environment bucket (each its own
/// population, <see cref="RollupEnvironment"/>), cohort type (first-time, recurring),
/// period (day, ISO week) and cohort start, the persons active 0…30 days or 0…12 weeks later. A run replaces every cohort
/// the window's days can change: cohorts from <see cref="Retention.FirstAffectedCohort"/> of the window's first day to its
/// last. Activity comes from the database as distinct (person, day) pairs ordered by person
/// (<see cref="RawEventReader.ReadActiveDaysAsync"/>), so one person's bitmap is in memory at a time; who is new since the
/// first affected day is one aggregate (<see cref="RawEventReader.PersonsFirstActiveSinceAsync"/>). Verification reads the
/// raw track events instead and derives both in C#.
/// </summary>
public sealed class RetentionRollups(RawEventReader events, SqlDialect dialect) : IRollup
{
    public const string Name = "retention";

    private bool Postgres => dialect.Provider == DatabaseProvider.Postgres;

    public Task<DateOnly?> EarliestDayAsync(Guid workspaceId, CancellationToken ct) => events.EarliestDayAsync(workspaceId, ct);

    public async Task<RollupWrite> WriteAsync(RollupWindow window, CancellationToken ct)
    {
        var rows = await ComputeAsync(window, ct);
        await ReplaceAsync(window.WorkspaceId, window.From, window.To, rows, window.Now, ct);
        return new RollupWrite(rows.Count, Retention.DataFrom(window.From), window.To);
    }

    public async Task<IReadOnlyList<RollupDifference>> VerifyAsync(RollupWindow window, CancellationToken ct)
    {
        var computed = await ComputeFromEventsAsync(window, ct);
        var stored = new Dictionary<(Guid, string, string, DateOnly, int), RetentionRow>();
        foreach (var type in Retention.Types)
        {
            foreach (var period in Retention.Periods)
            {
                foreach (var row in await ReadBucketsAsync(window.WorkspaceId, type, period, Retention.FirstAffectedCohort(period, window.From), window.To, ct))
                {
                    stored[Key(row)] = row;
                }
            }
        }

        var differences = new List<RollupDifference>();
        foreach (var row in computed)
        {
            if (!stored.Remove(Key(row), out var s))
            {
                differences.Add(new RollupDifference(Describe(row), "row", "missing", Format(row)));
            }
            else if (s.Persons != row.Persons)
            {
                differences.Add(new RollupDifference(Describe(row), "persons", Format(s), Format(row)));
            }
        }

        differences.AddRange(stored.Values.Select(r => new RollupDifference(Describe(r), "row", Format(r), "none")));
        return differences;
    }

    /// <summary>The rows of every cohort the window can change, from the database's person-days and first-activity aggregate.</summary>
    internal async Task<List<RetentionRow>> ComputeAsync(RollupWindow window, CancellationToken ct)
    {
        var counters = new Counters(window);
        var start = RollupWindow.StartOf(counters.DataFrom);
        // Everyone is new when the workspace has no event before the range (a first run): skip the aggregate over all events.
        var earliest = await events.EarliestDayAsync(window.WorkspaceId, ct);
        var newPersons = earliest is { } e && e >= counters.DataFrom ? null : await events.PersonsFirstActiveSinceAsync(window.WorkspaceId, start, window.End, ct);
        var bitmap = new ulong[counters.BitmapLength];
        (Guid Environment, string Person)? person = null;
        await foreach (var day in events.ReadActiveDaysAsync(window.WorkspaceId, start, window.End, ct))
        {
            if (person is not { } current || current.Environment != day.Environment || !string.Equals(current.Person, day.Person, StringComparison.Ordinal))
            {
                if (person is { } previous)
                {
                    counters[previous.Environment].Add(bitmap, newPersons?.Contains(previous) ?? true);
                    Array.Clear(bitmap);
                }

                person = (day.Environment, day.Person);
            }

            counters[day.Environment].Set(bitmap, day.Day);
        }

        if (person is { } last)
        {
            counters[last.Environment].Add(bitmap, newPersons?.Contains(last) ?? true);
        }

        return counters.Rows();
    }

    /// <summary>The same rows from the raw track events (every one up to the window's end), grouped in C#: what verify compares with.</summary>
    internal async Task<List<RetentionRow>> ComputeFromEventsAsync(RollupWindow window, CancellationToken ct)
    {
        var counters = new Counters(window);
        var earliest = await events.EarliestDayAsync(window.WorkspaceId, ct) ?? window.From;
        var first = new Dictionary<(Guid, string), DateTimeOffset>();
        var active = new Dictionary<(Guid Environment, string Person), ulong[]>();
        await foreach (var e in events.ReadTrackAsync(window.WorkspaceId, null, RollupWindow.StartOf(earliest), window.End, ct))
        {
            var person = (e.Environment, e.Person);
            if (!first.TryGetValue(person, out var at) || e.Timestamp < at)
            {
                first[person] = e.Timestamp;
            }

            if (RollupWindow.DayOf(e.Timestamp) >= counters.DataFrom)
            {
                if (!active.TryGetValue(person, out var bitmap))
                {
                    active[person] = bitmap = new ulong[counters.BitmapLength];
                }

                counters[e.Environment].Set(bitmap, RollupWindow.DayOf(e.Timestamp));
            }
        }

        foreach (var (person, bitmap) in active)
        {
            counters[person.Environment].Add(bitmap, RollupWindow.DayOf(first[person]) >= counters.DataFrom);
        }

        return counters.Rows();
    }

    /// <summary>A <see cref="RetentionCounter"/> per environment bucket, made on first use.</summary>
    private sealed class Counters(RollupWindow window)
    {
        private readonly Dictionary<Guid, RetentionCounter> counters = [];
        private readonly RetentionCounter shape = new(window.From, window.To);

        public DateOnly DataFrom => shape.DataFrom;

        public int BitmapLength => shape.BitmapLength;

        public RetentionCounter this[Guid environment] =>
            counters.TryGetValue(environment, out var counter) ? counter : counters[environment] = new RetentionCounter(window.From, window.To);

        public List<RetentionRow> Rows() => [.. counters.OrderBy(c => c.Key).SelectMany(c => c.Value.Rows().Select(r => r with { Environment = c.Key }))];
    }

    /// <summary>
    /// The workspace's rows of one type and period with a cohort start in <paramref name="from"/>…<paramref name="to"/>,
    /// summed over the environment buckets of the view of <paramref name="environmentId"/> (null: every one), by cohort start and offset.
    /// </summary>
    public async Task<IReadOnlyList<RetentionRow>> ReadAsync(Guid workspaceId, string type, string period, DateOnly from, DateOnly to, Guid? environmentId, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        // The primary key (workspace_id, cohort_type, period, cohort_start, "offset", environment_id) serves the range and the order.
        command.CommandText = "SELECT cohort_start, \"offset\", SUM(persons) FROM retention_cohorts WHERE workspace_id = @workspace AND cohort_type = @type AND period = @period "
            + "AND cohort_start >= @from AND cohort_start <= @to" + RollupEnvironment.Condition(command, dialect, "environment_id", environmentId)
            + " GROUP BY cohort_start, \"offset\" ORDER BY cohort_start, \"offset\"";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@type", type);
        command.AddParameter("@period", period);
        command.AddParameter("@from", dialect.Value(from));
        command.AddParameter("@to", dialect.Value(to));
        var rows = new List<RetentionRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new RetentionRow(type, period, dialect.ReadDay(reader, 0), reader.GetInt32(1), reader.GetInt64(2)));
        }

        return rows;
    }

    /// <summary>The stored rows of one type and period with a cohort start in <paramref name="from"/>…<paramref name="to"/>, one per environment bucket.</summary>
    internal async Task<IReadOnlyList<RetentionRow>> ReadBucketsAsync(Guid workspaceId, string type, string period, DateOnly from, DateOnly to, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT cohort_start, \"offset\", persons, environment_id FROM retention_cohorts WHERE workspace_id = @workspace AND cohort_type = @type AND period = @period "
            + "AND cohort_start >= @from AND cohort_start <= @to";
        command.AddParameter("@workspace", dialect.Value(workspaceId));
        command.AddParameter("@type", type);
        command.AddParameter("@period", period);
        command.AddParameter("@from", dialect.Value(from));
        command.AddParameter("@to", dialect.Value(to));
        var rows = new List<RetentionRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new RetentionRow(type, period, dialect.ReadDay(reader, 0), reader.GetInt32(1), reader.GetInt64(2), reader.GetGuid(3)));
        }

        return rows;
    }

    /// <summary>
    /// Replaces every cohort a window <paramref name="from"/>…<paramref name="to"/> can change (per period from
    /// <see cref="Retention.FirstAffectedCohort"/> to <paramref name="to"/>, both types) with <paramref name="rows"/>, in one transaction.
    /// </summary>
    internal async Task ReplaceAsync(Guid workspaceId, DateOnly from, DateOnly to, IReadOnlyList<RetentionRow> rows, DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await dialect.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        foreach (var period in Retention.Periods)
        {
            await using var delete = connection.CreateCommand();
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM retention_cohorts WHERE workspace_id = @workspace AND period = @period AND cohort_start >= @from AND cohort_start <= @to";
            delete.AddParameter("@workspace", dialect.Value(workspaceId));
            delete.AddParameter("@period", period);
            delete.AddParameter("@from", dialect.Value(Retention.FirstAffectedCohort(period, from)));
            delete.AddParameter("@to", dialect.Value(to));
            await delete.ExecuteNonQueryAsync(ct);
        }

        // ON CONFLICT DO UPDATE: a concurrent run of the same window (the CLI beside the server) may commit between the
        // delete and the insert; the later writer's equal rows then win instead of failing.
        const string Upsert = "ON CONFLICT (workspace_id, cohort_type, period, cohort_start, \"offset\", environment_id) DO UPDATE SET persons = excluded.persons, computed_at = excluded.computed_at";
        if (Postgres)
        {
            foreach (var chunk in rows.Chunk(5000))
            {
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO retention_cohorts (workspace_id, cohort_type, period, cohort_start, \"offset\", environment_id, persons, computed_at) " +
                    $"SELECT @workspace, t.*, @now FROM unnest(@type, @period, @start, @offset, @environment, @persons) AS t {Upsert}",
                    (NpgsqlConnection)connection, (NpgsqlTransaction)transaction);
                insert.Parameters.Add(new NpgsqlParameter<Guid>("workspace", NpgsqlDbType.Uuid) { TypedValue = workspaceId });
                insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", NpgsqlDbType.TimestampTz) { TypedValue = now.ToUniversalTime() });
                insert.Parameters.Add(new NpgsqlParameter<string[]>("type", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. chunk.Select(r => r.Type)] });
                insert.Parameters.Add(new NpgsqlParameter<string[]>("period", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. chunk.Select(r => r.Period)] });
                insert.Parameters.Add(new NpgsqlParameter<DateOnly[]>("start", NpgsqlDbType.Array | NpgsqlDbType.Date) { TypedValue = [.. chunk.Select(r => r.CohortStart)] });
                insert.Parameters.Add(new NpgsqlParameter<int[]>("offset", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = [.. chunk.Select(r => r.Offset)] });
                insert.Parameters.Add(new NpgsqlParameter<Guid[]>("environment", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = [.. chunk.Select(r => r.Environment)] });
                insert.Parameters.Add(new NpgsqlParameter<long[]>("persons", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. chunk.Select(r => r.Persons)] });
                await insert.ExecuteNonQueryAsync(ct);
            }
        }
        else
        {
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO retention_cohorts (workspace_id, cohort_type, period, cohort_start, \"offset\", environment_id, persons, computed_at) "
                + $"VALUES (@workspace, @type, @period, @start, @offset, @environment, @persons, @now) {Upsert}";
            insert.AddParameter("@workspace", dialect.Value(workspaceId));
            insert.AddParameter("@now", dialect.Value(now));
            var (type, period, start, offset) = (insert.AddParameter("@type"), insert.AddParameter("@period"), insert.AddParameter("@start"), insert.AddParameter("@offset"));
            var (environment, persons) = (insert.AddParameter("@environment"), insert.AddParameter("@persons"));
            foreach (var row in rows)
            {
                (type.Value, period.Value, start.Value, offset.Value) = (row.Type, row.Period, dialect.Value(row.CohortStart), row.Offset);
                (environment.Value, persons.Value) = (dialect.Value(row.Environment), row.Persons);
                await insert.ExecuteNonQueryAsync(ct);
            }
        }

        await transaction.CommitAsync(ct);
    }

    private static (Guid, string, string, DateOnly, int) Key(RetentionRow r) => (r.Environment, r.Type, r.Period, r.CohortStart, r.Offset);

    private static string Describe(RetentionRow r) => string.Create(CultureInfo.InvariantCulture, $"{r.Type} {r.Period} {r.CohortStart:yyyy-MM-dd} +{r.Offset}")
        + (r.Environment == RollupEnvironment.None ? "" : $" (environment {r.Environment})");

    private static string Format(RetentionRow r) => r.Persons.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Persons of one workspace's retention cohort active a number of periods after its start. Written by hand-written SQL (<see cref="RetentionRollups"/>).</summary>
internal sealed class RetentionCohort
{
    public Guid WorkspaceId { get; set; }
    public required string CohortType { get; set; }
    public required string Period { get; set; }
    public DateOnly CohortStart { get; set; }
    public int Offset { get; set; }
    /// <summary>The environment of the persons' events' keys; <see cref="RollupEnvironment.None"/> for keys bound to none.</summary>
    public Guid EnvironmentId { get; set; }
    public long Persons { get; set; }
    public DateTimeOffset ComputedAt { get; set; }
}

internal sealed class RetentionCohortConfiguration : IEntityTypeConfiguration<RetentionCohort>
{
    public void Configure(EntityTypeBuilder<RetentionCohort> builder)
    {
        builder.ToTable("retention_cohorts");
        // The key is the only index: reads are one type and period's cohort range, and a re-run replaces a cohort range.
        builder.HasKey(r => new { r.WorkspaceId, r.CohortType, r.Period, r.CohortStart, r.Offset, r.EnvironmentId });
        builder.Property(r => r.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(r => r.CohortType).HasColumnName("cohort_type").HasMaxLength(16);
        builder.Property(r => r.Period).HasColumnName("period").HasMaxLength(8);
        builder.Property(r => r.CohortStart).HasColumnName("cohort_start");
        builder.Property(r => r.Offset).HasColumnName("offset");
        builder.Property(r => r.EnvironmentId).HasColumnName("environment_id");
        builder.Property(r => r.Persons).HasColumnName("persons");
        builder.Property(r => r.ComputedAt).HasColumnName("computed_at");
        builder.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(r => r.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}
