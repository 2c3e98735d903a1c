using Upswing.Common;
using Upswing.Common.Http;

namespace Upswing.Analytics;

/// <summary>The retention query's validated parameters: cohort type, period, and the cohort starts <see cref="From"/>…<see cref="To"/> (weeks: Mondays).</summary>
public sealed record RetentionFilter(string Type, string Period, DateOnly From, DateOnly To)
{
    /// <summary>The longest range of cohort starts one query may ask for.</summary>
    public const int MaxDays = 366;

    /// <summary>
    /// Reads the query values. type defaults to first_time, period to day; to defaults to today (UTC), from to 29 days
    /// before to (weeks: 11 weeks before to's week). For weeks both ends move to the Monday of their week. Each invalid field is one error.
    /// </summary>
    public static Result<RetentionFilter> Parse(string? type, string? period, string? from, string? to, DateOnly today)
    {
        var errors = new FieldErrors();
        type ??= Retention.FirstTime;
        period ??= Retention.Day;
        if (!Retention.Types.Contains(type))
        {
            errors.Add("type", "type must be first_time or recurring.");
        }

        if (!Retention.Periods.Contains(period))
        {
            errors.Add("period", "period must be day or week.");
            period = Retention.Day;
        }

        var toDay = Retention.PeriodStart(period, DayRange.ParseDay(to, "to", today, errors));
        var fromDay = Retention.PeriodStart(period, DayRange.ParseDay(from, "from", Retention.OffsetStart(period, toDay, 1 - DefaultCohorts(period)), errors));
        if (!errors.Any && fromDay > toDay)
        {
            errors.Add("from", "from must be on or before to.");
        }
        else if (!errors.Any && toDay.DayNumber - fromDay.DayNumber >= MaxDays)
        {
            errors.Add("to", $"The range may span at most {MaxDays} days.");
        }

        return errors.Any ? errors.ToFailure() : new RetentionFilter(type, period, fromDay, toDay);
    }

    /// <summary>How many cohorts the default range holds: 30 days or 12 weeks.</summary>
    public static int DefaultCohorts(string period) => period == Retention.Week ? 12 : 30;
}

/// <summary>The answer of <c>GET /api/v1/analytics/retention</c>.</summary>
public sealed record RetentionDto(string Type, string Period, DateOnly From, DateOnly To, IReadOnlyList<RetentionCohortDto> Cohorts, IReadOnlyList<RetentionAverageDto> Average);

/// <summary>One cohort: its start, its size (offset 0) and the offsets it has reached.</summary>
public sealed record RetentionCohortDto(DateOnly CohortStart, long Size, IReadOnlyList<RetentionValueDto> Values);

/// <summary>One cell: the cohort's persons active <see cref="Offset"/> periods later, and their share of the cohort.</summary>
public sealed record RetentionValueDto(int Offset, long Persons, double Rate);

/// <summary>One offset over every cohort that has reached it: Σ persons / Σ cohort sizes.</summary>
public sealed record RetentionAverageDto(int Offset, double Rate, long Persons, long CohortSize);

/// <summary>One CSV line: a cohort's cell.</summary>
public sealed record RetentionCsvRow(DateOnly CohortStart, long Size, int Offset, long Persons, double Rate);

/// <summary>Retention cohorts as the API and the dashboard show them, read only from <c>retention_cohorts</c>.</summary>
public sealed class RetentionQuery(RetentionRollups rollups)
{
    public static readonly IReadOnlyList<CsvColumn<RetentionCsvRow>> CsvColumns =
    [
        new("cohortStart", r => r.CohortStart), new("size", r => r.Size), new("offset", r => r.Offset), new("persons", r => r.Persons), new("rate", r => r.Rate),
    ];

    /// <summary>The filter's cohorts with the offsets they have reached by <paramref name="today"/>, and the weighted average per offset.</summary>
    public async Task<RetentionDto> GetAsync(Guid workspaceId, RetentionFilter filter, Guid? environmentId, DateOnly today, CancellationToken ct) =>
        Build(filter, await rollups.ReadAsync(workspaceId, filter.Type, filter.Period, filter.From, filter.To, environmentId, ct), today);

    /// <summary>
    /// Groups rows (one type and period, by cohort start and offset) into cohorts. A cell counts only when its period has
    /// started by <paramref name="today"/> and the rollup stored it; a cohort without its offset 0 row is skipped.
    /// </summary>
    public static RetentionDto Build(RetentionFilter filter, IEnumerable<RetentionRow> rows, DateOnly today)
    {
        var cohorts = new List<RetentionCohortDto>();
        var persons = new long[Retention.MaxOffset(filter.Period) + 1];
        var sizes = new long[persons.Length];
        foreach (var cohort in rows.GroupBy(r => r.CohortStart).OrderBy(g => g.Key))
        {
            var size = cohort.FirstOrDefault(r => r.Offset == 0)?.Persons ?? 0;
            if (size == 0)
            {
                continue;
            }

            var values = cohort.Where(r => r.Offset < persons.Length && Retention.OffsetStart(filter.Period, cohort.Key, r.Offset) <= today)
                .OrderBy(r => r.Offset).Select(r => new RetentionValueDto(r.Offset, r.Persons, (double)r.Persons / size)).ToList();
            foreach (var v in values)
            {
                persons[v.Offset] += v.Persons;
                sizes[v.Offset] += size;
            }

            cohorts.Add(new RetentionCohortDto(cohort.Key, size, values));
        }

        var average = Enumerable.Range(0, persons.Length).Where(k => sizes[k] > 0)
            .Select(k => new RetentionAverageDto(k, (double)persons[k] / sizes[k], persons[k], sizes[k])).ToList();
        return new RetentionDto(filter.Type, filter.Period, filter.From, filter.To, cohorts, average);
    }

    /// <summary>The cells as CSV lines, cohort by cohort.</summary>
    public static IEnumerable<RetentionCsvRow> CsvRows(RetentionDto retention) =>
        retention.Cohorts.SelectMany(c => c.Values.Select(v => new RetentionCsvRow(c.CohortStart, c.Size, v.Offset, v.Persons, v.Rate)));
}
