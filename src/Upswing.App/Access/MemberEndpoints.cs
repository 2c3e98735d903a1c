using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Upswing.Common;
using Upswing.Common.Http;

namespace Upswing.Access;

/// <summary>Body of POST /api/v1/members.</summary>
public sealed record InviteMemberRequest(string? Email, string? Role);

/// <summary>Body of PATCH /api/v1/members/{id}.</summary>
public sealed record ChangeRoleRequest(string? Role);

/// <summary>The answer to an invitation: the member and, for a new user, the link that sets their password.</summary>
public sealed record InvitationResponse(MemberDto Member, string? InviteUrl);

internal static class MemberEndpoints
{
    public static void MapMemberEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapManagementGroup("/members", "Members");
        group.MapGet("/", ListMembers).WithName("ListMembers");
        group.MapGet("/{id:guid}", GetMember).WithName("GetMember");
        group.MapPost("/", InviteMember).WithName("InviteMember").WithSummary("Adds a member; someone without an account gets an invitation link.");
        group.MapPatch("/{id:guid}", ChangeRole).WithName("ChangeMemberRole");
        group.MapDelete("/{id:guid}", RemoveMember).WithName("RemoveMember");
    }

    private static async Task<Ok<IReadOnlyList<MemberDto>>> ListMembers(WorkspaceContext caller, MemberService members, CancellationToken ct) =>
        TypedResults.Ok(await members.ListAsync(caller.WorkspaceId, ct));

    private static async Task<Results<Ok<MemberDto>, ProblemHttpResult>> GetMember(Guid id, WorkspaceContext caller, MemberService members, CancellationToken ct) =>
        await members.GetAsync(caller.WorkspaceId, id, ct) is { } member ? TypedResults.Ok(member) : Problems.NotFoundProblem("Member not found.");

    private static async Task<Results<Created<InvitationResponse>, ProblemHttpResult>> InviteMember(InviteMemberRequest request, WorkspaceContext caller, MemberService members, HttpContext http, CancellationToken ct)
    {
        if (!WorkspaceRoles.TryParse(request.Role ?? "viewer", out var role))
        {
            return Problems.Invalid("role", "The role must be owner, admin, editor or viewer.");
        }

        var result = await members.InviteAsync(caller, request.Email, role, ct);
        if (!result.Succeeded)
        {
            return result.Failure!.ToProblem();
        }

        var invited = result.Value!;
        var url = invited.InviteToken is { } token ? $"{http.Request.Scheme}://{http.Request.Host}/invite/{token}" : null;
        return TypedResults.Created($"/api/v1/members/{invited.Member.Id}", new InvitationResponse(invited.Member, url));
    }

    private static async Task<Results<Ok<MemberDto>, ProblemHttpResult>> ChangeRole(Guid id, ChangeRoleRequest request, WorkspaceContext caller, MemberService members, CancellationToken ct)
    {
        if (!WorkspaceRoles.TryParse(request.Role, out var role))
        {
            return Problems.Invalid("role", "The role must be owner, admin, editor or viewer.");
        }

        var result = await members.ChangeRoleAsync(caller, id, role, ct);
        return result.Succeeded ? TypedResults.Ok(result.Value!) : result.Failure!.ToProblem();
    }

    private static async Task<Results<Ok<MemberDto>, ProblemHttpResult>> RemoveMember(Guid id, WorkspaceContext caller, MemberService members, CancellationToken ct)
    {
        var result = await members.RemoveAsync(caller, id, ct);
        return result.Succeeded ? TypedResults.Ok(result.Value!) : result.Failure!.ToProblem();
    }
}
