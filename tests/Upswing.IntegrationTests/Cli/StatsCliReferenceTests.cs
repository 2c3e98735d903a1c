using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Upswing.Statistics.Tests;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Cli;

/// <summary>
/// `upswing stats analyze` reproduces the expected values of gbstats-fixtures.json and worked-examples.json within the
/// reference tolerance (Tolerance.cs, linked from Upswing.Statistics.Tests): each fixture is translated into an input
/// document, run through the real binary, and the output compared with the file's numbers, not with the engine's.
/// </summary>
public sealed partial class StatsCliReferenceTests
{
    private static readonly string TestData = Path.Combine(Infrastructure.RepositoryRoot, "tests", "Upswing.Statistics.Tests", "TestData");

    /// <summary>
    /// The worked examples the document format cannot express; WorkedExampleTests (Upswing.Statistics.Tests) covers them
    /// through TextbookMethods: the pooled two-proportion z-test (`stats analyze` runs Welch, never a pooled z-test),
    /// the exact beta-binomial chance to beat control (the Bayesian engine is a normal model), the mixture SPRT at one
    /// look (the document's sequential test is gbstats' confidence sequence, not mSPRT with a τ²), the CUPED simulation
    /// summary (variances and ρ, no per-variation sums) and delta_ratio_example (its outputs only, no inputs).
    /// </summary>
    private static readonly HashSet<string> CoveredByUnitTestsOnly =
    [
        "ztest_200_2000_vs_250_2000",
        "ztest_1000_10000_vs_1100_10000",
        "ctbc_beta11_100_1000_vs_120_1000",
        "ctbc_beta11_200_2000_vs_250_2000",
        "ctbc_beta11_49_100_vs_51_100",
        "msprt_prop_10pct_vs_11pct_n10000_tau2_1e-4",
        "msprt_prop_10pct_vs_11pct_n10000_tau2_1e-3",
        "cuped_sim",
        "delta_ratio_example",
    ];

    /// <summary>One input document and the reference values its output must hold (a subset of the output's shape).</summary>
    private sealed record ReferenceCase(string Name, JsonObject Input, JsonObject Expected);

