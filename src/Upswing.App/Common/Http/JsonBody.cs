using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Upswing.Common.Http;

/// <summary>
/// JSON bodies for hot endpoints: the whole body is buffered (Kestrel's body size limit bounds it) and deserialised
/// synchronously, then the answer is written synchronously into the response pipe. On small bodies that is a
/// fraction of what the framework's streaming reader and writer cost. Failures are the same BadHttpRequestExceptions the
/// framework throws, so <see cref="BadRequestMiddleware"/> answers them with the same ProblemDetails.
/// </summary>
public static class JsonBody
{
    public static async ValueTask<T> ReadAsync<T>(HttpRequest request, JsonSerializerOptions options)
        where T : class
    {
        if (!request.HasJsonContentType())
        {
            throw new BadHttpRequestException("Expected a supported JSON media type but got \"" + request.ContentType + "\".", StatusCodes.Status415UnsupportedMediaType);
        }

        var reader = request.BodyReader;
        while (true)
        {
            var read = await reader.ReadAsync(request.HttpContext.RequestAborted);
            if (!read.IsCompleted)
            {
                // Nothing consumed, everything examined: the next read returns the whole body so far plus what arrived.
                reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                continue;
            }

            try
            {
                return Deserialize<T>(read.Buffer, options);
            }
            finally
            {
                reader.AdvanceTo(read.Buffer.End);
            }
        }
    }

    /// <summary>Writes the response (200, application/json) with <paramref name="write"/>, straight into the response pipe.</summary>
    public static Task WriteAsync<T>(HttpResponse response, T value, Action<T, Utf8JsonWriter> write)
    {
        response.ContentType = "application/json; charset=utf-8";
        using (var writer = new Utf8JsonWriter(response.BodyWriter))
        {
            write(value, writer);
        }

        return response.BodyWriter.FlushAsync(response.HttpContext.RequestAborted).AsTask();
    }

    private static T Deserialize<T>(ReadOnlySequence<byte> body, JsonSerializerOptions options)
        where T : class
    {
        if (body.IsEmpty)
        {
            throw new BadHttpRequestException("The request needs a JSON body.", StatusCodes.Status400BadRequest);
        }

        var json = new Utf8JsonReader(body);
        T? value;
        try
        {
            value = JsonSerializer.Deserialize<T>(ref json, options);
        }
        catch (JsonException ex)
        {
            throw new BadHttpRequestException("Failed to read the request body as JSON.", StatusCodes.Status400BadRequest, ex);
        }

        return value ?? throw new BadHttpRequestException("The request body must be a JSON object, not null.", StatusCodes.Status400BadRequest);
    }
}
