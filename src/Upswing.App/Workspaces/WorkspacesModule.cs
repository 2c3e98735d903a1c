using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Upswing.Access;
using Upswing.Common;
using Upswing.Common.Http;
using Upswing.Data;

namespace Upswing.Workspaces;

/// <summary>Body of POST and PATCH /api/v1/workspaces.</summary>
public sealed record WorkspaceRequest(string? Name, string? Slug);

/// <summary>A workspace created through the API, with a secret key for it (shown this once).</summary>
public sealed record CreatedWorkspace(WorkspaceDto Workspace, string SecretKey);

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
        group.MapPost("/", CreateWorkspace).WithName("CreateWorkspace")
            .WithSummary("Creates a sibling workspace with the same owners; the answer holds a secret key for it, shown once.");
        group.MapPatch("/{idOrSlug}", UpdateWorkspace).WithName("UpdateWorkspace");
        return app;
    }

    private static async Task<Ok<WorkspaceDto[]>> ListWorkspaces(WorkspaceContext caller, WorkspaceService workspaces, CancellationToken ct) =>
        TypedResults.Ok(await workspaces.GetAsync(caller.WorkspaceId, ct) is { } own ? new[] { own } : []);

    private static async Task<Results<Ok<WorkspaceDto>, ProblemHttpResult>> GetWorkspace(string idOrSlug, WorkspaceContext caller, WorkspaceService workspaces, CancellationToken ct) =>
        await FindOwnAsync(idOrSlug, caller, workspaces, ct) is { } workspace ? TypedResults.Ok(workspace) : Problems.NotFoundProblem("Workspace not found.");

    /// <summary>
    /// A key belongs to one workspace, so the new workspace is its sibling: the caller's owners own it, and
    /// the caller gets a secret key for it to carry on. All of it commits together or not at all.
    /// </summary>
    private static async Task<Results<Created<CreatedWorkspace>, ProblemHttpResult>> CreateWorkspace(
        WorkspaceRequest request, WorkspaceContext caller, WorkspaceService workspaces, MemberService members, ApiKeyService keys, UpswingDb db, CancellationToken ct)
    {
        if (!caller.Role.AtLeast(WorkspaceRole.Admin))
        {
            return Problems.ForbiddenProblem("Only owners and admins can create workspaces.");
        }

        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var created = await workspaces.CreateAsync(request.Name, request.Slug, caller.Actor, owner: null, ct);
        if (!created.Succeeded)
        {
            return created.Failure!.ToProblem();
        }

        var workspace = created.Value!;
        var inNewWorkspace = caller with { WorkspaceId = workspace.Id, EnvironmentId = null };
        await members.CopyOwnersAsync(caller.WorkspaceId, inNewWorkspace, ct);
        var key = await keys.CreateAsync(inNewWorkspace, ApiKeyKind.Secret, null, $"Created by {caller.Actor.Name}", ct);
        if (!key.Succeeded)
        {
            return key.Failure!.ToProblem();
        }

        await transaction.CommitAsync(ct);
        return TypedResults.Created($"/api/v1/workspaces/{workspace.Id}", new CreatedWorkspace(workspace, key.Value!.Key));
    }

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
