using Microsoft.Extensions.DependencyInjection;
using Upswing.Analytics;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Analytics;

/// <summary>The experiment_metric_rollups store through its public service, on SQLite and PostgreSQL.</summary>
public abstract class ExperimentMetricRollupsContract(ServerFixture fixture)
{
    private static readonly DateOnly Day1 = new(2026, 11, 1);
    private static readonly DateTimeOffset ComputedAt = new(2026, 11, 5, 3, 4, 5, 678, TimeSpan.Zero);

    private UpswingTestServer Server => fixture.Server;

    [Fact]
    public async Task Upsert_TheSameRowsTwice_LeavesTheSameRows()
    {
        var (workspace, experiment) = await ArrangeAsync();
        var rows = new List<ExperimentMetricRollupRow>
        {
            Row(experiment, "orders", 0, Day1, 100, 12, 12),
            Row(experiment, "orders", 1, Day1, 98, 15, 15),
            Row(experiment, "orders", 0, Day1.AddDays(1), 80, 7, 7),
        };

        await UpsertAsync(workspace, rows);
        var once = await ReadAsync(workspace, experiment);
        await UpsertAsync(workspace, rows);
        var twice = await ReadAsync(workspace, experiment);

        Assert.Equal(3, once.Count);
        Assert.Equal(once, twice);
        Assert.Equal(rows.OrderBy(r => r.Variation).ThenBy(r => r.Day), once);
    }

    [Fact]
    public async Task Upsert_OfAnExistingDay_ReplacesItsValues_NotAddsToThem()
    {
        var (workspace, experiment) = await ArrangeAsync();
        var laterComputed = ComputedAt.AddHours(6);
        await UpsertAsync(workspace, [
            Row(experiment, "aov", 1, Day1, 50, 1200.5, 48000.25) with { DenominatorSum = 60, DenominatorSumSquares = 80, SumProducts = 1500, PreSum = 10, PreSumSquares = 20, SumProductsPre = 30 },
            Row(experiment, "orders", 1, Day1, 50, 9, 9),
        ]);

        await UpsertAsync(workspace, [
            Row(experiment, "aov", 1, Day1, 55, 1300, 50000) with { DenominatorSum = 66, DenominatorSumSquares = 90, SumProducts = 1600, ComputedAt = laterComputed },
        ]);

        var rows = await ReadAsync(workspace, experiment);
        Assert.Equal(2, rows.Count);
        var aov = rows[0];
        Assert.Equal(Row(experiment, "aov", 1, Day1, 55, 1300, 50000) with { DenominatorSum = 66, DenominatorSumSquares = 90, SumProducts = 1600, ComputedAt = laterComputed }, aov);
        Assert.Null(aov.PreSum);
        Assert.Equal(Row(experiment, "orders", 1, Day1, 50, 9, 9), rows[1]);
    }

    [Fact]
    public async Task Upsert_WithoutComputedAt_StampsTheServersClock()
    {
        var (workspace, experiment) = await ArrangeAsync();
        var before = TimeProvider.System.GetUtcNow().AddSeconds(-1);
        await UpsertAsync(workspace, [Row(experiment, "orders", 0, Day1, 1, 1, 1) with { ComputedAt = null }]);

        var row = Assert.Single(await ReadAsync(workspace, experiment));
        Assert.InRange(row.ComputedAt!.Value, before, TimeProvider.System.GetUtcNow().AddSeconds(1));
    }

    [Fact]
    public async Task Read_OrdersByMetricKeyOrdinally_ThenVariation_ThenDay()
    {
        var (workspace, experiment) = await ArrangeAsync();
        // Upper case sorts before lower case by code point, which a linguistic collation would not do.
        string[] metrics = ["signup", "Revenue", "activation", "a.b", "a-b"];
        var rows = (from metric in metrics from variation in new[] { 2, 0, 1 } from day in new[] { 3, 1, 2 } select Row(experiment, metric, variation, Day1.AddDays(day), day, variation, day)).ToList();
        await UpsertAsync(workspace, rows);

        var read = await ReadAsync(workspace, experiment);

        Assert.Equal(
            rows.OrderBy(r => r.MetricKey, StringComparer.Ordinal).ThenBy(r => r.Variation).ThenBy(r => r.Day).Select(Key),
            read.Select(Key));
        Assert.Equal(["Revenue", "a-b", "a.b", "activation", "signup"], read.Select(r => r.MetricKey).Distinct());
    }

    [Fact]
    public async Task Delete_RemovesOnlyTheDaysOfTheWindowOfThatExperiment()
    {
        var (workspace, experiment) = await ArrangeAsync();
        var other = Infrastructure.Unique("other-exp");
        var days = Enumerable.Range(0, 5).Select(Day1.AddDays).ToList();
        await UpsertAsync(workspace, [.. days.SelectMany(d => new[] { Row(experiment, "orders", 0, d, 1, 1, 1), Row(experiment, "orders", 1, d, 1, 1, 1), Row(other, "orders", 0, d, 1, 1, 1) })]);

        var deleted = await WithRollupsAsync(r => r.DeleteAsync(workspace, experiment, days[1], days[3], default));

        Assert.Equal(6, deleted);
        Assert.Equal([days[0], days[4]], (await ReadAsync(workspace, experiment)).Select(r => r.Day).Distinct());
        Assert.Equal(5, (await ReadAsync(workspace, other)).Count);
        Assert.Equal(0, await WithRollupsAsync(r => r.DeleteAsync(workspace, experiment, days[1], days[3], default)));
        Assert.Equal(1, await WithRollupsAsync(r => r.DeleteAsync(workspace, other, days[2], days[2], default)));
    }

