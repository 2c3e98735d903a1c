using System.Globalization;
using System.Text.Json.Nodes;
using Upswing.Analytics;
using Upswing.Evaluation;
using Upswing.Events;
using Upswing.Experiments;

namespace Upswing.Demo;

/// <summary>
/// Thirty days of a growing game's history, generated from a fixed seed relative to <c>now</c>: visitors arrive (more on
/// weekends, slowly more each day), some sign up, name a critter and buy; signed-up players come back on a decaying curve;
/// the running experiments assign them as the evaluator would; four invite loops bring in new players who behave alike;
/// pages report web vitals. Pure: it only builds the events and measurements, <see cref="DemoEvents"/> stores them.
/// </summary>
internal sealed class DemoHistory
{
    public const int Days = 30;

    /// <summary>The invite loops, with the vocabulary the K-factor reads: invite.sent / opened / joined / fvm, each with loop and inviteId.</summary>
    public static readonly IReadOnlyList<string> Loops = ["buddy_challenge", "results_rally", "proud_parent", "tutor_spotlight"];

    /// <summary>
    /// Per loop: the share of new players who start it, the invites each sends at once, the chance an invite is opened and
    /// the chance an opened invite joins. Expected joins per inviter (K): 4 × 0.65 × 0.5 = 1.3, 3 × 0.55 × 0.485 ≈ 0.8,
    /// 2 × 0.5 × 0.5 = 0.5, 2 × 0.375 × 0.4 = 0.3.
    /// </summary>
    private static readonly (string Loop, double Share, int Invites, double Open, double Join)[] LoopShapes =
    [
        ("buddy_challenge", 0.16, 4, 0.65, 0.50),
        ("results_rally", 0.12, 3, 0.55, 0.485),
        ("proud_parent", 0.10, 2, 0.50, 0.50),
        ("tutor_spotlight", 0.08, 2, 0.375, 0.40),
    ];

    private static readonly (string Source, double Weight, double Signup)[] Sources =
        [("organic", 0.45, 0.42), ("ads", 0.30, 0.32), ("email", 0.15, 0.50), ("invite", 0.10, 0.45)];

