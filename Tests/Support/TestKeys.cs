using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Shortlink.Tests.Support;

/// <summary>The admin key every test service starts with (its bootstrap key), and keys made through the API.</summary>
internal static class TestKeys
{
    public static readonly string Admin = Fixed("TestAdminKey");

    /// <summary>A well-formed key that is easy to recognise in a test: a word padded to the key's length.</summary>
    public static string Fixed(string word) => "sl_live_" + word.PadRight(43, '0');

    public static void Authorize(HttpClient http, string key) =>
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

    /// <summary>A key created by the admin: its secret, id and owner.</summary>
    public sealed record Created(string Key, Guid Id, Guid OwnerId);

    public static async Task<Created> CreateAsync(HttpClient admin, string role, Guid? ownerId = null, DateTimeOffset? expiresAt = null)
    {
        using var response = await admin.PostAsJsonAsync("/api/v1/keys",
            new { name = $"{role} for a test", role, ownerId, expiresAt });
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Creating a {role} key answered {(int)response.StatusCode}: {body}");
        }
        var created = JsonDocument.Parse(body).RootElement;
        var details = created.GetProperty("details");
        return new Created(created.GetProperty("key").GetString()!, details.GetProperty("id").GetGuid(), details.GetProperty("ownerId").GetGuid());
    }
}
