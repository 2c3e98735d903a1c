using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Sdk;

/// <summary>
/// The official GrowthBook JavaScript SDK (npm @growthbook/growthbook), pointed at a running Upswing with
/// apiHost and clientKey, reads our payload and reaches the values our rules mean.
/// </summary>
public sealed class GrowthBookJsSdkTests(SqliteServerFixture fixture) : IClassFixture<SqliteServerFixture>
{
    private static readonly NodeScripts Scripts = new(Path.Combine("tests", "Upswing.IntegrationTests", "Sdk", "js"), "the official GrowthBook JS SDK", "@growthbook/growthbook", "eventsource");

    [Fact]
    public async Task OfficialJsSdk_EvaluatesOurPayload()
    {
        await Scripts.EnsureInstalledAsync();
        var ws = await fixture.Server.CreateWorkspaceAsync();
        using var api = fixture.Server.NewClient(ws.SecretKey);
        await (await api.PostAsJsonAsync("/api/v1/saved-groups", new { key = "beta", name = "Beta", type = "list", attributeKey = "email", values = new[] { "ann@example.com", "bob@example.com" } })).ReadOkAsync();
        await (await api.PostAsJsonAsync("/api/v1/saved-groups", new { key = "eu", name = "EU", type = "condition", condition = new { country = new Dictionary<string, string[]> { ["$in"] = ["FR", "DE"] } } })).ReadOkAsync();
        await (await api.PostAsJsonAsync("/api/v1/features", new
        {
            key = "checkout",
            valueType = "string",
            defaultValue = "classic",
            environments = new Dictionary<string, object>
            {
                ["production"] = new
                {
                    rules = new object[]
                    {
                        new { id = "staff", type = "force", condition = new { staff = true }, value = "staff-preview" },
                        new { id = "disabled", type = "force", value = "never", enabled = false },
                        new { id = "beta-eu", type = "force", value = "one-page", savedGroups = new[] { "beta", "eu" } },
                        // GrowthBook compares a missing attribute as if it were below any number, hence $exists.
                        new { id = "new-users", type = "force", condition = new { signupDays = new Dictionary<string, object> { ["$exists"] = true, ["$lt"] = 7 } }, value = "guided" },
                    },
                },
            },
        })).ReadOkAsync();
        await (await api.PostAsJsonAsync("/api/v1/features", new { key = "max-items", valueType = "number", defaultValue = 20 })).ReadOkAsync();

        (object Attributes, string Checkout, string Source, string? RuleId)[] cases =
        [
            (new { id = "1", staff = true, email = "ann@example.com", country = "FR" }, "staff-preview", "force", "staff"),
            (new { id = "2", email = "ann@example.com", country = "FR" }, "one-page", "force", "beta-eu"),
            (new { id = "3", email = "ann@example.com", country = "US" }, "classic", "defaultValue", ""),
            (new { id = "4", email = "eve@example.com", country = "DE", signupDays = 3 }, "guided", "force", "new-users"),
            (new { id = "5", signupDays = 30 }, "classic", "defaultValue", ""),
        ];
        var input = new JsonArray(cases.Select(c => (JsonNode?)new JsonObject
        {
            ["attributes"] = System.Text.Json.JsonSerializer.SerializeToNode(c.Attributes),
            ["features"] = new JsonArray("checkout", "max-items", "unknown-flag"),
        }).ToArray());

        var output = await Scripts.RunNodeAsync(["evaluate.mjs", fixture.Server.BaseAddress.ToString().TrimEnd('/'), ws.ClientKey], input.ToJsonString());
        var results = JsonNode.Parse(output)!.AsArray();
        for (var i = 0; i < cases.Length; i++)
        {
            var checkout = results[i]!["checkout"]!;
            Assert.Equal((cases[i].Checkout, cases[i].Source, cases[i].RuleId ?? ""), (checkout.Str("value"), checkout.Str("source"), checkout.Str("ruleId")));
            Assert.Equal(20, results[i]!["max-items"]!["value"]!.GetValue<int>());
            Assert.Equal("unknownFeature", results[i]!["unknown-flag"]!.Str("source"));
        }
    }

