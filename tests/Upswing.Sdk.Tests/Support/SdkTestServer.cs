using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Upswing.TestKit;

namespace Upswing.Sdk.Tests.Support;

/// <summary>One real Upswing server (SQLite) per test class.</summary>
public sealed class SdkServerFixture : IAsyncLifetime
{
    private UpswingTestServer? server;

    public UpswingTestServer Server => server!;

    public async ValueTask InitializeAsync() => server = await UpswingTestServer.StartAsync(TestDatabase.Sqlite());

    public async ValueTask DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }
}

/// <summary>Records what the SDK sent and what it got back, below the SDK's own HttpClient.</summary>
public sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<(string Path, string? IfNoneMatch, int Status)> exchanges = new();

    public IReadOnlyList<(string Path, string? IfNoneMatch, int Status)> Exchanges => exchanges.ToArray();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        exchanges.Enqueue((request.RequestUri!.AbsolutePath, request.Headers.TryGetValues("If-None-Match", out var tags) ? tags.Single() : null, (int)response.StatusCode));
        return response;
    }
}

internal static class TestData
{
    public static async Task<JsonNode> ReadOkAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    public static async Task CreateFeatureAsync(this HttpClient api, string key, string valueType, object defaultValue, params object[] rules) =>
        await (await api.PostAsJsonAsync("/api/v1/features", new
        {
            key,
            valueType,
            defaultValue,
            environments = new Dictionary<string, object> { ["production"] = new { rules } },
        })).ReadOkAsync();

    public static async Task SetDefaultAsync(this HttpClient api, string key, object defaultValue) =>
        await (await api.PatchAsync($"/api/v1/features/{key}", JsonContent.Create(new { defaultValue }))).ReadOkAsync();

    public static UpswingOptions Options(Uri apiHost, string clientKey, Action<UpswingOptions>? configure = null)
    {
        var options = new UpswingOptions { ApiHost = apiHost, ClientKey = clientKey };
        configure?.Invoke(options);
        return options;
    }

    public static ILoggerFactory Loggers(LogCapture capture) => LoggerFactory.Create(b => b.AddProvider(capture).SetMinimumLevel(LogLevel.Debug));

    /// <summary>Waits for a condition with a deadline (no fixed sleeps).</summary>
    public static Task WaitUntilAsync(Func<bool> condition, string what, double seconds = 10) =>
        Infrastructure.WaitUntilAsync(() => Task.FromResult(condition()), TimeSpan.FromSeconds(seconds), what);
}
