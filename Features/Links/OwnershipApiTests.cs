using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EvolveDb;
using EvolveDb.Dialect;
using EvolveDb.Migration;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Infrastructure.Data;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Links;

/// <summary>Links belong to owners: lists, cursors and idempotency keys are the owner's; admins see every owner's.</summary>
public sealed class OwnershipApiTests : ApiTestBase
{
    private HttpClient alice = null!;
    private HttpClient bob = null!;

    [OneTimeSetUp]
    public async Task CreateOwners()
    {
        alice = NewClient((await TestKeys.CreateAsync(Http, "member")).Key);
        bob = NewClient((await TestKeys.CreateAsync(Http, "member")).Key);
    }

    [OneTimeTearDown]
    public void DisposeClients()
    {
        alice.Dispose();
        bob.Dispose();
    }

    private static async Task<List<string>> CodesAsync(HttpClient client, string query) =>
        (await client.GetFromJsonAsync<JsonElement>($"/api/v1/links?{query}")).GetProperty("items").EnumerateArray()
            .Select(item => item.GetProperty("code").GetString()!).ToList();

    [Test]
    public async Task A_member_lists_its_owners_links_and_an_admin_lists_everyones()
    {
        foreach (var (client, slug) in new[] { (alice, "alice-1"), (alice, "alice-2"), (bob, "bob-1") })
        {
            using var created = await client.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/owned", slug, tags = new[] { "owned" } });
            Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        }
        Assert.Multiple(async () =>
        {
            Assert.That(await CodesAsync(alice, "tag=owned"), Is.EqualTo(new[] { "alice-2", "alice-1" }));
            Assert.That(await CodesAsync(bob, "tag=owned"), Is.EqualTo(new[] { "bob-1" }));
            Assert.That(await CodesAsync(alice, "q=owned"), Is.EqualTo(new[] { "alice-2", "alice-1" }));
            Assert.That(await CodesAsync(Http, "tag=owned"), Is.EqualTo(new[] { "bob-1", "alice-2", "alice-1" }));
        });
    }

    [Test]
    public async Task A_cursor_of_one_owner_means_nothing_to_another()
    {
        for (var i = 0; i < 3; i++)
        {
            (await alice.PostAsJsonAsync("/api/v1/links", new { url = $"https://example.com/paged/{i}", tags = new[] { "paged" } })).Dispose();
        }
        var page = await alice.GetFromJsonAsync<JsonElement>("/api/v1/links?tag=paged&limit=1");
        var cursor = page.GetProperty("nextCursor").GetString();
        using var own = await alice.GetAsync($"/api/v1/links?tag=paged&limit=1&cursor={cursor}");
        using var other = await bob.GetAsync($"/api/v1/links?tag=paged&limit=1&cursor={cursor}");
        using var admin = await Http.GetAsync($"/api/v1/links?tag=paged&limit=1&cursor={cursor}");
        Assert.That(own.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await AssertProblemAsync(other, HttpStatusCode.BadRequest, "urn:shortlink:problem:invalid-cursor");
        await AssertProblemAsync(admin, HttpStatusCode.BadRequest, "urn:shortlink:problem:invalid-cursor");
    }

    [Test]
    public async Task An_idempotency_key_is_its_owners()
    {
        async Task<HttpResponseMessage> Send(HttpClient client)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/links")
            {
                Content = new StringContent("""{"url":"https://example.com/same-key"}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("Idempotency-Key", "shared-by-two-owners");
            return await client.SendAsync(request);
        }
        using var first = await Send(alice);
        using var second = await Send(bob);
        var firstCode = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString();
        var secondCode = (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString();
        Assert.Multiple(() =>
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(second.Headers.Contains("Idempotent-Replayed"), Is.False);
            Assert.That(secondCode, Is.Not.EqualTo(firstCode));
        });
    }

    [Test]
    public async Task A_link_records_its_owner_and_the_key_that_made_it()
    {
        var carol = await TestKeys.CreateAsync(Http, "member");
        using var client = NewClient(carol.Key);
        var code = (await (await client.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/recorded" }))
            .Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString();
        await using var connection = new MySqlConnection(ConnectionString);
        var (owner, key) = await Dapper.SqlMapper.QuerySingleAsync<(Guid, Guid)>(connection,
            "SELECT owner_id, created_by_key_id FROM links WHERE code = @code", new { code });
        Assert.Multiple(() =>
        {
            Assert.That(owner, Is.EqualTo(carol.OwnerId));
            Assert.That(key, Is.EqualTo(carol.Id));
        });
    }
}

/// <summary>Links from before keys existed belong to the legacy owner, which only admins see.</summary>
public sealed class LegacyOwnerMigrationTests
{
    [Test]
    public async Task Links_made_before_keys_are_the_legacy_owners_and_only_admins_see_them()
    {
        var server = await TestServers.DatabaseAsync();
        var connectionString = await server.CreateDatabaseAsync();
        try
        {
            await using (var connection = new MySqlConnection(DataServiceCollectionExtensions.WithRequiredSettings(connectionString)))
            {
                await connection.OpenAsync();
                new Evolve(connection, _ => { }, DBMS.MySQL)
                {
                    EmbeddedResourceAssemblies = [typeof(Migrator).Assembly],
                    EmbeddedResourceFilters = ["Migrations."],
                    MetadataTableName = "schema_changelog",
                    TargetVersion = new MigrationVersion("2"),
                }.Migrate();
                await using var insert = new MySqlCommand("""
                    INSERT INTO links (id, domain, code, url, redirect_type, forward_query, created_at, updated_at)
                    VALUES (UNHEX(REPLACE(UUID(), '-', '')), 'sho.rt', 'from-before', 'https://example.com/old', 302, 1, NOW(3), NOW(3))
                    """, connection);
                await insert.ExecuteNonQueryAsync();
            }
            await using var app = new ShortlinkApp(connectionString);
            using var admin = app.CreateClient();
            TestKeys.Authorize(admin, TestKeys.Admin);
            var member = await TestKeys.CreateAsync(admin, "member");
            using var memberClient = app.CreateClient();
            TestKeys.Authorize(memberClient, member.Key);
            using var asAdmin = await admin.GetAsync("/api/v1/links/from-before");
            using var asMember = await memberClient.GetAsync("/api/v1/links/from-before");
            using var redirect = await app.CreateClient(new() { AllowAutoRedirect = false }).GetAsync("/from-before");
            Assert.Multiple(() =>
            {
                Assert.That(asAdmin.StatusCode, Is.EqualTo(HttpStatusCode.OK));
                Assert.That(asMember.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
                Assert.That(redirect.StatusCode, Is.EqualTo(HttpStatusCode.Found));
            });
        }
        finally
        {
            await server.DropDatabaseAsync(connectionString);
        }
    }
}
