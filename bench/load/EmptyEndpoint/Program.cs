namespace Upswing.Bench.EmptyEndpoint;

/// <summary>
/// Minimal Kestrel app used as the physical-limit reference for HTTP load tests:
/// <c>GET /</c> returns an empty body and <c>GET /json</c> returns <c>{"ok":true}</c>. <c>POST /</c> answers like
/// <c>GET /</c> (Kestrel drains the body), so a wrk script's own requests can be measured against the limit too.
/// Listens on the URL passed with <c>--urls</c> (default <c>http://127.0.0.1:5090</c>).
/// </summary>
internal static class Program
{
    private const string DefaultUrl = "http://127.0.0.1:5090";

    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Logging.ClearProviders();

        var app = builder.Build();

        // --urls on the command line (or ASPNETCORE_URLS) wins; otherwise use the loopback default.
        if (string.IsNullOrEmpty(app.Configuration["urls"]))
        {
            app.Urls.Add(DefaultUrl);
        }

        app.MapGet("/", () => "");
        app.MapPost("/", () => "");
        app.MapGet("/json", () => TypedResults.Ok(new { ok = true }));

        await app.RunAsync().ConfigureAwait(false);
    }
}
