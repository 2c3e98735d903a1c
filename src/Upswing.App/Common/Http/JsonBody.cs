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
    /// <summary>Reads a value from a JSON document, given <paramref name="state"/>; malformed or mistyped JSON throws <see cref="JsonException"/>.</summary>
    public delegate T? Reader<TState, T>(ref Utf8JsonReader json, TState state);

    public static ValueTask<T> ReadAsync<T>(HttpRequest request, JsonSerializerOptions options)
        where T : class =>
        ReadAsync(request, options, static (ref Utf8JsonReader json, JsonSerializerOptions o) => JsonSerializer.Deserialize<T>(ref json, o));

    /// <summary>The body read by a hand-written <paramref name="read"/>, with the same checks and problems as the serializer's.</summary>
    public static async ValueTask<T> ReadAsync<TState, T>(HttpRequest request, TState state, Reader<TState, T> read)
        where T : class
    {
        if (!IsJson(request.ContentType))
        {
            throw new BadHttpRequestException("Expected a supported JSON media type but got \"" + request.ContentType + "\".", StatusCodes.Status415UnsupportedMediaType);
        }

        var reader = request.BodyReader;
        while (true)
        {
            var chunk = await reader.ReadAsync(request.HttpContext.RequestAborted);
            if (!chunk.IsCompleted)
            {
                // Nothing consumed, everything examined: the next read returns the whole body so far plus what arrived.
                reader.AdvanceTo(chunk.Buffer.Start, chunk.Buffer.End);
                continue;
            }

            try
            {
                return Deserialize(chunk.Buffer, state, read);
            }
            finally
            {
                reader.AdvanceTo(chunk.Buffer.End);
            }
        }
    }

    /// <summary>
    /// What <c>HasJsonContentType</c> accepts (application/json or a +json subtype, any parameters, any case), without
    /// parsing the header into objects.
    /// </summary>
    internal static bool IsJson(string? contentType)
    {
        var media = contentType.AsSpan();
        if (media.IndexOf(';') is var end and >= 0)
        {
            media = media[..end];
        }

        media = media.Trim();
        return media.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (media.EndsWith("+json", StringComparison.OrdinalIgnoreCase) && media.IndexOf('/') is > 0 and var slash && slash <= media.Length - 6);
    }

    // One writer per thread, reset onto each response: writing is synchronous, so no other request can be using it.
    [ThreadStatic]
    private static Utf8JsonWriter? threadWriter;

    // Where idle writers point: never written to (Reset onto a stream would allocate a buffer each time).
    private static readonly ArrayBufferWriter<byte> Idle = new(1);

    /// <summary>Writes the response (200, application/json) with <paramref name="write"/>, straight into the response pipe.</summary>
    public static Task WriteAsync<T>(HttpResponse response, T value, Action<T, Utf8JsonWriter> write)
    {
        response.ContentType = "application/json; charset=utf-8";
        var writer = threadWriter ??= new Utf8JsonWriter(Idle);
        writer.Reset(response.BodyWriter);
        try
        {
            write(value, writer);
            writer.Flush();
        }
        finally
        {
            // Forget the response's pipe, so the cached writer holds no request's buffers.
            writer.Reset(Idle);
        }

        return response.BodyWriter.FlushAsync(response.HttpContext.RequestAborted).AsTask();
    }

    private static T Deserialize<TState, T>(ReadOnlySequence<byte> body, TState state, Reader<TState, T> read)
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
            value = read(ref json, state);
        }
        catch (JsonException ex)
        {
            throw new BadHttpRequestException("Failed to read the request body as JSON.", StatusCodes.Status400BadRequest, ex);
        }

        return value ?? throw new BadHttpRequestException("The request body must be a JSON object, not null.", StatusCodes.Status400BadRequest);
    }
}
