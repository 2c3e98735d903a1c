using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Upswing.Common;
using Upswing.Common.Http;
using Upswing.Data;

namespace Upswing.Flags;

/// <summary>Feature flags and saved groups: the management API, and the endpoints GrowthBook SDKs and OpenFeature providers call.</summary>
public static class FlagsModule
{
    public static IHostApplicationBuilder AddFlags(this IHostApplicationBuilder builder)
    {
        builder.Services.AddScoped<FeatureService>();
        builder.Services.AddScoped<SavedGroupService>();
        builder.Services.AddScoped<SdkPayloadBuilder>();
        builder.Services.AddScoped<FeatureExplainer>();
        builder.Services.AddSingleton<SdkPayloadCache>();
        builder.Services.AddSingleton<FlagChanges>();
        builder.Services.AddSingleton<FlagChangeFeed>();
        builder.Services.AddSingleton<IDatabaseNotificationHandler, FlagChangeNotifications>();
        // SDKs run in browsers on other origins; the payload is public to any holder of the client key.
        builder.Services.AddCors(cors => cors.AddPolicy(SdkEndpoints.CorsPolicy, policy => policy
            .AllowAnyOrigin().AllowAnyHeader().WithMethods("GET", "POST").WithExposedHeaders("ETag", "x-sse-support")));
        return builder;
    }

    public static IEndpointRouteBuilder MapFlags(this IEndpointRouteBuilder app)
    {
        app.MapSdkEndpoints();
        app.MapOfrepEndpoints();
        var features = app.MapManagementGroup("/features", "Features");
        features.MapGet("/", ListFeatures).WithName("ListFeatures");
        features.MapGet("/{key}", GetFeature).WithName("GetFeature");
        features.MapPost("/", CreateFeature).WithName("CreateFeature");
        features.MapPatch("/{key}", UpdateFeature).WithName("UpdateFeature");
        features.MapPut("/{key}/environments/{environment}", SetFeatureEnvironment).WithName("SetFeatureEnvironment")
            .WithSummary("Replaces the feature's switch and ordered rules in one environment.");
        features.MapDelete("/{key}", DeleteFeature).WithName("DeleteFeature");

        var groups = app.MapManagementGroup("/saved-groups", "Saved groups");
        groups.MapGet("/", ListSavedGroups).WithName("ListSavedGroups");
        groups.MapGet("/{id:guid}", GetSavedGroup).WithName("GetSavedGroup");
        groups.MapPost("/", CreateSavedGroup).WithName("CreateSavedGroup");
        groups.MapPatch("/{id:guid}", UpdateSavedGroup).WithName("UpdateSavedGroup");
        groups.MapDelete("/{id:guid}", DeleteSavedGroup).WithName("DeleteSavedGroup");
        return app;
    }

    private static async Task<Ok<IReadOnlyList<FeatureDto>>> ListFeatures(WorkspaceContext caller, FeatureService features, CancellationToken ct, bool archived = false) =>
        TypedResults.Ok(await features.ListAsync(caller.WorkspaceId, archived, ct));

    private static async Task<Results<Ok<FeatureDto>, ProblemHttpResult>> GetFeature(string key, WorkspaceContext caller, FeatureService features, CancellationToken ct) =>
        await features.GetAsync(caller.WorkspaceId, key, ct) is { } feature ? TypedResults.Ok(feature) : Problems.NotFoundProblem($"No feature with key '{key}'.");

    private static async Task<Results<Created<FeatureDto>, ProblemHttpResult>> CreateFeature(CreateFeatureRequest request, WorkspaceContext caller, FeatureService features, CancellationToken ct)
    {
        var result = await features.CreateAsync(caller, request, ct);
        return result.Succeeded ? TypedResults.Created($"/api/v1/features/{result.Value!.Key}", result.Value) : result.Failure!.ToProblem();
    }

    private static async Task<Results<Ok<FeatureDto>, ProblemHttpResult>> UpdateFeature(string key, UpdateFeatureRequest request, WorkspaceContext caller, FeatureService features, CancellationToken ct) =>
        (await features.UpdateAsync(caller, key, request, ct)).ToOkOrProblem();

    private static async Task<Results<Ok<FeatureDto>, ProblemHttpResult>> SetFeatureEnvironment(string key, string environment, FeatureEnvironmentRequest request, WorkspaceContext caller, FeatureService features, CancellationToken ct) =>
        (await features.SetEnvironmentAsync(caller, key, environment, request, ct)).ToOkOrProblem();

    private static async Task<Results<Ok<FeatureDto>, ProblemHttpResult>> DeleteFeature(string key, WorkspaceContext caller, FeatureService features, CancellationToken ct) =>
        (await features.DeleteAsync(caller, key, ct)).ToOkOrProblem();

    private static async Task<Ok<IReadOnlyList<SavedGroupDto>>> ListSavedGroups(WorkspaceContext caller, SavedGroupService groups, CancellationToken ct) =>
        TypedResults.Ok(await groups.ListAsync(caller.WorkspaceId, ct));

    private static async Task<Results<Ok<SavedGroupDto>, ProblemHttpResult>> GetSavedGroup(Guid id, WorkspaceContext caller, SavedGroupService groups, CancellationToken ct) =>
        await groups.GetAsync(caller.WorkspaceId, id, ct) is { } group ? TypedResults.Ok(group) : Problems.NotFoundProblem("Saved group not found.");

    private static async Task<Results<Created<SavedGroupDto>, ProblemHttpResult>> CreateSavedGroup(SavedGroupRequest request, WorkspaceContext caller, SavedGroupService groups, CancellationToken ct)
    {
        var result = await groups.CreateAsync(caller, request, ct);
        return result.Succeeded ? TypedResults.Created($"/api/v1/saved-groups/{result.Value!.Id}", result.Value) : result.Failure!.ToProblem();
    }

    private static async Task<Results<Ok<SavedGroupDto>, ProblemHttpResult>> UpdateSavedGroup(Guid id, SavedGroupRequest request, WorkspaceContext caller, SavedGroupService groups, CancellationToken ct) =>
        (await groups.UpdateAsync(caller, id, request, ct)).ToOkOrProblem();

    private static async Task<Results<Ok<SavedGroupDto>, ProblemHttpResult>> DeleteSavedGroup(Guid id, WorkspaceContext caller, SavedGroupService groups, CancellationToken ct) =>
        (await groups.DeleteAsync(caller, id, ct)).ToOkOrProblem();

}
