using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Upswing.Server.Hosting;

/// <summary>The OpenAPI document at /openapi/v1.json: titled, with the API-key scheme the management API uses.</summary>
internal static class OpenApiSetup
{
    public static IServiceCollection AddUpswingOpenApi(this IServiceCollection services) =>
        services.AddOpenApi("v1", options => options.AddDocumentTransformer(Describe));

    private static Task Describe(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken ct)
    {
        document.Info = new OpenApiInfo
        {
            Title = "Upswing API",
            Version = "v1",
            Description = "Management API (secret keys, `Authorization: Bearer us_sk_…`). Errors are application/problem+json with a stable `type`.",
        };
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
        {
            ["apiKey"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "us_sk_… secret key",
                Description = "A secret key of the workspace, created in the dashboard or with `upswing keys create`.",
            },
        };
        document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("apiKey", document)] = [] }];
        return Task.CompletedTask;
    }
}
