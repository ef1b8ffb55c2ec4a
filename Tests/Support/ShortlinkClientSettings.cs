using System.Text.Json;
using System.Text.Json.Serialization;

namespace Shortlink.Tests.Client;

/// <summary>
/// PATCH is a JSON merge patch, where null clears a field: a generated client must leave unset
/// properties out rather than send them as null. The README says the same to client authors.
/// </summary>
public partial class ShortlinkClient
{
    static partial void UpdateJsonSerializerSettings(JsonSerializerOptions settings) =>
        settings.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
}