    private static readonly Device[] Devices =
    [
        new("mobile", 0.55, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", 1.5),
        new("desktop", 0.35, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 0.75),
        new("tablet", 0.10, "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/604.1", 1.2),
    ];

    /// <summary>Pages that report vitals, with how slow each is relative to the base (the shop is heavy, the landing page light).</summary>
    private static readonly (string Path, double Slowness)[] Pages = [("/", 0.8), ("/shop", 1.45), ("/signup", 0.9), ("/critters/7", 1.1), ("/critters/42", 1.1), ("/critters/318", 1.1)];

    /// <summary>Median of each metric on an average page and device; values are log-normal around it.</summary>
    private static readonly (string Metric, double Median, double Sigma)[] VitalShapes = [("LCP", 2000, 0.45), ("INP", 140, 0.5), ("CLS", 0.06, 0.6), ("FCP", 1300, 0.4), ("TTFB", 450, 0.45)];

    /// <summary>discount-test by variation (none, ten, twenty): how much more often players buy, and the chance an order is refunded.</summary>
    private static readonly (double Buy, double Refund)[] Discount = [(1.0, 0.30), (1.9, 0.12), (1.95, 0.65)];

    private static readonly string[] Experiments = ["discount-test", "headline-test"];
    private static readonly string[] CritterNames = ["Mochi", "Pip", "Biscuit", "Nori", "Waffles", "Juniper", "Pebble", "Clover"];
    private static readonly string[] Foods = ["berries", "seeds", "cake", "carrot"];
    private static readonly string[] Games = ["hop-scotch", "leaf-catch", "puzzle-garden"];
    private static readonly double[] Prices = [4.99, 9.99, 19.99];

    private readonly ExperimentCatalog catalog;
    private readonly DateTimeOffset now;
    private readonly DateOnly today;
    private readonly Random random;
    private readonly string ids;
    private readonly Queue<Arrival> arrivals = new();
    private long messages;
    private int anonymous, users, invites, orders, vitals;

    /// <summary>
    /// A history as of <paramref name="now"/>, assigned by <paramref name="catalog"/>'s experiments, from <paramref name="seed"/>.
    /// <paramref name="ids"/> goes into every generated id (persons, messages, invites, orders, vitals), so that histories
    /// from different seeds (a scaled demo, see <see cref="DemoEvents"/>) never share a person or a message.
    /// </summary>
    public DemoHistory(ExperimentCatalog catalog, DateTimeOffset now, int seed, string ids = "")
    {
        this.ids = ids;
        this.catalog = catalog;
        this.now = now;
        today = RollupWindow.DayOf(now);
        random = new Random(seed);
    }

    public List<IncomingEvent> Events { get; } = [];

    public List<IncomingVital> Vitals { get; } = [];

    /// <summary>Persons: every anonymous visitor (a signed-up one is the same person as its user).</summary>
    public int Persons => anonymous;

    public int Users => users;

    public void Generate()
    {
        var first = today.AddDays(1 - Days);
        for (var d = 0; d < Days; d++)
        {
            var day = first.AddDays(d);
            var count = (int)Math.Round(130 * (0.8 + (0.4 * d / (Days - 1))) * (Weekend(day) ? 1.25 : 1.0)) + random.Next(-8, 9);
            for (var i = 0; i < count; i++)
            {
                // "invite" here is a shared link outside the tracked loops (a copied URL): attributed, but no invite id.
                var source = Pick(Sources, s => s.Weight);
                arrivals.Enqueue(new Arrival(TimeIn(day), source.Source, source.Signup, Pick(Devices, v => v.Weight), null));
            }
        }

        // Invitees join the queue as they are invited, and behave like everyone else.
        while (arrivals.TryDequeue(out var arrival))
        {
            Visit(arrival);
        }

        for (var d = 0; d < Days; d++)
        {
            ReportVitals(first.AddDays(d));
        }
    }

    private void Visit(Arrival a)
    {
        var anon = "anon-" + ids + (++anonymous).ToString("D6", CultureInfo.InvariantCulture);
        var t = a.At;
        if (a.Invite is { } invite)
        {
            Track("invite.opened", null, anon, t, a.Device, Props(("loop", invite.Loop), ("inviteId", invite.Id)));
            t += Seconds(5, 60);
        }

        Track("Landing Viewed", null, anon, t, a.Device, Props(("source", a.Source), ("device", a.Device.Name)));
        Page("/", null, anon, t.AddSeconds(1), a.Device);
        var signs = a.Invite?.Joins ?? random.NextDouble() < a.SignupRate;
        if (!signs)
        {
            return;
        }

        t += Minutes(1, 10);
        var user = "user-" + ids + (++users).ToString("D5", CultureInfo.InvariantCulture);
        Add(new IncomingEvent
        {
            Type = EventTypes.Identify,
            UserId = user,
            AnonymousId = anon,
            MessageId = NextId(),
            Timestamp = t,
            OriginalTimestamp = t,
            Traits = new JsonObject { ["email"] = user + "@players.example", ["source"] = a.Source, ["device"] = a.Device.Name }.ToJsonString(),
            Context = a.Device.Context,
        });
        Page("/signup", user, anon, t, a.Device);
        Track("Signed Up", user, anon, t.AddSeconds(1), a.Device, Props(("source", a.Source), ("device", a.Device.Name)));
        if (a.Invite is { } joined)
        {
            Track("invite.joined", user, anon, t.AddSeconds(2), a.Device, Props(("loop", joined.Loop), ("inviteId", joined.Id)));
        }

        var variations = Expose(user, anon, t.AddSeconds(3), a.Device);
        var discount = variations.TryGetValue("discount-test", out var v) ? Discount[v] : Discount[0];
        var signedUp = t;
        if (random.NextDouble() < 0.70)
        {
            t += Minutes(2, 15);
            Track("Critter Named", user, anon, t, a.Device, Props(("critter", CritterNames[random.Next(CritterNames.Length)])));
            if (a.Invite is { } fvm)
            {
                Track("invite.fvm", user, anon, t.AddSeconds(1), a.Device, Props(("loop", fvm.Loop), ("inviteId", fvm.Id)));
            }

            if (random.NextDouble() < 0.25 * discount.Buy)
            {
                t += Minutes(3, 40);
                Track("Shop Visited", user, anon, t, a.Device, null);
                Order(user, anon, t + Minutes(1, 5), a.Device, discount, variations.GetValueOrDefault("discount-test", 0));
            }
        }

        for (var n = 1; ; n++)
        {
            var day = RollupWindow.DayOf(signedUp).AddDays(n);
            if (day > today)
            {
                break;
            }

            if (random.NextDouble() < Retention(n) * (Weekend(day) ? 1.15 : 0.95))
            {
                Session(user, anon, TimeIn(day), a.Device, discount, variations.GetValueOrDefault("discount-test", 0));
            }
        }

        Invite(user, anon, signedUp, a.Device);
    }

    /// <summary>The chance a player comes back on day n after signing up: about 40 % on day 1, 20 % on day 7, 10 % on day 30.</summary>
    internal static double Retention(int n) => 0.09 + (0.31 * Math.Exp(-(n - 1) / 5.0));

    private Dictionary<string, int> Expose(string user, string anon, DateTimeOffset at, Device device)
    {
        var variations = new Dictionary<string, int>(StringComparer.Ordinal);
        // The attributes /v1/assignment would hash (id is the user id), evaluated as it and the SDKs do; the exposure is
        // reported the way SDKs report theirs (an Experiment Viewed event), which stores the assignment at the event's time.
        var context = catalog.Context with { Attributes = new JsonObject { ["id"] = user, ["userId"] = user, ["anonymousId"] = anon } };
        foreach (var key in Experiments)
        {
            if (catalog.Experiments.GetValueOrDefault(key) is not { Status: ExperimentStatus.Running } entry)
            {
                continue;
            }

            var result = Evaluator.Run(context, entry.Definition);
            if (result is { InExperiment: true, HashUsed: true })
            {
                variations[key] = result.VariationId;
                Track(ExposureRecorder.ExperimentViewed, user, anon, at, device, new JsonObject
                {
                    ["experimentId"] = key,
                    ["variationId"] = entry.VariationKeys[result.VariationId],
                    ["variationIndex"] = result.VariationId,
                });
            }
        }

        return variations;
    }

    private void Session(string user, string anon, DateTimeOffset at, Device device, (double Buy, double Refund) discount, int variation)
    {
        Track("Session Started", user, anon, at, device, Props(("device", device.Name)));
        var t = at;
        Page("/", user, anon, t.AddSeconds(2), device);
        var fed = random.Next(5, 19);
        for (var i = 0; i < fed; i++)
        {
            t += Seconds(10, 90);
            Track("Critter Fed", user, anon, t, device, Props(("food", Foods[random.Next(Foods.Length)])));
        }

        var played = random.Next(3, 13);
        for (var i = 0; i < played; i++)
        {
            t += Seconds(30, 240);
            var game = new JsonObject { ["game"] = Games[random.Next(Games.Length)], ["score"] = random.Next(10, 500) };
            Track("Mini Game Played", user, anon, t, device, game);
        }

        var visits = random.NextDouble() < 0.55 ? random.Next(1, 4) : 0;
        for (var i = 0; i < visits; i++)
        {
            t += Seconds(20, 120);
            Track("Shop Visited", user, anon, t, device, null);
            Page("/shop", user, anon, t.AddSeconds(1), device);
        }

        if (visits > 0 && random.NextDouble() < 0.09 * discount.Buy)
        {
            Order(user, anon, t + Seconds(30, 300), device, discount, variation);
        }
    }

    private void Order(string user, string anon, DateTimeOffset at, Device device, (double Buy, double Refund) discount, int variation)
    {
        var orderId = "order-" + ids + (++orders).ToString("D6", CultureInfo.InvariantCulture);
        var off = variation switch { 1 => 0.10, 2 => 0.20, _ => 0.0 };
        var revenue = Math.Round(Prices[random.Next(Prices.Length)] * (1 - off), 2);
        Track("Order Completed", user, anon, at, device, new JsonObject { ["orderId"] = orderId, ["revenue"] = revenue, ["currency"] = "USD" });
        if (random.NextDouble() < discount.Refund)
        {
            Track("Refund Requested", user, anon, at + TimeSpan.FromHours(1 + (random.NextDouble() * 47)), device, Props(("orderId", orderId)));
        }
    }

    /// <summary>Each loop a player starts: its invites, sent at once within three days of signing up; opened ones bring new visitors.</summary>
    private void Invite(string user, string anon, DateTimeOffset signedUp, Device device)
    {
        foreach (var (loop, share, count, open, join) in LoopShapes)
        {
            if (random.NextDouble() >= share)
            {
                continue;
            }

            var sent = signedUp + TimeSpan.FromHours(1 + (random.NextDouble() * 71));
            // Only sends whose invitees have all had the time to join (opened within two days): every cohort is complete.
            if (sent + TimeSpan.FromDays(3) > now)
            {
                continue;
            }

            for (var i = 0; i < count; i++)
            {
                var id = "inv-" + ids + (++invites).ToString("D6", CultureInfo.InvariantCulture);
                Track("invite.sent", user, anon, sent.AddSeconds(i), device, Props(("loop", loop), ("inviteId", id)));
                if (random.NextDouble() < open)
                {
                    var opened = sent + TimeSpan.FromHours(0.5 + (random.NextDouble() * 47));
                    arrivals.Enqueue(new Arrival(opened, "invite", 0, Pick(Devices, d => d.Weight), new InviteLink(id, loop, random.NextDouble() < join)));
                }
            }
        }
    }

    private void ReportVitals(DateOnly day)
    {
        foreach (var (path, slowness) in Pages)
        {
            foreach (var device in Devices)
            {
                var url = "https://play.calicritters.example" + path;
                foreach (var (metric, median, sigma) in VitalShapes)
                {
                    var samples = random.Next(3, 8);
                    for (var i = 0; i < samples; i++)
                    {
                        var at = TimeIn(day);
                        if (at > now)
                        {
                            continue;
                        }

                        var value = median * slowness * device.Slowness * Math.Exp(sigma * Gaussian());
                        value = metric == "CLS" ? Math.Round(value, 4) : Math.Round(value);
                        Vitals.Add(new IncomingVital("v4-demo-" + ids + (++vitals).ToString("D6", CultureInfo.InvariantCulture), metric, value, Analytics.Vitals.Rating(metric, value),
                            "navigate", url, WebVitals.PathOf(url), WebVitals.DeviceClass(device.UserAgent), null, null, at));
                    }
                }
            }
        }
    }

    private void Track(string name, string? user, string? anon, DateTimeOffset at, Device device, JsonObject? properties) => Add(new IncomingEvent
    {
        Type = EventTypes.Track,
        Name = name,
        UserId = user,
        AnonymousId = anon,
        MessageId = NextId(),
        Timestamp = at,
        OriginalTimestamp = at,
        Properties = properties?.ToJsonString(),
        Context = device.Context,
    });

    private void Page(string path, string? user, string? anon, DateTimeOffset at, Device device) => Add(new IncomingEvent
    {
        Type = EventTypes.Page,
        Name = path,
        UserId = user,
        AnonymousId = anon,
        MessageId = NextId(),
        Timestamp = at,
        OriginalTimestamp = at,
        Properties = new JsonObject { ["name"] = path, ["path"] = path }.ToJsonString(),
        Context = device.Context,
    });

    /// <summary>Keeps what has happened by now; a generated future is dropped.</summary>
    private void Add(IncomingEvent e)
    {
        if (e.Timestamp <= now)
        {
            Events.Add(e);
        }
    }

    private string NextId() => "demo-" + ids + (++messages).ToString("D7", CultureInfo.InvariantCulture);

    /// <summary>A time in the day, mostly between 07:00 and 23:00 UTC; on today, before now.</summary>
    private DateTimeOffset TimeIn(DateOnly day)
    {
        var start = RollupWindow.StartOf(day);
        var hours = random.NextDouble() < 0.9 ? 7 + (random.NextDouble() * 16) : random.NextDouble() * 24;
        var at = start + TimeSpan.FromHours(hours);
        return at <= now ? at : start + ((now - start) * random.NextDouble());
    }

    private TimeSpan Seconds(int min, int max) => TimeSpan.FromSeconds(random.Next(min, max + 1));

    private TimeSpan Minutes(int min, int max) => TimeSpan.FromSeconds(random.Next(min * 60, (max * 60) + 1));

    private static bool Weekend(DateOnly day) => day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday;

    private double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private T Pick<T>(T[] items, Func<T, double> weight)
    {
        var r = random.NextDouble() * items.Sum(weight);
        foreach (var item in items)
        {
            r -= weight(item);
            if (r < 0)
            {
                return item;
            }
        }

        return items[^1];
    }

    private static JsonObject Props(params (string Key, string Value)[] pairs)
    {
        var o = new JsonObject();
        foreach (var (key, value) in pairs)
        {
            o[key] = value;
        }

        return o;
    }

    private sealed record Device(string Name, double Weight, string UserAgent, double Slowness)
    {
        public string Context { get; } = new JsonObject { ["userAgent"] = UserAgent }.ToJsonString();
    }

    private sealed record InviteLink(string Id, string Loop, bool Joins);

    private sealed record Arrival(DateTimeOffset At, string Source, double SignupRate, Device Device, InviteLink? Invite);
}
