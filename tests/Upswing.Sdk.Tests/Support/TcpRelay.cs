using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Upswing.Sdk.Tests.Support;

/// <summary>
/// A TCP relay on a fixed local port in front of a server whose address can change: lets a test cut every open
/// connection (a network drop) or point the same address at a restarted server, as a load balancer would.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();
    private readonly ConcurrentDictionary<TcpClient, byte> open = new();
    private readonly Task accepting;
    private volatile Uri? target;
    private int accepted;

    public TcpRelay(Uri target)
    {
        this.target = target;
        listener.Start();
        BaseAddress = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
        accepting = Task.Run(AcceptAsync);
    }

    public Uri BaseAddress { get; }

    /// <summary>Connections accepted so far.</summary>
    public int Accepted => Volatile.Read(ref accepted);

    /// <summary>Where new connections go; null refuses them (the server is down).</summary>
    public Uri? Target
    {
        get => target;
        set => target = value;
    }

    /// <summary>Closes every open connection, both ways.</summary>
    public void DropAll()
    {
        foreach (var client in open.Keys)
        {
            open.TryRemove(client, out _);
            try
            {
                // A relay finishing concurrently may already have disposed the socket (Client is then null).
                client.Client?.Close(0);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await listener.AcceptTcpClientAsync(stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref accepted);
            _ = RelayAsync(inbound);
        }
    }

    private async Task RelayAsync(TcpClient inbound)
    {
        var to = target;
        if (to is null)
        {
            inbound.Client.Close(0);
            return;
        }

        var outbound = new TcpClient();
        open[inbound] = 0;
        open[outbound] = 0;
        try
        {
            await outbound.ConnectAsync(to.Host, to.Port, stop.Token);
            using var done = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            var up = Pump(inbound, outbound, done.Token);
            var down = Pump(outbound, inbound, done.Token);
            await Task.WhenAny(up, down);
            await done.CancelAsync();
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            open.TryRemove(inbound, out _);
            open.TryRemove(outbound, out _);
            inbound.Dispose();
            outbound.Dispose();
        }
    }

    private static async Task Pump(TcpClient from, TcpClient to, CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            var input = from.GetStream();
            var output = to.GetStream();
            int read;
            while ((read = await input.ReadAsync(buffer, ct)) > 0)
            {
                await output.WriteAsync(buffer.AsMemory(0, read), ct);
            }
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        DropAll();
        await accepting;
        stop.Dispose();
    }
}
