using System.Buffers.Binary;

namespace Upswing.Common;

/// <summary>
/// Version-7 GUIDs that increase strictly within this process (RFC 9562, method 1: the 12-bit rand_a
/// field is a counter within a millisecond). Rows written in the same millisecond, such as a change and
/// its audit entry, therefore sort in the order they were made, in PostgreSQL (uuid) and SQLite (text) alike.
/// </summary>
public static class Ids
{
    private static readonly Lock Gate = new();
    private static long lastMilliseconds;
    private static int counter;

    public static Guid New(TimeProvider time)
    {
        long milliseconds;
        int sequence;
        lock (Gate)
        {
            milliseconds = Math.Max(time.GetUtcNow().ToUnixTimeMilliseconds(), lastMilliseconds);
            if (milliseconds == lastMilliseconds)
            {
                if (++counter > 0xFFF)
                {
                    // 4096 ids in one millisecond: borrow the next millisecond rather than repeat.
                    milliseconds++;
                    counter = 0;
                }
            }
            else
            {
                counter = 0;
            }

            lastMilliseconds = milliseconds;
            sequence = counter;
        }

        // Guid.NewGuid's random bits are far cheaper than a CSPRNG call per id, and ids are not secrets.
        Span<byte> bytes = stackalloc byte[16];
        Guid.NewGuid().TryWriteBytes(bytes);
        BinaryPrimitives.WriteInt64BigEndian(bytes, milliseconds << 16);
        bytes[6] = (byte)(0x70 | (sequence >> 8));
        bytes[7] = (byte)sequence;
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true);
    }
}
