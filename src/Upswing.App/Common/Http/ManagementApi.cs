using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Upswing.Access;

namespace Upswing.Common.Http;

/// <summary>Route groups for the management API: under /api/v1, secret key required, tagged for OpenAPI.</summary>
public static class ManagementApi
{
    public static RouteGroupBuilder MapManagementGroup(this IEndpointRouteBuilder app, string path, string tag) =>
        (RouteGroupBuilder)app.MapGroup("/api/v1" + path)
            .RequireAuthorization(AccessPolicies.SecretKey)
            .WithTags(tag)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
}
