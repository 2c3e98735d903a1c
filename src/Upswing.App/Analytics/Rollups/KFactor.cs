using System.Text.Json;
using Upswing.Events;

namespace Upswing.Analytics;

/// <summary>An invite event as the K-factor calculation reads it: who (the person), which event, when, and its <c>loop</c> and <c>inviteId</c> properties (null when absent or not a string).</summary>
public sealed record InviteEvent(string Person, string Name, DateTimeOffset Timestamp, string? Loop, string? InviteId);

/// <summary>
/// A row of <c>k_factor_rollups</c>: the invites of one loop first sent on one UTC day (the cohort) and what became of them
/// within the attribution window; of one environment bucket when stored (<see cref="RollupEnvironment"/>), summed over a view's buckets when queried.
/// </summary>
public sealed record KFactorRow(string Loop, DateOnly CohortDay, long Inviters, long InvitesSent, long Opened, long Joined, long ReachedFirstValue, Guid Environment = default);

/// <summary>
/// The K-factor calculation, pure: from invite events (<c>invite.sent</c>, <c>invite.opened</c>, <c>invite.joined</c>,
/// <c>invite.fvm</c> with the properties <c>loop</c> and <c>inviteId</c>) to rows per loop and cohort day. The semantics
/// (docs/modules/analytics.md, "K-factor"):
/// <list type="bullet">
/// <item>An invite is an <c>inviteId</c>; its send is its earliest <c>invite.sent</c> with a loop (≤ <see cref="MaxLoopLength"/> characters);
/// its cohort day is the send's UTC day, its loop and inviter the send's loop and person. Sends without loop or inviteId are ignored.</item>
/// <item>Its attribution window is [send, send + <see cref="KFactorRollups.AttributionDays"/> days], both ends included.</item>
/// <item>opened: invites with an <c>invite.opened</c> of their inviteId in the window (by anyone).</item>
/// <item>joined: persons whose first <c>invite.joined</c> (ignoring joins without an inviteId and self-invites, i.e. joins
/// through an invite the person sent) is through an invite of the cohort and in its window; a person joins once.</item>
/// <item>reached first value: of those, the persons with an <c>invite.fvm</c> in the window of the invite they joined through.</item>
/// </list>
/// </summary>
public static class KFactor
{
    public const string Sent = "invite.sent";
    public const string Opened = "invite.opened";
    public const string Joined = "invite.joined";
    public const string FirstValue = "invite.fvm";

    /// <summary>The longest loop name counted (longer ones are ignored, like a missing loop).</summary>
    public const int MaxLoopLength = 100;

    /// <summary>The event names the calculation reads.</summary>
    public static readonly IReadOnlyList<string> EventNames = [Sent, Opened, Joined, FirstValue];

    /// <summary>The invite event of a raw track event: its <c>loop</c> and <c>inviteId</c> string properties.</summary>
    public static InviteEvent Parse(RawTrackEvent e)
    {
        string? loop = null, inviteId = null;
        if (e.Properties is { } text)
        {
            using var json = JsonDocument.Parse(text);
            if (json.RootElement.ValueKind == JsonValueKind.Object)
            {
                loop = String(json.RootElement, "loop");
                inviteId = String(json.RootElement, "inviteId");
            }
        }

        return new InviteEvent(e.Person, e.Name, e.Timestamp, loop, inviteId);

        static string? String(JsonElement o, string name) =>
            o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s ? s : null;
    }

