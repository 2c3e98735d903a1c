using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Upswing.Common;

namespace Upswing.Access;

/// <summary>
/// Authenticates API keys sent as <c>Authorization: Bearer &lt;key&gt;</c>, or as the user name of HTTP
/// Basic credentials (how Segment-style write keys travel). Challenges and refusals are ProblemDetails.
/// Registered twice: as <see cref="SchemeName"/> (the Authorization header only) and as <see cref="DashboardTokenScheme"/>,
/// which the metrics API uses and which also reads the <c>x-dashboard-token</c> header.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";

    /// <summary>The metrics API's scheme: the key in <c>x-dashboard-token</c> (AB Calicritters' contract) or in Authorization.</summary>
    public const string DashboardTokenScheme = "DashboardToken";

    /// <summary>The header a dashboard token (a read key, or any key the endpoint accepts) may travel in.</summary>
    public const string DashboardTokenHeader = "x-dashboard-token";

    private bool IsDashboardScheme => Scheme.Name == DashboardTokenScheme;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? presented, error;
        var token = IsDashboardScheme ? Request.Headers[DashboardTokenHeader].ToString() : "";
        if (token.Length > 0)
        {
            (presented, error) = (token.Trim(), null);
        }
        else
        {
            var header = Request.Headers.Authorization.ToString();
            if (header.Length == 0)
            {
                return AuthenticateResult.NoResult();
            }

            (presented, error) = KeyFromAuthorization(header);
        }

        if (presented is null)
        {
            return AuthenticateResult.Fail(error!);
        }

        var identity = await KeyLookup.FindAsync(Context, presented);
        if (identity is null)
        {
            return AuthenticateResult.Fail("The API key is not valid or has been revoked.");
        }

        List<Claim> claims =
        [
            new(UpswingClaims.KeyId, identity.KeyId.ToString()),
            new(UpswingClaims.WorkspaceId, identity.WorkspaceId.ToString()),
            new(UpswingClaims.KeyKind, identity.Kind.ToString()),
            new(UpswingClaims.KeyPrefix, identity.Prefix),
        ];
        if (identity.EnvironmentId is { } environmentId)
        {
            claims.Add(new Claim(UpswingClaims.EnvironmentId, environmentId.ToString()));
        }

        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    private static readonly System.Buffers.SearchValues<char> NotInAToken = System.Buffers.SearchValues.Create(" \t,\"\\=");

    /// <summary>The key in an Authorization header (Bearer, or Basic with the key as user name), or why there is none.</summary>
    public static (string? Key, string? Error) KeyFromAuthorization(string header)
    {
        // The usual header, "Bearer <key>", without the general parser's allocations (a hot path for SDK calls).
        var span = header.AsSpan();
        if (span.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var key = span[7..].Trim(' ');
            if (key.Length > 0 && !key.ContainsAny(NotInAToken))
            {
                return (key.ToString(), null);
            }
        }

        if (!AuthenticationHeaderValue.TryParse(header, out var value) || string.IsNullOrWhiteSpace(value.Parameter))
        {
            return (null, "The Authorization header is malformed; send 'Bearer <key>'.");
        }

        if (value.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return (value.Parameter.Trim(), null);
        }

        if (value.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return KeyFromBasic(value.Parameter) is { } key
                ? (key, null)
                : (null, "The Basic credentials are malformed; send the key as the user name with an empty password.");
        }

        return (null, $"The '{Truncate(value.Scheme)}' authorization scheme is not supported; send 'Bearer <key>'.");
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer realm=\"upswing\"";
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = new ProblemDetails
            {
                Status = 401,
                Detail = result.Failure?.Message ?? (IsDashboardScheme
                    ? $"A key is required: send '{DashboardTokenHeader}: <key>' or 'Authorization: Bearer <key>'."
                    : "An API key is required: send 'Authorization: Bearer <key>'."),
            },
        });
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = new ProblemDetails
            {
                Status = 403,
                Detail = IsDashboardScheme
                    ? "This endpoint needs a read key (us_rk_…) or a secret key; client keys may only read /v1/metrics/summary."
                    : Context.User.FindFirst(UpswingClaims.KeyKind)?.Value == nameof(ApiKeyKind.Read)
                        ? "Read keys may only call the /v1/metrics endpoints."
                        : "This endpoint needs a secret key. Client keys may only call the SDK and event endpoints.",
            },
        });
    }

    private static string? KeyFromBasic(string parameter)
    {
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(parameter));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            var user = colon < 0 ? decoded : decoded[..colon];
            return user.Length > 0 ? user : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string Truncate(string text) => text.Length <= 20 ? text : text[..20];
}

/// <summary>The authorization policies endpoints choose from.</summary>
public static class AccessPolicies
{
    /// <summary>Management API: a secret key of the workspace.</summary>
    public const string SecretKey = "secret-key";

    /// <summary>SDK and event-write endpoints: a client or a secret key (never a read key).</summary>
    public const string AnyKey = "any-key";

    /// <summary>GET /v1/metrics/summary: any key of the workspace (secret, client or read), also as <c>x-dashboard-token</c>.</summary>
    public const string MetricsSummary = "metrics-summary";

    /// <summary>The other /v1/metrics endpoints: a read or a secret key, also as <c>x-dashboard-token</c>.</summary>
    public const string MetricsRead = "metrics-read";

    /// <summary>Dashboard pages: a signed-in user.</summary>
    public const string Dashboard = "dashboard";
}