    [Fact]
    public async Task Workspaces_AreIsolated_ForTheSameExperimentKey()
    {
        var (a, experiment) = await ArrangeAsync();
        var b = (await Server.CreateWorkspaceAsync()).Workspace.Id;
        await UpsertAsync(a, [Row(experiment, "orders", 0, Day1, 10, 1, 1)]);
        await UpsertAsync(b, [Row(experiment, "orders", 0, Day1, 20, 2, 2), Row(experiment, "orders", 1, Day1, 30, 3, 3)]);

        Assert.Equal([10L], (await ReadAsync(a, experiment)).Select(r => r.Units));
        Assert.Equal([20L, 30L], (await ReadAsync(b, experiment)).Select(r => r.Units));

        Assert.Equal(1, await WithRollupsAsync(r => r.DeleteAsync(a, experiment, Day1, Day1, default)));
        Assert.Empty(await ReadAsync(a, experiment));
        Assert.Equal(2, (await ReadAsync(b, experiment)).Count);
    }

    [Fact]
    public async Task Upsert_ManyRows_CommitsAllOfThem_AndNumbersRoundTripExactly()
    {
        var (workspace, experiment) = await ArrangeAsync();
        // More than one PostgreSQL statement's worth of rows, with values that do not survive a decimal round trip.
        var rows = (from metric in Enumerable.Range(0, 6)
                    from variation in Enumerable.Range(0, 3)
                    from day in Enumerable.Range(0, 400)
                    select Row(experiment, $"m{metric}", variation, Day1.AddDays(day), 1_000_000_000_000L + day, 0.1 * day + 1e-9, Math.PI * day * 1e12)).ToList();
        await UpsertAsync(workspace, rows);

        var read = await ReadAsync(workspace, experiment);
        Assert.Equal(rows.Count, read.Count);
        Assert.Equal(rows.OrderBy(r => r.MetricKey, StringComparer.Ordinal).ThenBy(r => r.Variation).ThenBy(r => r.Day), read);
    }

    [Fact]
    public async Task Upsert_AnInvalidBatch_WritesNothing()
    {
        var (workspace, experiment) = await ArrangeAsync();
        var good = Row(experiment, "orders", 0, Day1, 1, 1, 1);

        await Assert.ThrowsAsync<ArgumentException>(() => UpsertAsync(workspace, [good, good with { Units = 2 }]));
        await Assert.ThrowsAsync<ArgumentException>(() => UpsertAsync(workspace, [good, Row(experiment, "orders", 1, Day1, 1, double.NaN, 1)]));
        await Assert.ThrowsAsync<ArgumentException>(() => WithRollupsAsync(r => r.DeleteAsync(workspace, experiment, Day1.AddDays(1), Day1, default)));

        Assert.Empty(await ReadAsync(workspace, experiment));
    }

    private static ExperimentMetricRollupRow Row(string experiment, string metric, int variation, DateOnly day, long units, double sum, double sumSquares) =>
        new(experiment, metric, variation, day, units, sum, sumSquares, ComputedAt: ComputedAt);

    private static string Key(ExperimentMetricRollupRow r) => $"{r.MetricKey}/{r.Variation}/{r.Day:yyyy-MM-dd}";

    private async Task<(Guid Workspace, string Experiment)> ArrangeAsync() =>
        ((await Server.CreateWorkspaceAsync()).Workspace.Id, Infrastructure.Unique("exp"));

    private Task UpsertAsync(Guid workspace, IReadOnlyList<ExperimentMetricRollupRow> rows) =>
        WithRollupsAsync(async r =>
        {
            await r.UpsertAsync(workspace, rows, default);
            return 0;
        });

    private Task<IReadOnlyList<ExperimentMetricRollupRow>> ReadAsync(Guid workspace, string experiment) =>
        WithRollupsAsync(r => r.ReadAsync(workspace, experiment, default));

    private Task<T> WithRollupsAsync<T>(Func<ExperimentMetricRollups, Task<T>> action) =>
        Server.WithServicesAsync(services => action(services.GetRequiredService<ExperimentMetricRollups>()));
}

[Trait("Provider", "SQLite")]
public sealed class ExperimentMetricRollupsOnSqlite(SqliteServerFixture fixture) : ExperimentMetricRollupsContract(fixture), IClassFixture<SqliteServerFixture>;

[Trait("Provider", "PostgreSQL")]
public sealed class ExperimentMetricRollupsOnPostgres(PostgresServerFixture fixture) : ExperimentMetricRollupsContract(fixture), IClassFixture<PostgresServerFixture>;
