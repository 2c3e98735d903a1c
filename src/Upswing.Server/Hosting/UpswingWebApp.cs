using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Json;
using Upswing.Access;
using Upswing.Analytics;
using Upswing.Audit;
using Upswing.Common;
using Upswing.Common.Http;
using Upswing.Events;
using Upswing.Experiments;
using Upswing.Flags;
using Upswing.Jobs;
using Upswing.Operations;
using Upswing.Server.Components;
using Upswing.Workspaces;

namespace Upswing.Server.Hosting;

/// <summary>Builds the `upswing serve` web host. Tests build the very same host on a free port.</summary>
internal static class UpswingWebApp
{
    public const string DefaultUrls = "http://127.0.0.1:5080";

    public static WebApplication Build(CommandLineSettings settings, StartupOptions startup, IEnumerable<KeyValuePair<string, string?>>? overrides = null, Action<WebApplicationBuilder>? configure = null, Action<WebApplication>? mapExtra = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            // The binary's folder holds appsettings.json and wwwroot, wherever upswing is started from.
            ContentRootPath = AppContext.BaseDirectory,
            WebRootPath = Path.Combine(AppContext.BaseDirectory, "wwwroot"),
            Args = [],
        });
        UpswingConfiguration.Apply(builder.Configuration, settings, overrides);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            builder.WebHost.UseUrls(DefaultUrls);
        }

        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(options =>
        {
            options.IncludeScopes = true;
            options.UseUtcTimestamp = true;
            options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });
        builder.Services.AddRequestLogScopes();

        var maxBody = builder.Configuration.GetValue("Http:MaxRequestBodyBytes", 1L << 20);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = maxBody;
        });

        // First hosted service: migrations and the first admin happen before anything else (Data Protection's
        // key ring loader, for one) touches the database. Hosted services start in registration order.
        builder.Services.AddHostedService<StartupTasks>();
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.Configure<JsonOptions>(o => o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase)));
        // Registered before AddProblemDetails' JSON writer, so it is asked first.
        builder.Services.AddSingleton<Microsoft.AspNetCore.Http.IProblemDetailsWriter, HtmlProblemWriter>();
        builder.Services.AddUpswingProblemDetails();
        builder.Services.AddSingleton<Microsoft.AspNetCore.Http.IProblemDetailsWriter, FallbackJsonProblemWriter>();
        builder.Services.AddUpswingOpenApi();
        builder.Services.AddAntiforgery(o => o.Cookie.Name = "upswing_af");
        builder.Services.AddAccessHttp();
        builder.Services.AddRazorComponents();
        builder.Services.AddCascadingAuthenticationState();
        builder.Services.AddScoped<DashboardSession>();
        builder.Services.AddOptions<AdminOptions>().BindConfiguration(AdminOptions.Section);
        builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(startup));

        builder.AddUpswingModules();
        builder.AddOperations();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseRequestIds();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseBadRequestProblems();
        app.UseRouting();
        // After routing: requests that matched an endpoint (every API call) skip the file-system probe.
        app.UseStaticFiles();
        app.UseCorsWithoutRequestScope();
        app.UseRateLimiter();
        // SDK and OFREP endpoints check the key in the request themselves; session cookies are not theirs to read.
        app.UseUnlessKeyInRequest(authenticated =>
        {
            authenticated.UseAuthentication();
            authenticated.UseAuthorization();
            authenticated.UseAntiforgery();
        });

        app.MapOperations();
        app.MapWorkspaces();
        app.MapAccess();
        app.MapAudit();
        app.MapFlags();
        app.MapExperiments();
        app.MapEvents();
        app.MapAnalytics();
        app.MapJobs();
        app.MapDashboard();
        mapExtra?.Invoke(app);
        app.MapOpenApi("/openapi/{documentName}.json");
        // A branch, so other requests skip the UI's path matching and its embedded-file probe.
        app.UseWhen(static context => context.Request.Path.StartsWithSegments("/docs", StringComparison.OrdinalIgnoreCase), docs => docs.UseSwaggerUI(ui =>
        {
            ui.RoutePrefix = "docs";
            ui.DocumentTitle = "Upswing API";
            ui.SwaggerEndpoint("/openapi/v1.json", "Upswing v1");
        }));
        // Unknown routes and methods fall through to UseStatusCodePages, which answers with ProblemDetails.
        return app;
    }
}
