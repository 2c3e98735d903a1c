using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Upswing.Common;
using Upswing.Common.Http;

namespace Upswing.Workspaces;

/// <summary>Body of POST and PATCH /api/v1/workspaces.</summary>
public sealed record WorkspaceRequest(string? Name, string? Slug);

/// <summary>Workspaces and their environments.</summary>
public static class WorkspacesModule
{
    public static IHostApplicationBuilder AddWorkspaces(this IHostApplicationBuilder builder)
    {
        builder.Services.AddScoped<WorkspaceService>();
        return builder;
    }

    public static IEndpointRouteBuilder MapWorkspaces(this IEndpointRouteBuilder app)
    {
        var group = app.MapManagementGroup("/workspaces", "Workspaces");
        group.MapGet("/", ListWorkspaces).WithName("ListWorkspaces").WithSummary("The workspace the key belongs to.");
        group.MapGet("/{idOrSlug}", GetWorkspace).WithName("GetWorkspace");
        group.MapPost("/", CreateWorkspace).WithName("CreateWorkspace").WithSummary("Not open to keys: a key belongs to one workspace. Use the dashboard or `upswing workspaces create`.");
        group.MapPatch("/{idOrSlug}", UpdateWorkspace).WithName("UpdateWorkspace");
        return app;
    }

    private static async Task<Ok<WorkspaceDto[]>> ListWorkspaces(WorkspaceContext caller, WorkspaceService workspaces, CancellationToken ct) =>
        TypedResults.Ok(await workspaces.GetAsync(caller.WorkspaceId, ct) is { } own ? new[] { own } : []);

    private static async Task<Results<Ok<WorkspaceDto>, ProblemHttpResult>> GetWorkspace(string idOrSlug, WorkspaceContext caller, WorkspaceService workspaces, CancellationToken ct) =>
        await FindOwnAsync(idOrSlug, caller, workspaces, ct) is { } workspace ? TypedResults.Ok(workspace) : Problems.NotFoundProblem("Workspace not found.");

    private static ProblemHttpResult CreateWorkspace(WorkspaceRequest request) =>
        Problems.ForbiddenProblem("An API key belongs to one workspace and cannot create others. Create workspaces in the dashboard or with `upswing workspaces create`.");

    private static async Task<Results<Ok<WorkspaceDto>, ProblemHttpResult>> UpdateWorkspace(string idOrSlug, WorkspaceRequest request, WorkspaceContext caller, WorkspaceService workspaces, CancellationToken ct)
    {
        if (await FindOwnAsync(idOrSlug, caller, workspaces, ct) is not { } workspace)
        {
            return Problems.NotFoundProblem("Workspace not found.");
        }

        var result = await workspaces.UpdateAsync(caller, workspace.Id, request.Name, request.Slug, ct);
        return result.Succeeded ? TypedResults.Ok(result.Value!) : result.Failure!.ToProblem();
    }

    // Another workspace's id or slug answers exactly like one that does not exist.
    private static async Task<WorkspaceDto?> FindOwnAsync(string idOrSlug, WorkspaceContext caller, WorkspaceService workspaces, CancellationToken ct)
    {
        var workspace = Guid.TryParse(idOrSlug, out var id) ? await workspaces.GetAsync(id, ct) : await workspaces.GetBySlugAsync(idOrSlug, ct);
        return workspace?.Id == caller.WorkspaceId ? workspace : null;
    }
}
