using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Upswing.Common;
using Upswing.Common.Http;
using Upswing.Data;
using Upswing.Experiments;
using Upswing.Workspaces;

namespace Upswing.Events;

/// <summary>Event ingestion (Segment-compatible and native), its durable group-commit writer, and the read side.</summary>
public static class EventsModule
{
    public static IHostApplicationBuilder AddEvents(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<EventsOptions>().BindConfiguration(EventsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IngestionMetrics>();
        services.AddSingleton(sp =>
        {
            var postgres = sp.GetRequiredService<SqlDialect>().Provider == DatabaseProvider.Postgres;
            var configured = sp.GetRequiredService<IOptions<EventsOptions>>().Value.PostgresWriters;
            var writers = postgres ? (configured == 0 ? 2 : configured) : 1;
            return ActivatorUtilities.CreateInstance<EventWriter>(sp, (Func<EventStore>)(() => NewStore(sp, postgres)), writers);
        });
        services.AddHostedService(sp => sp.GetRequiredService<EventWriter>());
        services.AddSingleton<Ingestion>();
        services.AddSingleton<EventImport>();
        services.AddScoped<EventQueries>();
        services.AddSingleton<RawEventReader>();
        services.AddSingleton<WebVitalReader>();
        services.AddSingleton<TrackingPlans>();
        services.AddScoped<EventDefinitionService>();
        return builder;
    }

    internal static EventStore NewStore(IServiceProvider sp, bool postgres) => postgres
        ? new PostgresEventStore(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<AssignmentHistory>(), sp.GetRequiredService<ExposureRecorder>(), sp.GetRequiredService<TimeProvider>())
        : new SqliteEventStore(sp.GetRequiredService<SqlDialect>(), sp.GetRequiredService<AssignmentHistory>(), sp.GetRequiredService<ExposureRecorder>(), sp.GetRequiredService<TimeProvider>(),
            new WalCheckpointer(sp.GetRequiredService<SqlDialect>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<WalCheckpointer>>()));

    public static IEndpointRouteBuilder MapEvents(this IEndpointRouteBuilder app)
    {
        app.MapIngestion();

        var events = app.MapManagementGroup("/events", "Events");
        events.MapGet("/", ListEvents).WithName("ListEvents")
            .WithSummary("Stored events, newest first; filter by name, type, userId, anonymousId, messageId, from/to (timestamp), environment (key: its client keys' events and secret-key ones); page with ?before=<timestamp>&beforeId=<id> of the last event.");
        events.MapGet("/stats", CountEvents).WithName("CountEvents").WithSummary("Stored events per name and day (UTC), from/to as dates (the last 30 days by default).");
        events.MapGet("/quarantine", ListQuarantine).WithName("ListQuarantinedEvents").WithSummary("Events kept aside because they failed validation, with the reasons; newest first.");

        events.MapGet("/settings", GetSettings).WithName("GetEventSettings").WithSummary("How the tracking plan is enforced: validation off, quarantine or reject, and whether unplanned events pass.");
        events.MapPut("/settings", UpdateSettings).WithName("UpdateEventSettings").WithSummary("Changes how the tracking plan is enforced (admins).");

        var definitions = app.MapManagementGroup("/event-definitions", "Events");
        definitions.MapGet("/", ListDefinitions).WithName("ListEventDefinitions").WithSummary("The tracking plan: planned track events and their property rules.");
        definitions.MapGet("/{id:guid}", GetDefinition).WithName("GetEventDefinition");
        definitions.MapPost("/", CreateDefinition).WithName("CreateEventDefinition");
        definitions.MapPatch("/{id:guid}", UpdateDefinition).WithName("UpdateEventDefinition").WithSummary("Changes the description or the property rules; the name stays.");
        definitions.MapDelete("/{id:guid}", DeleteDefinition).WithName("DeleteEventDefinition");

        var users = app.MapManagementGroup("/users", "Events");
        users.MapGet("/{id}", GetUser).WithName("GetEventUser").WithSummary("A person by user id or anonymous id: linked ids, traits, experiment assignments and recent events.");
        return app;
    }

    private static async Task<Results<Ok<IReadOnlyList<EventDto>>, ProblemHttpResult>> ListEvents(
        WorkspaceContext caller, EventQueries queries, WorkspaceService workspaces, CancellationToken ct,
        string? name = null, string? type = null, string? userId = null, string? anonymousId = null, string? messageId = null,
        DateTimeOffset? from = null, DateTimeOffset? to = null, DateTimeOffset? before = null, Guid? beforeId = null, int limit = 50, string? environment = null)
    {
        var environmentId = await workspaces.EnvironmentIdAsync(caller.WorkspaceId, environment, "environment", ct);
        if (!environmentId.Succeeded)
        {
            return environmentId.Failure!.ToProblem();
        }

        if (limit is < 1 or > EventQueries.MaxLimit)
        {
            return Problems.Invalid("limit", $"The limit must be between 1 and {EventQueries.MaxLimit}.");
        }

        if (type is not null && EventTypes.Normalize(type) is null)
        {
            return Problems.Invalid("type", "The type is track, identify, page, screen, group or alias.");
        }

        return TypedResults.Ok(await queries.ListAsync(caller.WorkspaceId, new EventQuery(name, userId, anonymousId, messageId, from, to, before, beforeId, limit, EventTypes.Normalize(type), environmentId.Value), ct));
    }

    private static async Task<Results<Ok<IReadOnlyList<EventCount>>, ProblemHttpResult>> CountEvents(
        WorkspaceContext caller, EventQueries queries, TimeProvider time, CancellationToken ct, DateOnly? from = null, DateOnly? to = null, string? name = null)
    {
        var until = to ?? DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var since = from ?? until.AddDays(-29);
        if (since > until || until.DayNumber - since.DayNumber > 366)
        {
            return Problems.Invalid("from", "from must be on or before to, and at most 366 days apart.");
        }

        return TypedResults.Ok(await queries.CountsAsync(caller.WorkspaceId, since, until, name, ct));
    }

    private static async Task<Results<Ok<IReadOnlyList<QuarantinedEventDto>>, ProblemHttpResult>> ListQuarantine(
        WorkspaceContext caller, EventQueries queries, CancellationToken ct, Guid? before = null, int limit = 50)
    {
        if (limit is < 1 or > EventQueries.MaxLimit)
        {
            return Problems.Invalid("limit", $"The limit must be between 1 and {EventQueries.MaxLimit}.");
        }

        return TypedResults.Ok(await queries.QuarantineAsync(caller.WorkspaceId, before, limit, ct));
    }

    private static async Task<Results<Ok<UserProfile>, ProblemHttpResult>> GetUser(string id, WorkspaceContext caller, EventQueries queries, CancellationToken ct, int events = 50) =>
        await queries.UserAsync(caller.WorkspaceId, id, events, ct) is { } profile ? TypedResults.Ok(profile) : Problems.NotFoundProblem($"No events name the user '{id}'.");

    private static async Task<Ok<EventSettingsDto>> GetSettings(WorkspaceContext caller, EventDefinitionService service, CancellationToken ct) =>
        TypedResults.Ok(await service.GetSettingsAsync(caller.WorkspaceId, ct));

    private static async Task<Results<Ok<EventSettingsDto>, ProblemHttpResult>> UpdateSettings(EventSettingsRequest request, WorkspaceContext caller, EventDefinitionService service, CancellationToken ct) =>
        (await service.UpdateSettingsAsync(caller, request, ct)).ToOkOrProblem();

    private static async Task<Ok<IReadOnlyList<EventDefinitionDto>>> ListDefinitions(WorkspaceContext caller, EventDefinitionService service, CancellationToken ct) =>
        TypedResults.Ok(await service.ListAsync(caller.WorkspaceId, ct));

    private static async Task<Results<Ok<EventDefinitionDto>, ProblemHttpResult>> GetDefinition(Guid id, WorkspaceContext caller, EventDefinitionService service, CancellationToken ct) =>
        await service.GetAsync(caller.WorkspaceId, id, ct) is { } definition ? TypedResults.Ok(definition) : Problems.NotFoundProblem("Event definition not found.");

    private static async Task<Results<Created<EventDefinitionDto>, ProblemHttpResult>> CreateDefinition(EventDefinitionRequest request, WorkspaceContext caller, EventDefinitionService service, CancellationToken ct)
    {
        var result = await service.CreateAsync(caller, request, ct);
        return result.Succeeded ? TypedResults.Created($"/api/v1/event-definitions/{result.Value!.Id}", result.Value) : result.Failure!.ToProblem();
    }

    private static async Task<Results<Ok<EventDefinitionDto>, ProblemHttpResult>> UpdateDefinition(Guid id, EventDefinitionRequest request, WorkspaceContext caller, EventDefinitionService service, CancellationToken ct) =>
        (await service.UpdateAsync(caller, id, request, ct)).ToOkOrProblem();

    private static async Task<Results<Ok<EventDefinitionDto>, ProblemHttpResult>> DeleteDefinition(Guid id, WorkspaceContext caller, EventDefinitionService service, CancellationToken ct) =>
        (await service.DeleteAsync(caller, id, ct)).ToOkOrProblem();
}
