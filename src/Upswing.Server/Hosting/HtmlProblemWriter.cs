using System.Net;

namespace Upswing.Server.Hosting;

/// <summary>
/// Problems for people: a browser that navigates to a missing page or hits an error gets a readable page
/// with the request id and a way back, not JSON. API clients (anything that does not ask for HTML, and every
/// /api path) keep application/problem+json.
/// </summary>
internal sealed class HtmlProblemWriter : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context)
    {
        var request = context.HttpContext.Request;
        return !request.Path.StartsWithSegments("/api") && !request.Path.StartsWithSegments("/v1")
            && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
    }

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var response = context.HttpContext.Response;
        response.ContentType = "text/html; charset=utf-8";
        var title = WebUtility.HtmlEncode(problem.Title ?? "Something went wrong");
        var detail = WebUtility.HtmlEncode(problem.Detail ?? "");
        var requestId = WebUtility.HtmlEncode(context.HttpContext.TraceIdentifier);
        return new ValueTask(response.WriteAsync($"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{problem.Status} {title} · Upswing</title><link rel="stylesheet" href="/css/app.css"></head>
            <body><header class="topbar" role="banner"><a class="brand" href="/">▲ Upswing</a></header>
            <main id="main"><section class="panel narrow" aria-labelledby="problem-title">
            <h1 id="problem-title">{title}</h1><p>{detail}</p>
            <p class="muted small">Error {problem.Status} · request id <code>{requestId}</code></p>
            <p><a href="/">Back to your workspaces</a></p></section></main></body></html>
            """));
    }
}

/// <summary>
/// The last writer asked: problem+json whatever the Accept header says. The framework's own JSON writer
/// declines when a client accepts only, say, text/html, and an API error must still be a problem document.
/// </summary>
internal sealed class FallbackJsonProblemWriter : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context) =>
        new(context.HttpContext.Response.WriteAsJsonAsync(context.ProblemDetails, context.ProblemDetails.GetType(), options: null, contentType: "application/problem+json"));
}
