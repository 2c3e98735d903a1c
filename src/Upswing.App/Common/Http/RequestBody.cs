using System.Buffers;
using System.IO.Compression;
using Microsoft.AspNetCore.Http;

namespace Upswing.Common.Http;

/// <summary>
/// A whole request body in one pooled buffer, gunzipped when the sender compressed it, never longer than a limit
/// (413 beyond, measured after decompression, so a small gzip bomb cannot grow past it). Dispose to return the buffer.
/// </summary>
public sealed class RequestBody : IDisposable
{
    private byte[] buffer;

    private RequestBody(byte[] buffer, int length)
    {
        this.buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlyMemory<byte> Memory => buffer.AsMemory(0, Length);

    /// <summary>
    /// Reads the body. Compression is recognised by <c>Content-Encoding: gzip</c> or by gzip's magic bytes, because
    /// some beacons cannot set headers.
    /// </summary>
    public static async Task<RequestBody> ReadAsync(HttpRequest request, int maxBytes)
    {
        var ct = request.HttpContext.RequestAborted;
        byte[]? raw = ArrayPool<byte>.Shared.Rent(Math.Min(maxBytes + 1, 16 * 1024));
        var length = 0;
        try
        {
            // The sent bytes, compressed or not, are held to the limit: a gzip body over it inflates to more.
            while (true)
            {
                if (length == raw.Length)
                {
                    if (length > maxBytes)
                    {
                        throw TooLarge(maxBytes);
                    }

                    raw = Grow(raw, length, Math.Min(raw.Length * 2, maxBytes + 1));
                }

                var read = await request.Body.ReadAsync(raw.AsMemory(length), ct);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            if (length > maxBytes)
            {
                throw TooLarge(maxBytes);
            }

            if (IsGzip(request, raw, length))
            {
                return Inflate(raw, length, maxBytes);
            }

            var body = new RequestBody(raw, length);
            raw = null;
            return body;
        }
        finally
        {
            if (raw is not null)
            {
                ArrayPool<byte>.Shared.Return(raw);
            }
        }
    }

    public void Dispose()
    {
        var rented = Interlocked.Exchange(ref buffer, []);
        if (rented.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool IsGzip(HttpRequest request, byte[] raw, int length) =>
        request.Headers.ContentEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase)
        || (length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b);

    private static RequestBody Inflate(byte[] raw, int length, int maxBytes)
    {
        var inflated = ArrayPool<byte>.Shared.Rent(Math.Min(maxBytes + 1, Math.Max(4096, length * 4)));
        var total = 0;
        try
        {
            using var gzip = new GZipStream(new MemoryStream(raw, 0, length, writable: false), CompressionMode.Decompress);
            while (true)
            {
                if (total == inflated.Length)
                {
                    if (total > maxBytes)
                    {
                        throw TooLarge(maxBytes);
                    }

                    inflated = Grow(inflated, total, Math.Min(inflated.Length * 2, maxBytes + 1));
                }

                var read = gzip.Read(inflated, total, inflated.Length - total);
                if (read == 0)
                {
                    break;
                }

                total += read;
            }
        }
        catch (InvalidDataException ex)
        {
            ArrayPool<byte>.Shared.Return(inflated);
            throw new BadHttpRequestException("The body is marked as gzip but is not valid gzip data.", StatusCodes.Status400BadRequest, ex);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(inflated);
            throw;
        }

        if (total > maxBytes)
        {
            ArrayPool<byte>.Shared.Return(inflated);
            throw TooLarge(maxBytes);
        }

        return new RequestBody(inflated, total);
    }

    private static byte[] Grow(byte[] rented, int used, int size)
    {
        var larger = ArrayPool<byte>.Shared.Rent(size);
        rented.AsSpan(0, used).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(rented);
        return larger;
    }

    private static BadHttpRequestException TooLarge(int maxBytes) =>
        new($"The request body is larger than {maxBytes / 1024} KB.", StatusCodes.Status413PayloadTooLarge);
}
