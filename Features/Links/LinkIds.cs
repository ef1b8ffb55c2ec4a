using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Shortlink.Features.Links;

/// <summary>
/// UUIDv7 link ids (RFC 9562) that also increase within one millisecond on this instance: the 12
/// bits after the timestamp count up (method 1 of section 6.2), so "newest first" listings keep the
/// order in which links were created here. Across instances order follows the millisecond clock.
/// </summary>
internal static class LinkIds
{
    private const int CounterBits = 12;
    private const int MaxCounter = (1 << CounterBits) - 1;
    private const long ToleratedClockStepBackMilliseconds = 1000;
    private static readonly Lock Gate = new();
    private static long lastMilliseconds = -1;
    private static int counter;

    public static Guid Next(DateTimeOffset now)
    {
        long milliseconds;
        int sequence;
        lock (Gate)
        {
            milliseconds = now.ToUnixTimeMilliseconds();
            // A clock that stepped back a little still yields increasing ids; one that jumped back
            // further is followed, since holding ids in the future for long would be worse.
            if (milliseconds < lastMilliseconds && lastMilliseconds - milliseconds < ToleratedClockStepBackMilliseconds)
            {
                milliseconds = lastMilliseconds;
            }
            if (milliseconds == lastMilliseconds && counter < MaxCounter)
            {
                counter++;
            }
            else
            {
                milliseconds = milliseconds == lastMilliseconds ? milliseconds + 1 : milliseconds;
                // Start low in the range so that a burst within one millisecond has room to count.
                counter = RandomNumberGenerator.GetInt32(MaxCounter / 2);
            }
            lastMilliseconds = milliseconds;
            sequence = counter;
        }
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes[8..]);
        BinaryPrimitives.WriteInt64BigEndian(bytes, milliseconds << 16);
        BinaryPrimitives.WriteUInt16BigEndian(bytes[6..], (ushort)(0x7000 | sequence));
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
        return new Guid(bytes, bigEndian: true);
    }
}
