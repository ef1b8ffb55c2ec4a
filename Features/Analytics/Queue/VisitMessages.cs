using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using RabbitMQ.Client;

namespace Shortlink.Features.Analytics.Queue;

/// <summary>
/// A message on the visits queue: a JSON array of visits (up to RabbitMQ:VisitsPerMessage), typed
/// "shortlink.visits.v1", with the W3C trace context of the first traced redirect among them in its headers.
/// </summary>
internal static class VisitMessages
{
    public const string Type = "shortlink.visits.v1";
    public const string TraceParentHeader = "traceparent";
    public const string TraceStateHeader = "tracestate";

    public static ReadOnlyMemory<byte> Encode(List<VisitEvent> visits) =>
        JsonSerializer.SerializeToUtf8Bytes(visits, VisitMessageJson.Default.ListVisitEvent);

    public static BasicProperties Properties(ActivityContext trace)
    {
        var properties = new BasicProperties
        {
            Persistent = true,
            ContentType = "application/json",
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
        if (properties.Type != Type)
        {
            return null;
        }
        try
        {
            var visits = JsonSerializer.Deserialize(body, VisitMessageJson.Default.ListVisitEvent);
            return visits is { Count: > 0 } && visits.TrueForAll(IsWhole) ? visits : null;
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
