using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Upswing.Common.Http;

/// <summary>
/// JSON bodies for hot endpoints: the whole body is buffered (Kestrel's body size limit bounds it) and deserialised
/// synchronously, then the answer is written synchronously, with its length, into the response pipe. On small bodies that is a
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

    // One writer and one buffer per thread: writing is synchronous, so no other request can be using them.
    [ThreadStatic]
    private static Utf8JsonWriter? threadWriter;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? threadBuffer;

    /// <summary>A buffer that grew past this for one large answer is not kept for the next.</summary>
    private const int MaxKeptBuffer = 64 * 1024;

    /// <summary>
    /// Writes the response (200, application/json) with <paramref name="write"/>. The JSON goes to a buffer first, so the
    /// answer carries its Content-Length (no chunked framing) and Kestrel sends headers and body together when the
    /// request ends; a writer that throws has written nothing.
    /// </summary>
    public static Task WriteAsync<T>(HttpResponse response, T value, Action<T, Utf8JsonWriter> write)
    {
        var buffer = threadBuffer ??= new ArrayBufferWriter<byte>(1024);
        var writer = threadWriter ??= new Utf8JsonWriter(buffer);
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        try
        {
            write(value, writer);
            writer.Flush();
            response.ContentType = "application/json; charset=utf-8";
            response.ContentLength = buffer.WrittenCount;
            response.BodyWriter.Write(buffer.WrittenSpan);
        }
        finally
        {
            if (buffer.Capacity > MaxKeptBuffer)
            {
                threadBuffer = null;
                threadWriter = null;
            }
        }

        return Task.CompletedTask;
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