    /// <summary>
    /// The rows of the cohort days <paramref name="from"/>…<paramref name="to"/> (UTC, both included), in day and loop order.
    /// <paramref name="events"/> must hold every send and join before the cohorts (they decide which send and which join
    /// is the first) and every invite event up to the last cohort's window end; their order does not matter.
    /// </summary>
    public static List<KFactorRow> Compute(IEnumerable<InviteEvent> events, DateOnly from, DateOnly to)
    {
        // A fixed order (time, then the other fields) makes "earliest" and "first" deterministic on ties.
        var ordered = events.OrderBy(e => e.Timestamp).ThenBy(e => e.Name, StringComparer.Ordinal).ThenBy(e => e.Person, StringComparer.Ordinal)
            .ThenBy(e => e.InviteId, StringComparer.Ordinal).ThenBy(e => e.Loop, StringComparer.Ordinal).ToList();

        var invites = new Dictionary<string, Invite>(StringComparer.Ordinal);
        foreach (var e in ordered)
        {
            if (e.Name == Sent && e.InviteId is { } id && e.Loop is { Length: <= MaxLoopLength } loop && !invites.ContainsKey(id))
            {
                invites[id] = new Invite(loop, e.Person, e.Timestamp);
            }
        }

        var cohort = invites.Where(i => i.Value.Day >= from && i.Value.Day <= to).ToDictionary(i => i.Key, i => i.Value, StringComparer.Ordinal);
        var opened = new HashSet<string>(StringComparer.Ordinal);
        var firstJoin = new Dictionary<string, (string Invite, DateTimeOffset At)>(StringComparer.Ordinal); // person → their first join
        var firstValue = new Dictionary<string, List<DateTimeOffset>>(StringComparer.Ordinal);
        foreach (var e in ordered)
        {
            switch (e.Name)
            {
                case Opened when e.InviteId is { } id && cohort.TryGetValue(id, out var invite) && invite.Covers(e.Timestamp):
                    opened.Add(id);
                    break;
                case Joined when e.InviteId is { } id && !firstJoin.ContainsKey(e.Person)
                    && !(invites.TryGetValue(id, out var invite) && invite.Inviter == e.Person):
                    firstJoin[e.Person] = (id, e.Timestamp);
                    break;
                case FirstValue:
                    if (!firstValue.TryGetValue(e.Person, out var times))
                    {
                        firstValue[e.Person] = times = [];
                    }

                    times.Add(e.Timestamp);
                    break;
            }
        }

        var joined = new Dictionary<string, List<string>>(StringComparer.Ordinal); // invite → persons
        foreach (var (person, (id, at)) in firstJoin)
        {
            // The first join only counts when it falls in its invite's window.
            if (cohort.TryGetValue(id, out var invite) && invite.Covers(at))
            {
                if (!joined.TryGetValue(id, out var persons))
                {
                    joined[id] = persons = [];
                }

                persons.Add(person);
            }
        }

        return [.. cohort.GroupBy(i => (i.Value.Loop, i.Value.Day)).Select(g =>
            {
                var people = g.SelectMany(i => joined.TryGetValue(i.Key, out var p) ? p.Select(person => (Person: person, Invite: i.Value)) : []).ToList();
                return new KFactorRow(g.Key.Loop, g.Key.Day,
                    Inviters: g.Select(i => i.Value.Inviter).Distinct(StringComparer.Ordinal).Count(),
                    InvitesSent: g.Count(),
                    Opened: g.Count(i => opened.Contains(i.Key)),
                    Joined: people.Count,
                    ReachedFirstValue: people.Count(p => firstValue.TryGetValue(p.Person, out var times) && times.Exists(p.Invite.Covers)));
            })
            .OrderBy(r => r.CohortDay).ThenBy(r => r.Loop, StringComparer.Ordinal)];
    }

    /// <summary>K: joined per inviter (invites per inviter × invite-to-join conversion); null without inviters.</summary>
    public static double? K(long joined, long inviters) => Ratio(joined, inviters);

    /// <summary><paramref name="numerator"/> / <paramref name="denominator"/>, or null when the denominator is 0.</summary>
    public static double? Ratio(long numerator, long denominator) => denominator == 0 ? null : (double)numerator / denominator;

    private sealed record Invite(string Loop, string Inviter, DateTimeOffset SentAt)
    {
        public DateOnly Day => RollupWindow.DayOf(SentAt);

        public bool Covers(DateTimeOffset at) => at >= SentAt && at <= SentAt.AddDays(KFactorRollups.AttributionDays);
    }
}
