using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using RabbitMQ.Client;

namespace Shortlink.Features.Analytics.Queue;

/// <summary>
/// A message on the visits queue: up to RabbitMQ:VisitsPerMessage visits, typed "shortlink.visits.v2", with the W3C
/// trace context of the first traced redirect among them in its headers.
/// </summary>
/// <remarks>
/// <para>
/// The body is binary (<see cref="VisitMessageBody"/>): each string once per message, each visit about 75 bytes. The
/// JSON of v1 took over 300 bytes a visit, and the quorum queue writes every byte to its log: at full speed that
/// was RabbitMQ's whole share of the cost of recording a redirect (bench/visits).
/// </para>
/// <para>
/// v1 messages (a JSON array of visits) are still read, so that what older instances queued before an upgrade is
/// counted; upgrade the workers before the instances that publish.
/// </para>
/// </remarks>
internal static class VisitMessages
{
    public const string Type = "shortlink.visits.v2";
    public const string JsonType = "shortlink.visits.v1";
    public const string TraceParentHeader = "traceparent";
    public const string TraceStateHeader = "tracestate";

    public static byte[] Encode(IReadOnlyList<VisitEvent> visits) => VisitMessageBody.Write(visits);

    public static BasicProperties Properties(ActivityContext trace)
    {
        var properties = new BasicProperties
        {
            Persistent = true,
            ContentType = "application/octet-stream",
            Type = Type,
        };
        if (trace != default)
        {
            properties.Headers = new Dictionary<string, object?>
            {
                [TraceParentHeader] = TraceParent(trace),
            };
            if (!string.IsNullOrEmpty(trace.TraceState))
            {
                properties.Headers[TraceStateHeader] = trace.TraceState;
            }
        }
        return properties;
    }

    public static string TraceParent(ActivityContext trace) =>
        $"00-{trace.TraceId.ToHexString()}-{trace.SpanId.ToHexString()}-{(byte)trace.TraceFlags:x2}";

    /// <summary>The trace a message carries; RabbitMQ hands header strings over as bytes.</summary>
    public static ActivityContext TraceOf(IReadOnlyBasicProperties properties)
    {
        var parent = Header(properties, TraceParentHeader);
        return parent is not null && ActivityContext.TryParse(parent, Header(properties, TraceStateHeader), isRemote: true, out var context)
            ? context
            : default;
    }

    /// <summary>The visits of a message, or null for one that is no visits message of this version (a poison message).</summary>
    public static List<VisitEvent>? TryDecode(IReadOnlyBasicProperties properties, ReadOnlySpan<byte> body)
    {
        var visits = properties.Type switch
        {
            Type => VisitMessageBody.TryRead(body),
            JsonType => TryDecodeJson(body),
            _ => null,
        };
        return visits is { Count: > 0 } && visits.TrueForAll(IsWhole) ? visits : null;
    }

    private static List<VisitEvent>? TryDecodeJson(ReadOnlySpan<byte> body)
    {
        try
        {
            return JsonSerializer.Deserialize(body, VisitMessageJson.Default.ListVisitEvent);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>How many times RabbitMQ delivered the message before (quorum queues count returns in x-delivery-count).</summary>
    public static long DeliveriesBefore(IReadOnlyBasicProperties properties) =>
        properties.Headers?.TryGetValue("x-delivery-count", out var count) == true && count is not null ? Convert.ToInt64(count) : 0;

    private static bool IsWhole(VisitEvent visit) =>
        visit.VisitId != Guid.Empty && visit.LinkId != Guid.Empty && visit.OwnerId != Guid.Empty
        && !string.IsNullOrEmpty(visit.Code) && visit.OccurredAt != default && visit.Region is not null;

    private static string? Header(IReadOnlyBasicProperties properties, string name) =>
        properties.Headers?.TryGetValue(name, out var value) == true
            ? value switch { byte[] bytes => Encoding.UTF8.GetString(bytes), string text => text, _ => null }
            : null;
}

[JsonSerializable(typeof(List<VisitEvent>))]
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, RespectRequiredConstructorParameters = true)]
internal sealed partial class VisitMessageJson : JsonSerializerContext;

/// <summary>
/// The binary body of a v2 visits message, little-endian:
/// <code>
/// version     byte (2)
/// strings     varint n, then n × (varint byte length, UTF-8 bytes): every distinct string of the message once
/// visits      varint n, then n × (visitId, linkId, ownerId: 16 bytes each; occurredAt: int64 UTC ticks;
///             visitor hash: uint64; code, region: varint string index; referrer host, user agent, country:
///             varint, 0 for none, else 1 + string index)
/// </code>
/// </summary>
internal static class VisitMessageBody
{
    private const byte Version = 2;
    private const int FixedBytesPerVisit = 3 * 16 + 8 + 8;
    private const int MaxVarintBytes = 5;

