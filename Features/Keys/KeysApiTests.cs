using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Keys;

public sealed class KeysApiTests : ApiTestBase
{
    [Test]
    public async Task A_created_key_is_shown_once_and_only_its_hash_and_prefix_are_stored()
    {
        var created = await TestKeys.CreateAsync(Http, "member");
        var read = await Http.GetFromJsonAsync<JsonElement>($"/api/v1/keys/{created.Id}");
        var list = await Http.GetStringAsync("/api/v1/keys");
        await using var connection = new MySqlConnection(ConnectionString);
        var stored = await connection.QuerySingleAsync<(byte[] KeyHash, string Prefix)>(
            "SELECT key_hash, prefix FROM api_keys WHERE id = @Id", new { created.Id });
        var secret = created.Key[14..];
        Assert.Multiple(async () =>
        {
            Assert.That(created.Key, Does.Match("^sl_live_[0-9A-Za-z]{43}$"));
            Assert.That(read.GetProperty("prefix").GetString(), Is.EqualTo(created.Key[..14]));
            Assert.That(read.ToString(), Does.Not.Contain(secret));
            Assert.That(list, Does.Not.Contain(secret));
            Assert.That(stored.KeyHash, Is.EqualTo(SHA256.HashData(Encoding.UTF8.GetBytes(created.Key))));
            Assert.That(stored.Prefix, Is.EqualTo(created.Key[..14]));
            Assert.That(await TextColumnsContainingAsync(secret), Is.Empty, "the key's secret is stored somewhere");
        });
    }

    [Test]
    public async Task A_revoked_key_is_refused_at_once_on_the_instance_that_revoked_it()
    {
        var created = await TestKeys.CreateAsync(Http, "member");
        using var client = NewClient(created.Key);
        using var before = await client.GetAsync("/api/v1/keys/me");
        using var revoke = await Http.DeleteAsync($"/api/v1/keys/{created.Id}");
        using var after = await client.GetAsync("/api/v1/keys/me");
        Assert.Multiple(() =>
        {
            Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(revoke.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(after.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer error=\"invalid_token\""));
        });
        var problem = await AssertProblemAsync(after, HttpStatusCode.Unauthorized, "urn:shortlink:problem:unauthorized");
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("revoked"));
    }

    [Test]
    public async Task Last_used_is_written_at_most_once_a_minute()
    {
        var created = await TestKeys.CreateAsync(Http, "readonly");
        using var client = NewClient(created.Key);
        var firstUse = App.Clock.GetUtcNow();
        (await client.GetAsync("/api/v1/keys/me")).Dispose();
        var afterFirst = await LastUsedAsync(created.Id);
        App.Clock.Advance(TimeSpan.FromSeconds(30));
        (await client.GetAsync("/api/v1/links")).Dispose();
        var halfAMinuteLater = await LastUsedAsync(created.Id);
        App.Clock.Advance(TimeSpan.FromSeconds(31));
        (await client.GetAsync("/api/v1/links")).Dispose();
        var aMinuteLater = await LastUsedAsync(created.Id);
        Assert.Multiple(() =>
        {
            Assert.That(afterFirst, Is.EqualTo(firstUse.UtcDateTime).Within(TimeSpan.FromMilliseconds(1)));
            Assert.That(halfAMinuteLater, Is.EqualTo(afterFirst));
            Assert.That(aMinuteLater, Is.EqualTo(App.Clock.GetUtcNow().UtcDateTime).Within(TimeSpan.FromMilliseconds(1)));
        });
    }

    [Test]
    public async Task A_key_may_come_as_a_bearer_token_or_in_x_api_key()
    {
        using var client = NewClient(key: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/keys/me");
        request.Headers.Add("X-Api-Key", TestKeys.Admin);
        using var viaHeader = await client.SendAsync(request);
        using var without = await client.GetAsync("/api/v1/keys/me");
        var me = await viaHeader.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Multiple(() =>
        {
            Assert.That(viaHeader.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(me.GetProperty("role").GetString(), Is.EqualTo("admin"));
            Assert.That(me.GetProperty("name").GetString(), Is.EqualTo("bootstrap"));
            Assert.That(without.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(without.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"));
        });
    }

    [Test]
    public async Task A_key_for_an_existing_owner_shares_its_links_so_keys_can_be_rotated()
    {
        var old = await TestKeys.CreateAsync(Http, "member");
        using var oldClient = NewClient(old.Key);
        using var created = await oldClient.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/rotated", slug = "rotated" });
        var successor = await TestKeys.CreateAsync(Http, "member", old.OwnerId);
        (await Http.DeleteAsync($"/api/v1/keys/{old.Id}")).Dispose();
        using var successorClient = NewClient(successor.Key);
        using var read = await successorClient.GetAsync("/api/v1/links/rotated");
        using var oldRead = await oldClient.GetAsync("/api/v1/links/rotated");
        Assert.Multiple(() =>
        {
            Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(successor.OwnerId, Is.EqualTo(old.OwnerId));
            Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(oldRead.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        });
    }

    [TestCase("""{"name":"x","role":"root"}""", "role")]
    [TestCase("""{"name":"","role":"member"}""", "name")]
    [TestCase("""{"name":"x","role":"member","expiresAt":"2001-01-01T00:00:00Z"}""", "expiresAt")]
    [TestCase("""{"name":"x","role":"member","ownerId":"019a8f3c-5b2e-7c41-9d3a-6e1f2a4b5c6d"}""", "ownerId")]
    public async Task Invalid_key_requests_return_400_naming_the_field_and_create_nothing(string json, string field)
    {
        var before = await QueryScalarAsync<long>("SELECT COUNT(*) FROM api_keys");
        using var response = await PostJsonAsync("/api/v1/keys", json);
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:shortlink:problem:validation-failed");
        Assert.Multiple(async () =>
        {
            Assert.That(problem.GetProperty("errors").EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { field }));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM api_keys"), Is.EqualTo(before));
        });
    }

    private async Task<DateTime?> LastUsedAsync(Guid id) =>
        await QueryScalarAsync<DateTime?>("SELECT last_used_at FROM api_keys WHERE id = @id", new { id });
}

/// <summary>The bootstrap admin key applies once, to a service without an admin key; later ones are ignored.</summary>
public sealed class BootstrapAdminKeyTests : ApiTestBase
{
    [Test]
    public async Task A_bootstrap_key_is_ignored_once_the_service_has_an_admin_key()
    {
        var another = TestKeys.Fixed("AnotherBootstrapKey");
        await using var restarted = new ShortlinkApp(ConnectionString, new Dictionary<string, string?>
        {
            ["Shortlink:Security:BootstrapAdminKey"] = another,
        });
        using var http = restarted.CreateClient();
        TestKeys.Authorize(http, another);
        using var response = await http.GetAsync("/api/v1/keys/me");
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM api_keys WHERE role = 'admin'"), Is.EqualTo(1));
            Assert.That(restarted.Logs.Events.Select(e => e.RenderMessage()), Has.Some.Contains("BootstrapAdminKey is ignored"));
        });
    }
}
