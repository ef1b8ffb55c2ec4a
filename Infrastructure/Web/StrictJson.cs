using System.Text.Json;
using System.Text.Json.Serialization;

namespace Shortlink.Infrastructure.Web;

/// <summary>
/// How request bodies are read: exactly as the schema says, so that no value passes a check in one
/// form and means something else in another. Names match in their letter case only, numbers must be
/// JSON numbers, a property given twice is refused (otherwise the last one wins, and a check that
/// read the first is bypassed), unknown fields are refused, and date-times carry their offset.
/// </summary>
internal static class StrictJson
{
    public static void Apply(JsonSerializerOptions options)
    {
        options.PropertyNameCaseInsensitive = false;
        options.NumberHandling = JsonNumberHandling.Strict;
        options.AllowDuplicateProperties = false;
        // A misspelt "expiresAt" must not pass silently as "no expiry".
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        options.MaxDepth = 16;
        options.Converters.Add(new OffsetDateTimeConverter());
    }
}

/// <summary>
/// Reads a date-time only with an explicit offset (Z or ±hh:mm). Without one, the framework would
/// read it in the server's time zone, and the same request would mean another instant on another server.
/// </summary>
internal sealed class OffsetDateTimeConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String || !reader.TryGetDateTimeOffset(out var value))
        {
            throw new JsonException();
        }
        return HasExplicitOffset(reader.GetString()!) ? value : throw new DateTimeWithoutOffsetException();
    }

    /// <summary>Ends in Z or ±hh:mm, as RFC 3339 asks.</summary>
    public static bool HasExplicitOffset(string text) =>
        text.EndsWith('Z') || text.EndsWith('z') || (text.Length > 6 && text[^6] is '+' or '-' && text[^3] == ':');

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value);
}

internal sealed class DateTimeWithoutOffsetException()
    : JsonException("A date-time needs an explicit offset: Z or ±hh:mm.");

/// <summary>Says what is wrong with a body and where, in the client's terms rather than .NET type names.</summary>
internal static class JsonFailures
{
    public static string Describe(JsonException exception)
    {
        var innermost = exception;
        while (innermost.InnerException is JsonException inner)
        {
            innermost = inner;
        }
        var path = PathOf(exception);
        var where = string.IsNullOrEmpty(path) || path == "$" ? "the body" : path;
        var message = innermost.Message;
        if (innermost is DateTimeWithoutOffsetException)
        {
            return $"The date-time at {where} needs its offset as Z or ±hh:mm at the end, e.g. 2026-12-31T23:59:59Z.";
        }
        if (message.StartsWith("Duplicate property", StringComparison.Ordinal))
        {
            return $"The field at {where} appears more than once; send each field once.";
        }
        if (message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            return $"Unknown field at {where}; field names are case-sensitive, and the schema in /openapi/v1.json lists them.";
        }
        if (message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return $"The value at {where} has the wrong type; numbers and booleans are not quoted, and date-times are strings.";
        }
        return $"The body is not valid JSON (at {where}, line {exception.LineNumber + 1}, byte {exception.BytePositionInLine + 1}).";
    }

    /// <summary>
    /// The full JSON path of a failure. A converter that reads a nested value on its own (a merge-patch
    /// field) rethrows the nested failure inside one at its own position; the two paths join here.
    /// </summary>
    public static string? PathOf(JsonException exception)
    {
        var path = exception.Path;
        for (var inner = exception.InnerException as JsonException; inner is not null; inner = inner.InnerException as JsonException)
        {
            if (inner.Path is { Length: > 1 } nested)
            {
                path += nested[1..];
            }
        }
        return path;
    }
}
