using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Upswing.Common;
using Upswing.Common.Http;

namespace Upswing.Audit;

/// <summary>The append-only record of management writes.</summary>
public static class AuditModule
{
    public static IHostApplicationBuilder AddAudit(this IHostApplicationBuilder builder)
    {
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddScoped<AuditLog>();
        return builder;
    }

    public static IEndpointRouteBuilder MapAudit(this IEndpointRouteBuilder app)
    {
        var group = app.MapManagementGroup("/audit", "Audit log");
        group.MapGet("/", ListAudit).WithName("ListAudit").WithSummary("Newest first; page with ?before=<at of the last entry>.");
        group.MapGet("/{id:guid}", GetAuditEntry).WithName("GetAuditEntry");
        return app;
    }

    private static async Task<Results<Ok<IReadOnlyList<AuditEntryDto>>, ProblemHttpResult>> ListAudit(
        WorkspaceContext caller, AuditLog audit, CancellationToken ct,
        string? action = null, string? resourceType = null, DateTimeOffset? before = null, int limit = 50)
    {
        if (limit is < 1 or > 500)
        {
            return Problems.Invalid("limit", "The limit must be between 1 and 500.");
        }

        return TypedResults.Ok(await audit.ListAsync(caller.WorkspaceId, new AuditQuery(action, resourceType, before, limit), ct));
    }

    private static async Task<Results<Ok<AuditEntryDto>, ProblemHttpResult>> GetAuditEntry(Guid id, WorkspaceContext caller, AuditLog audit, CancellationToken ct) =>
        await audit.GetAsync(caller.WorkspaceId, id, ct) is { } entry ? TypedResults.Ok(entry) : Problems.NotFoundProblem("Audit entry not found.");
}