    public static byte[] Write(IReadOnlyList<VisitEvent> visits)
    {
        var strings = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<string>();
        int Index(string text)
        {
            if (!strings.TryGetValue(text, out var index))
            {
                strings.Add(text, index = order.Count);
                order.Add(text);
            }
            return index;
        }
        var references = new int[visits.Count * 5];
        for (var i = 0; i < visits.Count; i++)
        {
            var visit = visits[i];
            references[i * 5] = Index(visit.Code);
            references[i * 5 + 1] = Index(visit.Region);
            references[i * 5 + 2] = visit.ReferrerHost is null ? 0 : 1 + Index(visit.ReferrerHost);
            references[i * 5 + 3] = visit.UserAgent is null ? 0 : 1 + Index(visit.UserAgent);
            references[i * 5 + 4] = visit.Country is null ? 0 : 1 + Index(visit.Country);
        }
        var capacity = 1 + 2 * MaxVarintBytes + visits.Count * (FixedBytesPerVisit + 5 * MaxVarintBytes);
        foreach (var text in order)
        {
            capacity += MaxVarintBytes + Encoding.UTF8.GetMaxByteCount(text.Length);
        }
        var buffer = ArrayPool<byte>.Shared.Rent(capacity);
        try
        {
            var span = buffer.AsSpan();
            var at = 0;
            span[at++] = Version;
            at += WriteVarint(span[at..], order.Count);
            foreach (var text in order)
            {
                var length = Encoding.UTF8.GetBytes(text, span[(at + MaxVarintBytes)..]);
                at += WriteVarint(span[at..], length);
                Encoding.UTF8.GetBytes(text, span[at..]);
                at += length;
            }
            at += WriteVarint(span[at..], visits.Count);
            for (var i = 0; i < visits.Count; i++)
            {
                var visit = visits[i];
                visit.VisitId.TryWriteBytes(span[at..]);
                visit.LinkId.TryWriteBytes(span[(at + 16)..]);
                visit.OwnerId.TryWriteBytes(span[(at + 32)..]);
                BinaryPrimitives.WriteInt64LittleEndian(span[(at + 48)..], visit.OccurredAt.Ticks);
                BinaryPrimitives.WriteUInt64LittleEndian(span[(at + 56)..], visit.VisitorHash);
                at += FixedBytesPerVisit;
                for (var r = 0; r < 5; r++)
                {
                    at += WriteVarint(span[at..], references[i * 5 + r]);
                }
            }
            return span[..at].ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <returns>The visits, or null when the body is not a whole v2 body.</returns>
    public static List<VisitEvent>? TryRead(ReadOnlySpan<byte> body)
    {
        var decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        try
        {
            if (body.IsEmpty || body[0] != Version)
            {
                return null;
            }
            var at = 1;
            var strings = new string[ReadCount(body, ref at)];
            for (var s = 0; s < strings.Length; s++)
            {
                var length = ReadCount(body, ref at);
                strings[s] = decoder.GetString(body.Slice(at, length));
                at += length;
            }
            var count = ReadCount(body, ref at);
            var visits = new List<VisitEvent>(count);
            for (var i = 0; i < count; i++)
            {
                var fixedPart = body.Slice(at, FixedBytesPerVisit);
                at += FixedBytesPerVisit;
                var ticks = BinaryPrimitives.ReadInt64LittleEndian(fixedPart[48..]);
                if (ticks < 0 || ticks > DateTime.MaxValue.Ticks)
                {
                    return null;
                }
                var code = strings[ReadCount(body, ref at)];
                var region = strings[ReadCount(body, ref at)];
                visits.Add(new VisitEvent(new Guid(fixedPart[..16]), new Guid(fixedPart[16..32]), new Guid(fixedPart[32..48]), code,
                    new DateTime(ticks, DateTimeKind.Utc), Optional(strings, body, ref at), Optional(strings, body, ref at),
                    Optional(strings, body, ref at), BinaryPrimitives.ReadUInt64LittleEndian(fixedPart[56..]), region));
            }
            return at == body.Length ? visits : null;
        }
        catch (Exception exception) when (exception is ArgumentOutOfRangeException or IndexOutOfRangeException or DecoderFallbackException
                                              or OverflowException)
        {
            return null;
        }
    }

    private static string? Optional(string[] strings, ReadOnlySpan<byte> body, ref int at) =>
        ReadCount(body, ref at) is var reference and > 0 ? strings[reference - 1] : null;

    private static int WriteVarint(Span<byte> span, int value)
    {
        var unsigned = (uint)value;
        var written = 0;
        while (unsigned >= 0x80)
        {
            span[written++] = (byte)(unsigned | 0x80);
            unsigned >>= 7;
        }
        span[written++] = (byte)unsigned;
        return written;
    }

    /// <summary>A varint that counts something within the body, so it cannot exceed the body's length.</summary>
    private static int ReadCount(ReadOnlySpan<byte> body, ref int at)
    {
        uint value = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            var next = body[at++];
            value |= (uint)(next & 0x7F) << shift;
            if (next < 0x80)
            {
                return value <= body.Length ? (int)value : throw new OverflowException("A count larger than the message");
            }
        }
        throw new OverflowException("A varint longer than five bytes");
    }
}
