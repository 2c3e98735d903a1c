using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Upswing.Sdk;

/// <summary>Registers the Upswing SDK in a .NET host.</summary>
public static class UpswingServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="UpswingClient"/> as a singleton and a hosted service that loads the payload on start (waiting at
    /// most <see cref="UpswingOptions.StartupTimeout"/>, so a server that is down does not hold the application) and
    /// flushes queued events on stop.
    /// </summary>
    public static IServiceCollection AddUpswing(this IServiceCollection services, Action<UpswingOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<UpswingOptions>().Configure(configure);
        // The request URLs carry the client key; the factory's default handlers would log them.
        services.AddHttpClient(UpswingClient.HttpClientName).RemoveAllLoggers();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new UpswingClient(
            sp.GetRequiredService<IOptions<UpswingOptions>>().Value,
            sp.GetRequiredService<IHttpClientFactory>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()));
        services.AddHostedService<UpswingHostedService>();
        return services;
    }
}

/// <summary>Loads the payload when the host starts and flushes events when it stops.</summary>
internal sealed class UpswingHostedService(UpswingClient client, IOptions<UpswingOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.StartupTimeout);
        await client.InitializeAsync(timeout.Token);
    }

    public Task StopAsync(CancellationToken cancellationToken) => client.FlushAsync(cancellationToken);
}
