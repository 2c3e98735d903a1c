using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Upswing.Sdk.Tests.Support;

namespace Upswing.Sdk.Tests;

/// <summary>Reconnect timing of the event stream, on a manual clock against a local server whose stream fails on demand.</summary>
public sealed class ReconnectBackoffTests
{
    private const string Payload = """{"status":200,"features":{"f":{"defaultValue":1}},"dateUpdated":"2026-01-15T12:00:00.000Z"}""";

    [Fact]
    public async Task AFailingStream_IsRetriedWithDoublingDelays_ThatResetAfterAHealthyConnection()
    {
        var streamUp = false;
        var streamRequests = 0;
        await using var server = await LocalHttpServer.StartAsync(app =>
        {
            app.MapGet("/api/features/{clientKey}", (HttpContext http) =>
            {
                http.Response.Headers["x-sse-support"] = "enabled";
                return Results.Text(Payload, "application/json");
            });
            app.MapGet("/sub/{clientKey}", async (HttpContext http) =>
            {
                Interlocked.Increment(ref streamRequests);
                if (!Volatile.Read(ref streamUp))
                {
                    http.Response.StatusCode = 503;
                    return;
                }

                http.Response.ContentType = "text/event-stream";
                await http.Response.WriteAsync(": hello\n\nevent: features\ndata: " + Payload + "\n\n");
            });
        });
        var time = new ManualTime();
        await using var client = new UpswingClient(
            TestData.Options(server.BaseAddress, "us_ck_backoff", o => (o.ReconnectDelay, o.MaxReconnectDelay) = (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8))),
            new HttpClient(), time);
        Assert.True(await client.InitializeAsync(TestContext.Current.CancellationToken));

        async Task<TimeSpan> NextDelayAsync(int requests)
        {
            // Only a reconnect wait counts: while a healthy stream is still open, the pending delay is its idle timeout (90 s).
            await TestData.WaitUntilAsync(() => Volatile.Read(ref streamRequests) == requests && time.PendingDelays is [{ TotalSeconds: <= 8 }], $"stream request {requests} and its backoff");
            return time.PendingDelays[0];
        }

        double[] ceilings = [1, 2, 4, 8, 8];
        for (var i = 0; i < ceilings.Length; i++)
        {
            var delay = await NextDelayAsync(i + 1);
            Assert.InRange(delay.TotalSeconds, ceilings[i] / 2, ceilings[i]);
            if (i == ceilings.Length - 1)
            {
                Volatile.Write(ref streamUp, true);
            }

            time.Advance(delay);
        }

        // The stream delivered the payload, then ended: the next wait starts from the first delay again.
        await TestData.WaitUntilAsync(() => client.Sync.StreamConnections == 1, "a healthy connection");
        Assert.InRange((await NextDelayAsync(ceilings.Length + 1)).TotalSeconds, 0.5, 1);
    }
}
