using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Upswing.Access;
using Upswing.Common;
using Upswing.Server.Components.Analytics;

namespace Upswing.Server.Components;

/// <summary>The dashboard: Razor pages plus the few form posts that are not page handlers (sign-in, sign-out, switching).</summary>
internal static class DashboardEndpoints
{
    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        app.MapRazorComponents<App>();
        var account = app.MapGroup("/account").ExcludeFromDescription();
        account.MapPost("/signin", SignIn).RequireRateLimiting(AccessModule.SignInRateLimit);
        account.MapPost("/signout", (Delegate)SignOut).RequireAuthorization(AccessPolicies.Dashboard);
        app.MapAnalyticsExports();
        app.MapGet("/switch", Switch).RequireAuthorization(AccessPolicies.Dashboard).ExcludeFromDescription();
        return app;
    }

    private static async Task<IResult> SignIn([FromForm] string? email, [FromForm] string? password, [FromForm] string? returnUrl, HttpContext http, UserService users, CancellationToken ct)
    {
        var user = await users.SignInAsync(email, password, ct);
        if (user is null)
        {
            return TypedResults.Redirect($"/signin?error=invalid&returnUrl={Uri.EscapeDataString(LocalUrl(returnUrl))}");
        }

        var identity = new ClaimsIdentity(
            [
                new Claim(UpswingClaims.UserId, user.Id.ToString()),
                new Claim(UpswingClaims.Email, user.Email),
                new Claim(ClaimTypes.Name, user.Email),
                new Claim(UpswingClaims.IsAdmin, user.IsAdmin ? "true" : "false"),
            ],
            AccessModule.CookieScheme);
        await http.SignInAsync(AccessModule.CookieScheme, new ClaimsPrincipal(identity));
        return TypedResults.Redirect(user.MustChangePassword ? "/account/password" : LocalUrl(returnUrl));
    }

    private static async Task<IResult> SignOut(HttpContext http)
    {
        await http.SignOutAsync(AccessModule.CookieScheme);
        return TypedResults.Redirect("/signin");
    }

    /// <summary>The workspace and environment switchers are GET forms, so they work without JavaScript.</summary>
    private static IResult Switch(string? workspace, string? env, string? page)
    {
        var slug = Slugs.IsValid(workspace) ? workspace : null;
        if (slug is null)
        {
            return TypedResults.Redirect("/");
        }

        var target = WorkspaceSections.IsPage(page) ? $"/w/{slug}/{page}" : $"/w/{slug}";
        return TypedResults.Redirect(Slugs.IsValid(env) ? $"{target}?env={env}" : target);
    }

    // Only same-site paths: an open redirect after sign-in would be a phishing tool.
    internal static string LocalUrl(string? url) =>
        !string.IsNullOrEmpty(url) && url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal) ? url : "/";
}
