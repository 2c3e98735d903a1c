using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Upswing.Access;
using Upswing.Common;
using Upswing.Common.Http;

namespace Upswing.Experiments;

/// <summary>Experiments and holdouts: the management API, their lifecycle, and server-side sticky assignment.</summary>
public static class ExperimentsModule
{
    public static IHostApplicationBuilder AddExperiments(this IHostApplicationBuilder builder)
    {
        builder.Services.AddScoped<ExperimentService>();
        builder.Services.AddScoped<HoldoutService>();
        builder.Services.AddSingleton<AssignmentService>();
        builder.Services.AddScoped<ExperimentCatalogBuilder>();
        builder.Services.AddSingleton<ExperimentCatalogCache>();
        builder.Services.AddSingleton<AssignmentMemo>();
        builder.Services.AddSingleton<AssignmentHistory>();
        builder.Services.AddSingleton<ExposureRecorder>();
        return builder;
    }

    public static IEndpointRouteBuilder MapExperiments(this IEndpointRouteBuilder app)
    {
        // The AB Calicritters contract: apps ask for their users' variations with a client or a secret key.
        // Singletons captured here rather than parameters resolved per request: a returning user's request creates no DI scope at all.
        var services = app.ServiceProvider;
        var assignments = services.GetRequiredService<AssignmentService>();
        app.MapPost("/v1/assignment", (Delegate)((HttpContext http) => Assign(http, services, assignments))).WithName("Assign").WithTags("Assignment")
            .AuthenticatesByKeyInRequest().RequireCors(Flags.SdkEndpoints.CorsPolicy)
            .Accepts<AssignmentRequest>("application/json").Produces<AssignmentResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Sticky variations of a user in running experiments; the first assignment is stored and is the user's first exposure.");

        var experiments = app.MapManagementGroup("/experiments", "Experiments");
        experiments.MapGet("/", ListExperiments).WithName("ListExperiments");
        experiments.MapGet("/{key}", GetExperiment).WithName("GetExperiment");
        experiments.MapPost("/", CreateExperiment).WithName("CreateExperiment");
        experiments.MapPatch("/{key}", UpdateExperiment).WithName("UpdateExperiment")
            .WithSummary("Changes an experiment; weight, coverage, targeting or namespace changes of a running one start a new phase.");
        experiments.MapPost("/{key}/start", StartExperiment).WithName("StartExperiment").WithSummary("Draft or paused → running.");
        experiments.MapPost("/{key}/pause", PauseExperiment).WithName("PauseExperiment").WithSummary("Running → paused: assigned users stay, nobody new enters.");
        experiments.MapPost("/{key}/stop", StopExperiment).WithName("StopExperiment").WithSummary("Running or paused → stopped, optionally rolling out a winner.");
        experiments.MapGet("/{key}/assignments", CountAssignments).WithName("CountExperimentAssignments").WithSummary("Assigned users per variation.");
        experiments.MapDelete("/{key}", DeleteExperiment).WithName("DeleteExperiment");

        var holdouts = app.MapManagementGroup("/holdouts", "Holdouts");
        holdouts.MapGet("/", ListHoldouts).WithName("ListHoldouts");
        holdouts.MapGet("/{key}", GetHoldout).WithName("GetHoldout");
        holdouts.MapPost("/", CreateHoldout).WithName("CreateHoldout");
        holdouts.MapPatch("/{key}", UpdateHoldout).WithName("UpdateHoldout");
        holdouts.MapDelete("/{key}", DeleteHoldout).WithName("DeleteHoldout");
        return app;
    }

    /// <summary>
    /// A hot path for apps, so like the SDK endpoints it skips the cookie, authorization and antiforgery middleware
    /// and checks the key itself: any valid client or secret key of the workspace (a read key gets 403).
    /// </summary>
    /// <remarks>The body is read and the answer written with <see cref="JsonBody"/>: on this path the framework's streaming JSON cost more than the assignment.</remarks>
    private static async Task Assign(HttpContext http, IServiceProvider services, AssignmentService assignments)
    {
        var (key, error) = ApiKeyAuthenticationHandler.KeyFromAuthorization(http.Request.Headers.Authorization.ToString());
        var identity = key is null ? null : await KeyLookup.FindAsync(services, key, http.RequestAborted);
        if (identity is null)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer realm=\"upswing\"";
            await Problems.UnauthorizedProblem(http.Request.Headers.Authorization.Count == 0
                ? "An API key is required: send 'Authorization: Bearer <key>'."
                : error ?? "The API key is not valid or has been revoked.").ExecuteAsync(http);
            return;
        }

        if (identity.Kind == ApiKeyKind.Read)
        {
            await Problems.ForbiddenProblem("Read keys may only call the /v1/metrics endpoints; assignment takes a client or a secret key.").ExecuteAsync(http);
            return;
        }

