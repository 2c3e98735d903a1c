using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Upswing.Common;

namespace Upswing.Access;

/// <summary>Users, memberships, API keys, authentication schemes, policies and rate limits.</summary>
public static class AccessModule
{
    public const string SignInRateLimit = "sign-in";
    public const string KeysRateLimit = "keys";
    public const string CookieScheme = CookieAuthenticationDefaults.AuthenticationScheme;

    public static IHostApplicationBuilder AddAccess(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<ApiKeyCache>();
        services.AddSingleton<KeyUseRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<KeyUseRecorder>());
        // The key ring (in the database) protects cookies on the web host and payload keys everywhere, the CLI included.
        services.AddUpswingDataProtection();
        services.AddScoped(sp => new ApiKeyService(sp.GetRequiredService<Data.UpswingDb>(), sp.GetRequiredService<Audit.AuditLog>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ApiKeyCache>(), sp.GetRequiredService<KeyUseRecorder>(), sp.GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>()));
        services.AddScoped(sp => new UserService(sp.GetRequiredService<Data.UpswingDb>(), sp.GetRequiredService<IPasswordHasher<User>>(), sp.GetRequiredService<TimeProvider>()));
        services.AddScoped<MemberService>();
        services.AddSingleton<IPasswordHasher<User>, PasswordHasher<User>>();
        return builder;
    }

    /// <summary>HTTP-only registrations: authentication, authorization and rate limiting.</summary>
    public static IServiceCollection AddAccessHttp(this IServiceCollection services)
    {
        services.AddAuthentication(CookieScheme)
            .AddCookie(CookieScheme, options =>
            {
                options.Cookie.Name = "upswing_session";
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.LoginPath = "/signin";
                options.LogoutPath = "/signout";
                options.AccessDeniedPath = "/";
                options.ExpireTimeSpan = TimeSpan.FromDays(7);
                options.SlidingExpiration = true;
            })
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.DashboardTokenScheme, null);

        services.AddAuthorizationBuilder()
            .AddPolicy(AccessPolicies.SecretKey, policy => policy
                .AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName)
                .RequireClaim(UpswingClaims.KeyKind, nameof(ApiKeyKind.Secret)))
            .AddPolicy(AccessPolicies.AnyKey, policy => policy
                .AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName)
                .RequireClaim(UpswingClaims.KeyKind, nameof(ApiKeyKind.Secret), nameof(ApiKeyKind.Client)))
            .AddPolicy(AccessPolicies.MetricsSummary, policy => policy
                .AddAuthenticationSchemes(ApiKeyAuthenticationHandler.DashboardTokenScheme)
                .RequireClaim(UpswingClaims.KeyKind, nameof(ApiKeyKind.Secret), nameof(ApiKeyKind.Client), nameof(ApiKeyKind.Read)))
            .AddPolicy(AccessPolicies.MetricsRead, policy => policy
                .AddAuthenticationSchemes(ApiKeyAuthenticationHandler.DashboardTokenScheme)
                .RequireClaim(UpswingClaims.KeyKind, nameof(ApiKeyKind.Secret), nameof(ApiKeyKind.Read)))
            .AddPolicy(AccessPolicies.Dashboard, policy => policy
                .AddAuthenticationSchemes(CookieScheme)
                .RequireClaim(UpswingClaims.UserId));

        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            // Sign-in is throttled per client address to slow password guessing.
            options.AddPolicy(SignInRateLimit, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = 10, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            // Key management is throttled per presented credential (or address) to slow key enumeration.
            options.AddPolicy(KeysRateLimit, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Request.Headers.Authorization.ToString() is { Length: > 0 } auth ? Secrets.Sha256Hex(auth) : context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = 60, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            options.OnRejected = async (context, ct) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
                context.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                var problems = context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>();
                await problems.WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context.HttpContext,
                    ProblemDetails = new ProblemDetails { Status = 429, Detail = $"Too many requests; retry after {Math.Ceiling(retryAfter.TotalSeconds)} seconds." },
                });
            };
        });
        return services;
    }

    public static IEndpointRouteBuilder MapAccess(this IEndpointRouteBuilder app)
    {
        app.MapKeyEndpoints();
        app.MapMemberEndpoints();
        return app;
    }
}
