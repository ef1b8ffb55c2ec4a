using System.Text.Json;
using System.Text.Json.Serialization;

namespace Shortlink.Infrastructure.Web;

/// <summary>
/// One field of a JSON merge patch (RFC 7386): absent leaves the stored value alone, present
/// (even as null) replaces it.
/// </summary>
[JsonConverter(typeof(PatchJsonConverterFactory))]
internal readonly record struct Patch<T>(bool IsSet, T? Value)
{
    public T? Or(T? current) => IsSet ? Value : current;
}

/// <summary>A merge-patch field that may be left out or changed but never cleared: the schema says it is not nullable.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class CannotBeClearedAttribute : Attribute;

internal sealed class PatchJsonConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(Patch<>);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(PatchJsonConverter<>).MakeGenericType(typeToConvert.GetGenericArguments()[0]))!;

    private sealed class PatchJsonConverter<T> : JsonConverter<Patch<T>>
    {
        public override bool HandleNull => true;

        public override Patch<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Null)
            {
                return new Patch<T>(true, default);
            }
            try
            {
                return new Patch<T>(true, JsonSerializer.Deserialize<T>(ref reader, options));
            }
            catch (JsonException nested) when (nested.Path is not null)
            {
                // The nested read knows its path only from this value on ("$[1]"); rethrown without a
                // path, the failure gets this field's ("$.tags") and JsonFailures joins the two.
                throw new JsonException(null, nested);
            }
        }

        public override void Write(Utf8JsonWriter writer, Patch<T> value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value.Value, options);
    }
}