        var request = await JsonBody.ReadAsync(http.Request, false, AssignmentRequest.Read);
        var result = await assignments.AssignAsync(identity.WorkspaceId, request, http.RequestAborted);
        if (result.Succeeded)
        {
            await JsonBody.WriteAsync(http.Response, result.Value!, static (response, writer) => response.WriteTo(writer));
        }
        else
        {
            await result.Failure!.ToProblem().ExecuteAsync(http);
        }
    }

    private static async Task<Results<Ok<IReadOnlyList<ExperimentDto>>, ProblemHttpResult>> ListExperiments(WorkspaceContext caller, ExperimentService experiments, CancellationToken ct, string? status = null)
    {
        ExperimentStatus? filter = null;
        if (status is not null)
        {
            if (!Enum.TryParse<ExperimentStatus>(status, ignoreCase: true, out var parsed) || int.TryParse(status, out _))
            {
                return Problems.Invalid("status", "The status is draft, running, paused or stopped.");
            }

            filter = parsed;
        }

        return TypedResults.Ok(await experiments.ListAsync(caller.WorkspaceId, filter, ct));
    }

    private static async Task<Results<Ok<ExperimentDto>, ProblemHttpResult>> GetExperiment(string key, WorkspaceContext caller, ExperimentService experiments, CancellationToken ct) =>
        await experiments.GetAsync(caller.WorkspaceId, key, ct) is { } experiment ? TypedResults.Ok(experiment) : Problems.NotFoundProblem($"No experiment with key '{key}'.");

    private static async Task<Results<Created<ExperimentDto>, ProblemHttpResult>> CreateExperiment(CreateExperimentRequest request, WorkspaceContext caller, ExperimentService experiments, CancellationToken ct)
    {
        var result = await experiments.CreateAsync(caller, request, ct);
        return result.Succeeded ? TypedResults.Created($"/api/v1/experiments/{result.Value!.Key}", result.Value) : result.Failure!.ToProblem();
    }

    private static async Task<Results<Ok<ExperimentDto>, ProblemHttpResult>> UpdateExperiment(string key, UpdateExperimentRequest request, WorkspaceContext caller, ExperimentService experiments, CancellationToken ct) =>
        (await experiments.UpdateAsync(caller, key, request, ct)).ToOkOrProblem();

    private static async Task<Results<Ok<ExperimentDto>, ProblemHttpResult>> StartExperiment(string key, WorkspaceContext caller, ExperimentService experiments, CancellationToken ct) =>
        (await experiments.StartAsync(caller, key, ct)).ToOkOrProblem();

    private static async Task<Results<Ok<ExperimentDto>, ProblemHttpResult>> PauseExperiment(string key, WorkspaceContext caller, ExperimentService experiments, CancellationToken ct) =>
        (await experiments.PauseAsync(caller, key, ct)).ToOkOrProblem();

    private static async Task<Results<Ok<ExperimentDto>, ProblemHttpResult>> StopExperiment(string key, StopExperimentRequest? request, WorkspaceContext caller, ExperimentService experiments, CancellationToken ct) =>
        (await experiments.StopAsync(caller, key, request ?? new StopExperimentRequest(null, null), ct)).ToOkOrProblem();

    private static async Task<Results<Ok<ExperimentAssignmentCounts>, ProblemHttpResult>> CountAssignments(string key, WorkspaceContext caller, ExperimentService experiments, CancellationToken ct) =>
        await experiments.CountAssignmentsAsync(caller.WorkspaceId, key, ct) is { } counts ? TypedResults.Ok(counts) : Problems.NotFoundProblem($"No experiment with key '{key}'.");

    private static async Task<Results<Ok<ExperimentDto>, ProblemHttpResult>> DeleteExperiment(string key, WorkspaceContext caller, ExperimentService experiments, CancellationToken ct) =>
        (await experiments.DeleteAsync(caller, key, ct)).ToOkOrProblem();

    private static async Task<Ok<IReadOnlyList<HoldoutDto>>> ListHoldouts(WorkspaceContext caller, HoldoutService holdouts, CancellationToken ct) =>
        TypedResults.Ok(await holdouts.ListAsync(caller.WorkspaceId, ct));

    private static async Task<Results<Ok<HoldoutDto>, ProblemHttpResult>> GetHoldout(string key, WorkspaceContext caller, HoldoutService holdouts, CancellationToken ct) =>
        await holdouts.GetAsync(caller.WorkspaceId, key, ct) is { } holdout ? TypedResults.Ok(holdout) : Problems.NotFoundProblem($"No holdout with key '{key}'.");

    private static async Task<Results<Created<HoldoutDto>, ProblemHttpResult>> CreateHoldout(HoldoutRequest request, WorkspaceContext caller, HoldoutService holdouts, CancellationToken ct)
    {
        var result = await holdouts.CreateAsync(caller, request, ct);
        return result.Succeeded ? TypedResults.Created($"/api/v1/holdouts/{result.Value!.Key}", result.Value) : result.Failure!.ToProblem();
    }

    private static async Task<Results<Ok<HoldoutDto>, ProblemHttpResult>> UpdateHoldout(string key, HoldoutRequest request, WorkspaceContext caller, HoldoutService holdouts, CancellationToken ct) =>
        (await holdouts.UpdateAsync(caller, key, request, ct)).ToOkOrProblem();

    private static async Task<Results<Ok<HoldoutDto>, ProblemHttpResult>> DeleteHoldout(string key, WorkspaceContext caller, HoldoutService holdouts, CancellationToken ct) =>
        (await holdouts.DeleteAsync(caller, key, ct)).ToOkOrProblem();

}
