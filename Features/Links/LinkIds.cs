using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Shortlink.Features.Links;

/// <summary>
/// UUIDv7 link and visit ids (RFC 9562) that also increase within one millisecond on this instance: the 12 bits
/// after the timestamp count up (method 1 of section 6.2), so "newest first" listings keep the order in which links
/// were created here. Across instances order follows the millisecond clock. Every redirect that records a visit makes
/// one, so making it takes no lock and no system call: the timestamp and counter advance together in one
/// compare-and-swap, and the random bits come from the operating system's generator in blocks kept per thread.
/// </summary>
internal static class LinkIds
{
    private const int CounterBits = 12;
    private const int MaxCounter = (1 << CounterBits) - 1;
    private const long ToleratedClockStepBackMilliseconds = 1000;

    /// <summary>The last id's millisecond and counter, as (milliseconds &lt;&lt; CounterBits) | counter.</summary>
    private static long last = -1;

    public static Guid Next(DateTimeOffset now)
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomBlocks.Fill(bytes[6..]);
        var clock = now.ToUnixTimeMilliseconds();
        long current, next;
        do
        {
            current = Volatile.Read(ref last);
            var lastMilliseconds = current >> CounterBits;
            var milliseconds = clock;
            // A clock that stepped back a little still yields increasing ids; one that jumped back
            // further is followed, since holding ids in the future for long would be worse.
            if (milliseconds < lastMilliseconds && lastMilliseconds - milliseconds < ToleratedClockStepBackMilliseconds)
            {
                milliseconds = lastMilliseconds;
            }
            if (milliseconds == lastMilliseconds && (current & MaxCounter) < MaxCounter)
            {
                next = current + 1;
            }
            else
            {
                milliseconds = milliseconds == lastMilliseconds ? milliseconds + 1 : milliseconds;
                // Start low in the range so that a burst within one millisecond has room to count.
                next = (milliseconds << CounterBits) + BinaryPrimitives.ReadUInt16BigEndian(bytes[6..]) % (MaxCounter / 2);
            }
        }
        while (Interlocked.CompareExchange(ref last, next, current) != current);
        BinaryPrimitives.WriteInt64BigEndian(bytes, (next >> CounterBits) << 16);
        BinaryPrimitives.WriteUInt16BigEndian(bytes[6..], (ushort)(0x7000 | (next & MaxCounter)));
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>
    /// Cryptographically random bytes, taken from the generator a block at a time per thread: each call to it costs a
    /// system call (OpenSSL checks the process id for a fork), more than the rest of an id.
    /// </summary>
    private static class RandomBlocks
    {
        private const int BlockSize = 4096;

        [ThreadStatic]
        private static byte[]? block;

        [ThreadStatic]
        private static int used;

        public static void Fill(Span<byte> destination)
        {
            if (block is null || used + destination.Length > BlockSize)
            {
                block ??= new byte[BlockSize];
                RandomNumberGenerator.Fill(block);
                used = 0;
            }
            block.AsSpan(used, destination.Length).CopyTo(destination);
            used += destination.Length;
        }
    }
}
