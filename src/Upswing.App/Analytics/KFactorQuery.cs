using Upswing.Common;
using Upswing.Common.Http;

namespace Upswing.Analytics;

/// <summary>One loop's totals over the queried cohort days: sums of the daily rows (inviters summed per day), their ratios, and K = Σjoined / Σinviters.</summary>
public sealed record KFactorLoopDto(
    string Loop, long Inviters, long InvitesSent, long Opened, long Joined, long ReachedFirstValue,
    double? InvitesPerInviter, double? OpenRate, double? JoinRate, double? FirstValueRate, double? K);

/// <summary>One loop's cohort day: its rollup row, invites per inviter, invite-to-join conversion and K.</summary>
public sealed record KFactorCohortDto(
    string Loop, DateOnly CohortDay, long Inviters, long InvitesSent, long Opened, long Joined, long ReachedFirstValue,
    double? InvitesPerInviter, double? JoinRate, double? K);

/// <summary>The answer of <c>GET /api/v1/analytics/kfactor</c>: the cohort days <see cref="From"/>…<see cref="To"/>, per loop and per loop and cohort day.</summary>
public sealed record KFactorReport(DateOnly From, DateOnly To, IReadOnlyList<KFactorLoopDto> Loops, IReadOnlyList<KFactorCohortDto> Cohorts);

/// <summary>The K-factor query's validated parameters: cohort days <see cref="From"/>…<see cref="To"/> (UTC, both included) and an optional loop.</summary>
public sealed record KFactorFilter(DateOnly From, DateOnly To, string? Loop)
{
    /// <summary>Reads the query values; to defaults to today (UTC), from to 29 days before to; each invalid field is one error.</summary>
    public static Result<KFactorFilter> Parse(string? from, string? to, string? loop, DateOnly today)
    {
        var errors = new FieldErrors();
        var range = DayRange.Parse(from, to, today, 30, errors);
        if (loop is not null)
        {
            errors.Require("loop", loop, KFactor.MaxLoopLength);
        }

        return errors.Any ? errors.ToFailure() : new KFactorFilter(range.From, range.To, loop);
    }
}

/// <summary>K-factor by loop and cohort from the <c>kfactor</c> rollup only (the endpoint's and the dashboard's query).</summary>
public sealed class KFactorQuery(KFactorRollups rollups)
{
    public async Task<KFactorReport> GetAsync(Guid workspaceId, KFactorFilter filter, Guid? environmentId, CancellationToken ct) =>
        Build(filter, await rollups.ReadAsync(workspaceId, filter.From, filter.To, filter.Loop, environmentId, ct));

    /// <summary>The report of rollup rows: cohorts in loop and day order, and each loop's totals.</summary>
    public static KFactorReport Build(KFactorFilter filter, IReadOnlyList<KFactorRow> rows)
    {
        var cohorts = rows.OrderBy(r => r.Loop, StringComparer.Ordinal).ThenBy(r => r.CohortDay)
            .Select(r => new KFactorCohortDto(r.Loop, r.CohortDay, r.Inviters, r.InvitesSent, r.Opened, r.Joined, r.ReachedFirstValue,
                KFactor.Ratio(r.InvitesSent, r.Inviters), KFactor.Ratio(r.Joined, r.InvitesSent), KFactor.K(r.Joined, r.Inviters)))
            .ToList();
        var loops = cohorts.GroupBy(c => c.Loop).Select(g =>
        {
            var (inviters, sent, opened, joined, fvm) = (g.Sum(c => c.Inviters), g.Sum(c => c.InvitesSent), g.Sum(c => c.Opened), g.Sum(c => c.Joined), g.Sum(c => c.ReachedFirstValue));
            return new KFactorLoopDto(g.Key, inviters, sent, opened, joined, fvm, KFactor.Ratio(sent, inviters), KFactor.Ratio(opened, sent),
                KFactor.Ratio(joined, sent), KFactor.Ratio(fvm, joined), KFactor.K(joined, inviters));
        }).ToList();
        return new KFactorReport(filter.From, filter.To, loops, cohorts);
    }
}

/// <summary>The K-factor cohort rows as CSV.</summary>
public static class KFactorCsv
{
    public static readonly IReadOnlyList<CsvColumn<KFactorCohortDto>> Columns =
    [
        new("loop", r => r.Loop), new("cohortDay", r => r.CohortDay), new("inviters", r => r.Inviters), new("invitesSent", r => r.InvitesSent),
        new("opened", r => r.Opened), new("joined", r => r.Joined), new("reachedFirstValue", r => r.ReachedFirstValue),
        new("invitesPerInviter", r => r.InvitesPerInviter), new("joinRate", r => r.JoinRate), new("k", r => r.K),
    ];
}
