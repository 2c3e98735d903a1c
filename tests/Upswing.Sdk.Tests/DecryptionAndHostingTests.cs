using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Upswing.Sdk.Tests.Support;
using Upswing.TestKit;

namespace Upswing.Sdk.Tests;

/// <summary>Client-side decryption of GrowthBook-encrypted payloads, served by a local endpoint.</summary>
public sealed class DecryptionTests
{
    private const string ClientKey = "us_ck_encryptedpayloadtests";

    /// <summary>GrowthBook's encryption: AES-128-CBC, PKCS#7, "base64(iv).base64(ciphertext)".</summary>
    private static string Encrypt(string plain, byte[] key)
    {
        using var aes = Aes.Create();
        aes.Key = key;
        var iv = RandomNumberGenerator.GetBytes(16);
        return Convert.ToBase64String(iv) + "." + Convert.ToBase64String(aes.EncryptCbc(Encoding.UTF8.GetBytes(plain), iv, PaddingMode.PKCS7));
    }

    private static Task<LocalHttpServer> ServeAsync(JsonObject payload) => LocalHttpServer.StartAsync(app =>
        app.MapGet("/api/features/{clientKey}", (string clientKey) =>
            clientKey == ClientKey ? Results.Text(payload.ToJsonString(), "application/json") : Results.Unauthorized()));

    [Fact]
    public async Task AnEncryptedPayload_IsDecryptedWithTheKey()
    {
        var key = RandomNumberGenerator.GetBytes(16);
        var payload = new JsonObject
        {
            ["status"] = 200,
            ["encryptedFeatures"] = Encrypt("""{"vip-banner":{"defaultValue":false,"rules":[{"condition":{"id":{"$inGroup":"vips"}},"force":true}]}}""", key),
            ["encryptedSavedGroups"] = Encrypt("""{"vips":["u1","u2"]}""", key),
            ["dateUpdated"] = "2026-01-15T12:00:00.000Z",
        };
        await using var server = await ServeAsync(payload);
        await using var client = new UpswingClient(TestData.Options(server.BaseAddress, ClientKey, o => (o.DecryptionKey, o.Streaming) = (Convert.ToBase64String(key), false)), new HttpClient());

        Assert.True(await client.InitializeAsync(TestContext.Current.CancellationToken));
        Assert.True(client.IsOn("vip-banner", new JsonObject { ["id"] = "u2" }));
        Assert.False(client.IsOn("vip-banner", new JsonObject { ["id"] = "u3" }));
    }

    [Fact]
    public async Task AWrongOrMissingKey_LeavesTheClientOnFallbacks()
    {
        var payload = new JsonObject { ["encryptedFeatures"] = Encrypt("""{"f":{"defaultValue":"secret"}}""", RandomNumberGenerator.GetBytes(16)) };
        await using var server = await ServeAsync(payload);
        foreach (var decryptionKey in new[] { Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)), null })
        {
            await using var client = new UpswingClient(TestData.Options(server.BaseAddress, ClientKey, o => (o.DecryptionKey, o.Streaming) = (decryptionKey, false)), new HttpClient());
            Assert.False(await client.InitializeAsync(TestContext.Current.CancellationToken));
            Assert.Equal("fallback", client.GetValue("f", "fallback"));
        }
    }

    public static TheoryData<string> GrowthBookVectors() => new(GrowthBookDecryptCases().Select(c => c[0]!.GetValue<string>()));

    [Theory]
    [MemberData(nameof(GrowthBookVectors))]
    public void GrowthBookDecryptVectors_ThatDoNotYieldJson_AreRejected(string name)
    {
        // GrowthBook's conformance vectors (tests/Upswing.Evaluation.Tests/TestData, see NOTICE): [name, encrypted, key, plaintext or null].
        var c = GrowthBookDecryptCases().Single(c => c[0]!.GetValue<string>() == name);
        var payload = new JsonObject { ["encryptedFeatures"] = c[1]!.GetValue<string>() };
        var (parsed, problem) = FeaturePayload.Parse(Encoding.UTF8.GetBytes(payload.ToJsonString()), c[2]!.GetValue<string>());
        Assert.Null(parsed);
        Assert.Equal(FeaturePayload.Problem.DecryptionFailed, problem);
    }

    private static IEnumerable<JsonArray> GrowthBookDecryptCases()
    {
        var path = Path.Combine(Infrastructure.RepositoryRoot, "tests", "Upswing.Evaluation.Tests", "TestData", "growthbook-cases.json");
        return JsonNode.Parse(File.ReadAllText(path))!["decrypt"]!.AsArray().OfType<JsonArray>()
            .Where(c => c[3] is null || !IsJson(c[3]!.GetValue<string>()));
    }

    private static bool IsJson(string text)
    {
        try
        {
            JsonNode.Parse(text);
            return true;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }
}

/// <summary>AddUpswing in a minimal host, with the real server up and with a server that never answers.</summary>
public sealed class HostingTests(SdkServerFixture fixture) : IClassFixture<SdkServerFixture>
{
    [Fact]
    public async Task AddUpswing_InitializesOnStart_AndServesTheClientAsASingleton()
    {
        var ws = await fixture.Server.CreateWorkspaceAsync();
        using var api = fixture.Server.NewClient(ws.SecretKey);
        await api.CreateFeatureAsync("new-nav", "boolean", true);
        await using var emulator = await IngestionEmulator.StartAsync(ws.ClientKey);

        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddUpswing(o =>
        {
            o.ApiHost = fixture.Server.BaseAddress;
            o.ClientKey = ws.ClientKey;
            o.EventsHost = emulator.BaseAddress;
            o.FlushInterval = TimeSpan.FromHours(1);
        });
        using var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        var client = host.Services.GetRequiredService<UpswingClient>();
        Assert.Same(client, host.Services.GetRequiredService<UpswingClient>());
        Assert.True(client.IsReady);
        Assert.True(client.IsOn("new-nav", new JsonObject { ["id"] = "u1" }));

        client.Track("Signed Up", userId: "u1");
        await host.StopAsync(TestContext.Current.CancellationToken);
        // Stopping the host flushed the queue, long before the hour-long interval.
        Assert.Equal("Signed Up", Assert.Single(emulator.Messages.Values)["event"]!.GetValue<string>());
    }

    [Fact]
    public async Task AServerThatDoesNotAnswer_DoesNotHoldTheApplication_AndEvaluationFallsBack()
    {
        await using var silent = await LocalHttpServer.StartAsync(app =>
            app.MapGet("/api/features/{clientKey}", async (HttpContext http) => await Task.Delay(Timeout.Infinite, http.RequestAborted)));
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddUpswing(o =>
        {
            o.ApiHost = silent.BaseAddress;
            o.ClientKey = "us_ck_nobodyhome";
            o.StartupTimeout = TimeSpan.FromMilliseconds(500);
        });
        using var host = builder.Build();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await host.StartAsync(TestContext.Current.CancellationToken);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"start took {clock.Elapsed}");

        var client = host.Services.GetRequiredService<UpswingClient>();
        Assert.False(client.IsReady);
        Assert.Equal(7, client.GetValue("anything", 7));
        Assert.False(client.IsOn("anything"));
        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public void AddUpswing_RejectsIncompleteOptions_WhenTheClientIsBuilt()
    {
        var services = new ServiceCollection().AddLogging().AddUpswing(o => o.ClientKey = "us_ck_x");
        using var provider = services.BuildServiceProvider();
        Assert.Throws<ArgumentException>(() => provider.GetRequiredService<UpswingClient>());
    }
}