    [Fact]
    public async Task OfficialJsSdk_DecryptsAnEncryptedPayload()
    {
        await Scripts.EnsureInstalledAsync();
        var ws = await fixture.Server.CreateWorkspaceAsync();
        using var api = fixture.Server.NewClient(ws.SecretKey);
        await (await api.PostAsJsonAsync("/api/v1/saved-groups", new { key = "vip", name = "VIP", type = "list", attributeKey = "id", values = new[] { "u1" } })).ReadOkAsync();
        await (await api.PostAsJsonAsync("/api/v1/features", new
        {
            key = "sauce",
            valueType = "string",
            defaultValue = "ketchup",
            environments = new Dictionary<string, object> { ["production"] = new { rules = new object[] { new { type = "force", value = "truffle", savedGroups = new[] { "vip" } } } } },
        })).ReadOkAsync();
        var created = await (await api.PostAsJsonAsync("/api/v1/keys", new { kind = "client", encryptPayload = true })).ReadOkAsync();
        var input = new JsonArray(
            new JsonObject { ["attributes"] = new JsonObject { ["id"] = "u1" }, ["features"] = new JsonArray("sauce") },
            new JsonObject { ["attributes"] = new JsonObject { ["id"] = "u2" }, ["features"] = new JsonArray("sauce") });
        var output = JsonNode.Parse(await Scripts.RunNodeAsync(["evaluate.mjs", fixture.Server.BaseAddress.ToString().TrimEnd('/'), created.Str("key"), created["apiKey"]!.Str("decryptionKey")], input.ToJsonString()))!.AsArray();
        Assert.Equal(["truffle", "ketchup"], output.Select(r => r!["sauce"]!.Str("value")));
    }

    [Fact]
    public async Task TenThousandUsers_GetTheSameValuesFromTheJsSdkAndFromRemoteEvaluation()
    {
        await Scripts.EnsureInstalledAsync();
        var ws = await fixture.Server.CreateWorkspaceAsync();
        using var api = fixture.Server.NewClient(ws.SecretKey);
        object Feature(string key, string type, object defaultValue, params object[] rules) => new
        {
            key,
            valueType = type,
            defaultValue,
            environments = new Dictionary<string, object> { ["production"] = new { rules } },
        };
        foreach (var feature in (object[])
        [
            Feature("ramp", "boolean", false, new { type = "rollout", value = true, coverage = 0.3 }),
            Feature("layout", "string", "control", new { type = "experiment", experimentKey = "layout-test", variations = new[] { "a", "b", "c" }, weights = new[] { 0.5, 0.25, 0.25 }, coverage = 0.8 }),
            Feature("limit", "number", 10, new { type = "force", condition = new { country = new Dictionary<string, string[]> { ["$in"] = ["FR", "DE"] } }, value = 25 },
                new { type = "experiment", variations = new[] { 10, 20 }, hashAttribute = "deviceId", fallbackAttribute = "id" }),
            Feature("copy", "json", new { title = "Hello" }, new { type = "experiment", experimentKey = "copy-test", variations = new object[] { new { title = "Hello" }, new { title = "Welcome back" } }, coverage = 0.5 }),
        ])
        {
            await (await api.PostAsJsonAsync("/api/v1/features", feature)).ReadOkAsync();
        }

        string[] countries = ["FR", "DE", "US", "JP", "BR"];
        var keys = new[] { "ramp", "layout", "limit", "copy" };
        var users = Enumerable.Range(0, 10_000).Select(i => i % 2 == 0
            ? new JsonObject { ["id"] = $"user-{i}", ["country"] = countries[i % countries.Length] }
            : new JsonObject { ["id"] = $"user-{i}", ["deviceId"] = $"device-{i * 7919}", ["country"] = countries[i % countries.Length] }).ToList();

        var input = new JsonArray(users.Select(u => (JsonNode?)new JsonObject { ["attributes"] = u.DeepClone(), ["features"] = new JsonArray(keys.Select(k => (JsonNode?)k).ToArray()) }).ToArray());
        var js = JsonNode.Parse(await Scripts.RunNodeAsync(["evaluate.mjs", fixture.Server.BaseAddress.ToString().TrimEnd('/'), ws.ClientKey], input.ToJsonString()))!.AsArray();

        var remote = new JsonNode[users.Count];
        using var sdk = fixture.Server.NewClient();
        await Parallel.ForAsync(0, users.Count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            var response = await sdk.PostAsJsonAsync($"/api/eval/{ws.ClientKey}", new { attributes = users[i] }, ct);
            remote[i] = (await response.ReadOkAsync())["features"]!;
        });

