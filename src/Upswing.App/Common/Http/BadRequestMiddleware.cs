using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;

namespace Upswing.Common.Http;

/// <summary>
/// Turns the framework's BadHttpRequestException (malformed JSON, wrong types, body too large,
/// missing content type) into a ProblemDetails answer with the reason, logged at debug level:
/// a client's mistake is not a server error and must not look like one in the logs.
/// </summary>
internal sealed partial class BadRequestMiddleware(RequestDelegate next, IProblemDetailsService problems, ILogger<BadRequestMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            LogRejected(logger, ex.StatusCode);
            context.Response.Clear();
            context.Response.StatusCode = ex.StatusCode;
            var detail = ex.InnerException is JsonException json
                ? $"The body is not valid JSON for this endpoint: {FirstSentence(json.Message)}"
                : ex.Message;
            await problems.WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = new ProblemDetails { Status = ex.StatusCode, Detail = detail },
            });
        }
    }

    // System.Text.Json messages end with path and position details that are useful; keep the whole first line.
    private static string FirstSentence(string message) => message.Split('\n')[0].Trim();

    [LoggerMessage(Level = LogLevel.Debug, Message = "Rejected a malformed request with {StatusCode}")]
    private static partial void LogRejected(ILogger logger, int statusCode);
}
