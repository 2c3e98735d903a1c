using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Upswing.Data;

namespace Upswing.Operations;

/// <summary>Health endpoints, Prometheus metrics and optional OTLP export.</summary>
public static class OperationsModule
{
    /// <summary>The meters Upswing exposes on /metrics and exports over OTLP.</summary>
    public static readonly string[] Meters =
    [
        "Upswing",
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Routing",
        "Microsoft.AspNetCore.Diagnostics",
        "Microsoft.AspNetCore.RateLimiting",
        "System.Runtime",
        "System.Net.Http",
    ];

    public static IHostApplicationBuilder AddOperations(this IHostApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks()
            .AddCheck<DatabaseReadyCheck>("database", tags: ["ready"]);
        builder.Services.AddSingleton(_ => new PrometheusMetrics(Meters));
        builder.Services.AddHostedService<MetricsStarter>();

        // OTLP only when an endpoint is configured: the exporter otherwise retries a missing collector forever.
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddSingleton(_ => Sdk.CreateMeterProviderBuilder().AddMeter(Meters).AddOtlpExporter().Build());
            builder.Services.AddSingleton(_ => Sdk.CreateTracerProviderBuilder()
                .AddSource("Microsoft.AspNetCore", "Upswing").AddOtlpExporter().Build());
            builder.Services.AddHostedService<TelemetryStarter>();
        }

        return builder;
    }

    public static IEndpointRouteBuilder MapOperations(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false }).WithTags("Operations");
        app.MapHealthChecks("/health/ready", new() { Predicate = check => check.Tags.Contains("ready"), ResponseWriter = HealthWriter.WriteAsync }).WithTags("Operations");
        app.MapGet("/metrics", RenderMetrics).WithName("Metrics").WithTags("Operations").ExcludeFromDescription();
        return app;
    }

    private static IResult RenderMetrics(PrometheusMetrics metrics) =>
        TypedResults.Text(metrics.Render(), PrometheusMetrics.ContentType);

    /// <summary>The listener must exist before the first request, or that request's measurements are lost.</summary>
    private sealed class MetricsStarter(PrometheusMetrics metrics) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.FromResult(metrics);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Resolving the providers starts their listeners; without it they would be built lazily, never.</summary>
    private sealed class TelemetryStarter(MeterProvider meters, TracerProvider traces) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.FromResult((meters, traces));

        public Task StopAsync(CancellationToken cancellationToken)
        {
            meters.ForceFlush();
            traces.ForceFlush();
            return Task.CompletedTask;
        }
    }
}

/// <summary>Ready means the database answers and every migration is applied.</summary>
internal sealed class DatabaseReadyCheck(IServiceScopeFactory scopes) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<UpswingDb>();
        if (!await db.Database.CanConnectAsync(cancellationToken))
        {
            return HealthCheckResult.Unhealthy("The database is not reachable.");
        }

        var pending = await scope.ServiceProvider.GetRequiredService<DatabaseMigrator>().PendingAsync(cancellationToken);
        return pending.Count == 0
            ? HealthCheckResult.Healthy($"{db.Database.ProviderName}: schema up to date.")
            : HealthCheckResult.Unhealthy($"{pending.Count} migrations are not applied; run `upswing migrate`.");
    }
}

internal static class HealthWriter
{
    public static Task WriteAsync(HttpContext context, HealthReport report) =>
        context.Response.WriteAsJsonAsync(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        });
}