        var mismatches = new List<string>();
        var variationsSeen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < users.Count; i++)
        {
            foreach (var key in keys)
            {
                var expected = js[i]![key]!["value"]?.ToJsonString();
                var actual = remote[i][key]!["defaultValue"]?.ToJsonString();
                variationsSeen.Add($"{key}={actual}");
                if (expected != actual)
                {
                    mismatches.Add($"{users[i].ToJsonString()} {key}: js {expected}, upswing {actual}");
                }
            }
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} mismatches, e.g. {string.Join("; ", mismatches.Take(5))}");
        // Every arm of every rule was reached, so the comparison covered them all.
        Assert.Superset(
            new HashSet<string>(["ramp=true", "ramp=false", "layout=\"a\"", "layout=\"b\"", "layout=\"c\"", "layout=\"control\"", "limit=25", "limit=10", "limit=20"], StringComparer.Ordinal),
            variationsSeen);
    }

    [Fact]
    public async Task TenThousandUsers_GetTheSameVariationsFromTheJsSdkAndFromTheAssignmentApi()
    {
        await Scripts.EnsureInstalledAsync();
        var ws = await fixture.Server.CreateWorkspaceAsync();
        using var api = fixture.Server.NewClient(ws.SecretKey);
        await (await api.PostAsJsonAsync("/api/v1/holdouts", new { key = "h10", name = "10 % holdout", percentage = 0.1 })).ReadOkAsync();
        await (await api.PostAsJsonAsync("/api/v1/saved-groups", new { key = "vip", name = "VIP", type = "list", attributeKey = "plan", values = new[] { "pro", "team" } })).ReadOkAsync();
        object Experiment(string key, object[] variations, object? extra = null)
        {
            var body = System.Text.Json.JsonSerializer.SerializeToNode(new { key, name = key, variations })!.AsObject();
            foreach (var (name, value) in extra is null ? [] : System.Text.Json.JsonSerializer.SerializeToNode(extra)!.AsObject().ToList())
            {
                body[name] = value?.DeepClone();
            }

            return body;
        }

        var experiments = new[]
        {
            Experiment("pricing-a", [new { key = "low", weight = 0.2 }, new { key = "mid", weight = 0.3 }, new { key = "high", weight = 0.5 }], new { coverage = 0.7, @namespace = new { name = "pricing", start = 0.0, end = 0.5 } }),
            Experiment("pricing-b", [new { key = "monthly" }, new { key = "yearly" }], new { @namespace = new { name = "pricing", start = 0.5, end = 1.0 }, hashVersion = 1 }),
            Experiment("onboarding", [new { key = "control" }, new { key = "video" }], new { condition = new { country = new Dictionary<string, string[]> { ["$in"] = ["FR", "DE", "US"] } }, holdout = "h10" }),
            Experiment("vip-perks", [new { key = "none" }, new { key = "perks" }], new { savedGroups = new[] { "vip" }, hashAttribute = "company", seed = "perks-2026" }),
        };
        foreach (var experiment in experiments)
        {
            var key = ((JsonObject)experiment).Str("key");
            await (await api.PostAsJsonAsync("/api/v1/experiments", experiment)).ReadOkAsync();
            await (await api.PostAsync($"/api/v1/experiments/{key}/start", null)).ReadOkAsync();
            var arms = ((JsonObject)experiment)["variations"]!.AsArray().Count;
            await (await api.PostAsJsonAsync("/api/v1/features", new
            {
                key = $"{key}-flag",
                valueType = "number",
                defaultValue = -1,
                environments = new Dictionary<string, object> { ["production"] = new { rules = new object[] { new { type = "experiment", experimentKey = key, variations = Enumerable.Range(0, arms) } } } },
            })).ReadOkAsync();
        }

        string[] countries = ["FR", "DE", "US", "JP", "BR"];
        string[] plans = ["free", "pro", "team"];
        var keys = experiments.Select(e => ((JsonObject)e).Str("key")).ToArray();
        var users = Enumerable.Range(0, 10_000).Select(i => new JsonObject
        {
            ["id"] = $"user-{i}",
            ["country"] = countries[i % countries.Length],
            // Assignments stick to the hash attribute's value, so users of one company share its plan (the targeting).
            ["plan"] = plans[i % 997 % plans.Length],
            ["company"] = $"company-{i % 997}",
        }).ToList();

        var input = new JsonArray(users.Select(u => (JsonNode?)new JsonObject { ["attributes"] = u.DeepClone(), ["features"] = new JsonArray(keys.Select(k => (JsonNode?)$"{k}-flag").ToArray()) }).ToArray());
        var js = JsonNode.Parse(await Scripts.RunNodeAsync(["evaluate.mjs", fixture.Server.BaseAddress.ToString().TrimEnd('/'), ws.ClientKey], input.ToJsonString()))!.AsArray();

        var assigned = new JsonArray[users.Count];
        using var client = fixture.Server.NewClient(ws.ClientKey);
        await Parallel.ForAsync(0, users.Count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            var response = await client.PostAsJsonAsync("/v1/assignment", new { userId = users[i].Str("id"), attributes = users[i], experiments = keys }, ct);
            assigned[i] = (await response.ReadOkAsync())["assignments"]!.AsArray();
        });

        var mismatches = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < users.Count; i++)
        {
            foreach (var a in assigned[i])
            {
                var key = a!.Str("experimentKey");
                var server = a!["inExperiment"]!.GetValue<bool>() ? a!.Str("variationKey") : null;
                var sdk = js[i]![$"{key}-flag"]!["variation"]?.GetValue<string>();
                seen.Add($"{key}={server ?? "out"}");
                if (server != sdk)
                {
                    mismatches.Add($"{users[i].ToJsonString()} {key}: js {sdk ?? "out"}, upswing {server ?? "out"}");
                }
            }
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} mismatches, e.g. {string.Join("; ", mismatches.Take(5))}");
        Assert.Superset(
            new HashSet<string>(["pricing-a=low", "pricing-a=mid", "pricing-a=high", "pricing-a=out", "pricing-b=monthly", "pricing-b=yearly", "pricing-b=out",
                "onboarding=control", "onboarding=video", "onboarding=out", "vip-perks=none", "vip-perks=perks", "vip-perks=out"], StringComparer.Ordinal),
            seen);
    }

    [Fact]
    public async Task UpdateThroughTheApi_ReachesTheJsSdkOverServerSentEvents()
    {
        await Scripts.EnsureInstalledAsync();
        var ws = await fixture.Server.CreateWorkspaceAsync();
        using var api = fixture.Server.NewClient(ws.SecretKey);
        await (await api.PostAsJsonAsync("/api/v1/features", new { key = "headline", valueType = "string", defaultValue = "Grow faster" })).ReadOkAsync();

        var start = new ProcessStartInfo("node") { WorkingDirectory = Scripts.Directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])["stream.mjs", fixture.Server.BaseAddress.ToString().TrimEnd('/'), ws.ClientKey, "headline", "2"])
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            Assert.Equal("\"Grow faster\"", await process.StandardOutput.ReadLineAsync(timeout.Token));
            // The SDK has its value and its stream; the change must arrive over the stream, not by polling.
            await Infrastructure.WaitUntilAsync(() => Task.FromResult(fixture.Server.Services.GetRequiredService<Upswing.Flags.FlagChanges>().Workspaces().Contains(ws.Workspace.Id)), TimeSpan.FromSeconds(10), "the SDK's stream to connect");
            await (await api.PatchJsonAsync("/api/v1/features/headline", new { defaultValue = "Grow together" })).ReadOkAsync();
            Assert.Equal("\"Grow together\"", await process.StandardOutput.ReadLineAsync(timeout.Token));
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