    [Fact]
    public async Task Analyze_EveryExpressibleReferenceValue_MatchesWithinTolerance()
    {
        var cases = GbstatsCases(Load("gbstats-fixtures.json")).Concat(WorkedExampleCases(Load("worked-examples.json"))).ToList();
        var mismatches = new ConcurrentQueue<string>();
        var compared = 0;
        var clock = Stopwatch.StartNew();

        using var gate = new SemaphoreSlim(4);
        var runs = cases.Select(async c =>
        {
            await gate.WaitAsync(TestContext.Current.CancellationToken);
            try
            {
                var run = await UpswingCliRunner.RunAsync(["stats", "analyze"], stdin: c.Input.ToJsonString());
                if (run.ExitCode != 0)
                {
                    mismatches.Enqueue($"{c.Name}: exit code {run.ExitCode}: {run.StdErr.Trim()}");
                    return;
                }

                var count = CompareSubset(c.Expected, JsonNode.Parse(run.StdOut), "$", c.Name, mismatches);
                Interlocked.Add(ref compared, count);
            }
            finally
            {
                gate.Release();
            }
        });
        await Task.WhenAll(runs);

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{cases.Count} documents through `upswing stats analyze`, {compared} reference values compared, {mismatches.Count} mismatches, {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(mismatches.IsEmpty, $"{mismatches.Count} reference values differ through `upswing stats analyze`:\n" + string.Join("\n", mismatches.Order(StringComparer.Ordinal)));
    }

    /// <summary>Every entry of every section, or a failure naming a section the test does not know how to translate.</summary>
    private static IEnumerable<ReferenceCase> GbstatsCases(JsonObject root)
    {
        foreach (var (section, entries) in root)
        {
            if (section == "source")
            {
                continue;
            }

            var list = entries!.AsArray();
            for (var i = 0; i < list.Count; i++)
            {
                var f = list[i]!;
                var name = $"gbstats-fixtures.json {section}[{i}]" + (f["name"] is { } label ? $" ({label.GetValue<string>()})" : "");
                switch (section)
                {
                    case "srm":
                        yield return Srm(name, [.. f["users"]!.AsArray().Select(u => Num(u))], [.. f["weights"]!.AsArray().Select(w => Num(w))], Num(f["p_value"]));
                        break;
                    case "frequentist":
                        yield return new ReferenceCase(name, Document(f, "frequentist", Str(f["difference_type"]), Num(f["alpha"]), Test(Str(f["test"]))), Frequentist(f["result"]!));
                        break;
                    case "sequential":
                        var sequential = Document(f, "frequentist", Str(f["difference_type"]), Num(f["alpha"]), "two-sided");
                        sequential["sequential"] = new JsonObject { ["tuningParameter"] = Num(f["tuning_parameter_N*"]) };
                        yield return new ReferenceCase(name, sequential, Frequentist(f["result"]!));
                        break;
                    case "bayesian":
                        yield return new ReferenceCase(name, Bayesian(f, name), Bayesian(f["result"]!));
                        break;
                    case "cuped":
                        yield return new ReferenceCase(name + " cuped_result", Cuped(f, cuped: true), Frequentist(f["cuped_result"]!));
                        yield return new ReferenceCase(name + " unadjusted_result", Cuped(f, cuped: false), Frequentist(f["unadjusted_result"]!));
                        break;
                    case "ratio":
                        yield return new ReferenceCase(name, Ratio(f), Frequentist(f["result"]!));
                        break;
                    default:
                        throw new InvalidOperationException($"{name}: no translation into a `stats analyze` document for the section '{section}'");
                }
            }
        }
    }

    /// <summary>Every key is either run through the CLI or listed in <see cref="CoveredByUnitTestsOnly"/>.</summary>
    private static IEnumerable<ReferenceCase> WorkedExampleCases(JsonObject root)
    {
        foreach (var (key, value) in root)
        {
            var name = $"worked-examples.json {key}";
            if (SrmKey().Match(key) is { Success: true } srm)
            {
                // [chi-square, p-value] of an equal split.
                yield return Srm(name, [double.Parse(srm.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(srm.Groups[2].Value, CultureInfo.InvariantCulture)], [0.5, 0.5], Num(value![1]));
            }
            else if (WelchKey().Match(key) is { Success: true } welch)
            {
                double G(int group) => double.Parse(welch.Groups[group].Value, CultureInfo.InvariantCulture);

                // The t and df of the example are internal to the engine; the p-value is what the document shows.
                yield return Welch(name, (G(3), G(1), G(2)), (G(6), G(4), G(5)), Num(value!["p"]));
            }
            else if (key == "welch_scipy_check")
            {
                // scipy's ttest_ind(a, b) on the same two groups as the Welch example, a being the one with mean 11:
                // [t of a − b, p-value]. The document's difference is treatment − control, so a is the control here.
                yield return Welch(name, (120, 11, 4), (100, 10, 3), Num(value![1]));
            }
            else if (!CoveredByUnitTestsOnly.Contains(key))
            {
                throw new InvalidOperationException($"{name}: neither translated into a `stats analyze` document nor listed as covered by unit tests only");
            }
        }
    }

    private static ReferenceCase Srm(string name, double[] users, double[] weights, double pValue) =>
        new(
            name,
            new JsonObject
            {
                ["metric"] = "proportion",
                ["engine"] = "frequentist",
                ["weights"] = new JsonArray([.. weights.Select(w => (JsonNode)w)]),
                // The SRM test reads only n; a sum of 0 is valid for any n.
                ["variations"] = new JsonArray([.. users.Select(n => (JsonNode)new JsonObject { ["n"] = n, ["sum"] = 0 })]),
            },
            new JsonObject { ["srm"] = new JsonObject { ["pValue"] = pValue } });

    /// <summary>A mean metric from (n, mean, standard deviation): sum = n·mean, sumSquares = (n − 1)·sd² + n·mean².</summary>
    private static ReferenceCase Welch(string name, (double N, double Mean, double Sd) control, (double N, double Mean, double Sd) treatment, double pValue)
    {
        static JsonObject Variation((double N, double Mean, double Sd) g) =>
            new() { ["n"] = g.N, ["sum"] = g.N * g.Mean, ["sumSquares"] = ((g.N - 1) * g.Sd * g.Sd) + (g.N * g.Mean * g.Mean) };

        return new(
            name,
            new JsonObject
            {
                ["metric"] = "mean",
                ["engine"] = "frequentist",
                ["differenceType"] = "absolute",
                ["variations"] = new JsonArray(Variation(control), Variation(treatment)),
            },
            new JsonObject { ["variations"] = new JsonArray(new JsonObject(), new JsonObject { ["pValue"] = pValue }) });
    }

    /// <summary>a/b without sum_squares are a proportion, with it a mean.</summary>
    private static JsonObject Document(JsonNode f, string engine, string differenceType, double alpha, string? test)
    {
        var a = f["a"]!;
        var b = f["b"]!;
        var proportion = a["sum_squares"] is null && b["sum_squares"] is null;
        var document = new JsonObject
        {
            ["metric"] = proportion ? "proportion" : "mean",
            ["engine"] = engine,
            ["differenceType"] = differenceType,
            ["alpha"] = alpha,
            ["variations"] = new JsonArray(Variation(a), Variation(b)),
        };
        if (test is not null)
        {
            document["test"] = test;
        }

        return document;

        JsonObject Variation(JsonNode v)
        {
            var variation = new JsonObject { ["n"] = Num(v["n"]), ["sum"] = Num(v["sum"]) };
            if (!proportion)
            {
                variation["sumSquares"] = Num(v["sum_squares"]);
            }

            return variation;
        }
    }

    private static string Test(string gbstatsTest) => gbstatsTest switch
    {
        "TwoSidedTTest" => "two-sided",
        "OneSidedTreatmentGreaterTTest" => "one-sided-greater",
        _ => throw new InvalidOperationException($"no `stats analyze` test for gbstats' {gbstatsTest}"),
    };

    private static JsonObject Bayesian(JsonNode f, string name)
    {
        var config = f["config"]!;

        // The document's prior is on the relative scale and the effect is treatment − control.
        if (Str(config["prior_type"]) != "relative" || config["inverse"]!.GetValue<bool>())
        {
            throw new InvalidOperationException($"{name}: only a relative prior without inverse can be stated in a `stats analyze` document");
        }

        var document = Document(f, "bayesian", Str(config["difference_type"]), Num(config["alpha"]), test: null);
        var prior = config["prior_effect"]!;
        document["prior"] = new JsonObject { ["mean"] = Num(prior["mean"]), ["variance"] = Num(prior["variance"]), ["proper"] = prior["proper"]!.GetValue<bool>() };
        return document;
    }

    /// <summary>The fixture's post statistic is the metric (a mean), its pre statistic the covariate.</summary>
    private static JsonObject Cuped(JsonNode f, bool cuped)
    {
        JsonObject Variation(JsonNode v)
        {
            var post = v["post_statistic"]!;
            var pre = v["pre_statistic"]!;
            return new JsonObject
            {
                ["n"] = SameN(v, post, pre),
                ["sum"] = Num(post["sum"]),
                ["sumSquares"] = Num(post["sum_squares"]),
                ["pre"] = new JsonObject { ["sum"] = Num(pre["sum"]), ["sumSquares"] = Num(pre["sum_squares"]) },
                ["sumProductsWithPre"] = Num(v["post_pre_sum_of_products"]),
            };
        }

        return new JsonObject
        {
            ["metric"] = "mean",
            ["engine"] = "frequentist",
            ["differenceType"] = Str(f["difference_type"]),
            ["cuped"] = cuped,
            ["variations"] = new JsonArray(Variation(f["a"]!), Variation(f["b"]!)),
        };
    }

    private static JsonObject Ratio(JsonNode f)
    {
        JsonObject Variation(JsonNode v)
        {
            var m = v["m_statistic"]!;
            var d = v["d_statistic"]!;
            return new JsonObject
            {
                ["n"] = SameN(v, m, d),
                ["numerator"] = new JsonObject { ["sum"] = Num(m["sum"]), ["sumSquares"] = Num(m["sum_squares"]) },
                ["denominator"] = new JsonObject { ["sum"] = Num(d["sum"]), ["sumSquares"] = Num(d["sum_squares"]) },
                ["sumProducts"] = Num(v["m_d_sum_of_products"]),
            };
        }

        return new JsonObject
        {
            ["metric"] = "ratio",
            ["engine"] = "frequentist",
            ["differenceType"] = Str(f["difference_type"]),
            ["variations"] = new JsonArray(Variation(f["a"]!), Variation(f["b"]!)),
        };
    }

    /// <summary>The document has one n per variation: the fixture's statistics must all count the same units.</summary>
    private static double SameN(JsonNode variation, JsonNode first, JsonNode second)
    {
        var n = Num(variation["n"]);
        if (Num(first["n"]) != n || Num(second["n"]) != n)
        {
            throw new InvalidOperationException($"a variation's statistics count different units ({variation.ToJsonString()}); the document has one n per variation");
        }

        return n;
    }

    /// <summary>The baseline carries no reference values; a string or infinite CI end is unbounded (null in the output).</summary>
    private static JsonObject Frequentist(JsonNode result) =>
        new() { ["variations"] = new JsonArray(new JsonObject(), new JsonObject { ["expected"] = Num(result["expected"]), ["ci"] = Interval(result["ci"]!), ["pValue"] = Num(result["pValue"]) }) };

    private static JsonObject Bayesian(JsonNode result) =>
        new()
        {
            ["variations"] = new JsonArray(new JsonObject(), new JsonObject
            {
                ["expected"] = Num(result["expected"]),
                ["ci"] = Interval(result["ci"]!),
                ["chanceToWin"] = Num(result["chanceToWin"]),
                ["risk"] = new JsonArray(Num(result["risk"]![0]), Num(result["risk"]![1])),
            }),
        };

    private static JsonArray Interval(JsonNode ci) => new(End(ci[0]), End(ci[1]));

    private static JsonNode? End(JsonNode? end) =>
        end!.GetValueKind() == System.Text.Json.JsonValueKind.String || double.IsInfinity(Num(end)) ? null : JsonValue.Create(Num(end));

    /// <summary>
    /// Compares the members present in <paramref name="expected"/> (arrays item by item, same length) with the
    /// tolerance; records each difference with the case and the field. Returns the number of values compared.
    /// </summary>
    private static int CompareSubset(JsonNode? expected, JsonNode? actual, string path, string name, ConcurrentQueue<string> mismatches)
    {
        switch (expected)
        {
            case null:
                if (actual is not null)
                {
                    mismatches.Enqueue($"{name}: {path}: expected null (unbounded), got {actual.ToJsonString()}");
                }

                return 1;
            case JsonObject eo:
                if (actual is not JsonObject ao)
                {
                    mismatches.Enqueue($"{name}: {path}: expected an object, got {actual?.ToJsonString() ?? "null"}");
                    return 0;
                }

                return eo.Sum(p => ao.ContainsKey(p.Key)
                    ? CompareSubset(p.Value, ao[p.Key], $"{path}.{p.Key}", name, mismatches)
                    : Missing($"{path}.{p.Key}"));
            case JsonArray ea:
                if (actual is not JsonArray aa || aa.Count != ea.Count)
                {
                    mismatches.Enqueue($"{name}: {path}: expected {ea.Count} items, got {actual?.ToJsonString() ?? "null"}");
                    return 0;
                }

                return ea.Select((e, i) => CompareSubset(e, aa[i], $"{path}[{i}]", name, mismatches)).Sum();
            default:
                var want = Num(expected);
                if (actual is not JsonValue av || av.GetValueKind() != System.Text.Json.JsonValueKind.Number)
                {
                    mismatches.Enqueue($"{name}: {path}: expected {want:R}, got {actual?.ToJsonString() ?? "null"}");
                }
                else if (!Tolerance.Close(want, av.GetValue<double>()))
                {
                    mismatches.Enqueue($"{name}: {path}: expected {want:R}, got {av.GetValue<double>():R}");
                }

                return 1;
        }

        int Missing(string field)
        {
            mismatches.Enqueue($"{name}: {field} missing from the output");
            return 1;
        }
    }

    /// <summary>Reads a TestData file; Python's bare Infinity (an unbounded CI end) becomes the string "Infinity".</summary>
    private static JsonObject Load(string file) =>
        JsonNode.Parse(BareInfinity().Replace(File.ReadAllText(Path.Combine(TestData, file)), "\"$1\""))!.AsObject();

    private static double Num(JsonNode? node) => node!.GetValue<double>();

    private static string Str(JsonNode? node) => node!.GetValue<string>();

    [GeneratedRegex("""(?<=[:\[,]\s*)(-?Infinity|NaN)(?=\s*[,\]}])""")]
    private static partial Regex BareInfinity();

    [GeneratedRegex("^srm_([0-9]+)_([0-9]+)$")]
    private static partial Regex SrmKey();

    [GeneratedRegex("^welch_m([0-9.]+)_s([0-9.]+)_n([0-9]+)_vs_m([0-9.]+)_s([0-9.]+)_n([0-9]+)$")]
    private static partial Regex WelchKey();
}
