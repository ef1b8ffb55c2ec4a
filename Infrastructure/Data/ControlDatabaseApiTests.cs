using System.Net;
using System.Net.Http.Json;
using Dapper;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Infrastructure.Data;

/// <summary>
/// Database:ControlConnectionString set to a database of its own: what belongs to no link (keys and owners, the
/// blocklist, idempotency records, the key ring) is there and only there, links and visits stay in the primary, and
/// both databases are migrated and checked by readiness.
/// </summary>
[TestFixture]
public sealed class ControlDatabaseApiTests : ApiTestBase
{
    private DatabaseServer server = null!;
    private string control = "";

    private protected override async Task<DatabaseServer> DatabaseServerAsync()
    {
        server = await TestServers.DatabaseAsync();
        control = DataServiceCollectionExtensions.WithRequiredSettings(await server.CreateDatabaseAsync());
        return server;
    }

    private protected override async ValueTask StopServersAsync() => await server.DropDatabaseAsync(control);

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:Database:ControlConnectionString"] = control,
    };

    [Test]
    public async Task What_belongs_to_no_link_is_in_the_control_database_and_links_are_in_the_primary()
    {
        using (var key = await Http.PostAsJsonAsync("/api/v1/keys", new { name = "second", role = "member" }))
        {
            Assert.That(key.StatusCode, Is.EqualTo(HttpStatusCode.Created), await key.Content.ReadAsStringAsync());
        }
        using (var blocked = await Http.PutAsync("/api/v1/blocklist/control-test.example", null))
        {
            Assert.That(blocked.StatusCode, Is.EqualTo(HttpStatusCode.Created), await blocked.Content.ReadAsStringAsync());
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/links") { Content = JsonContent.Create(new { url = "https://example.com/control" }) };
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        using (var created = await Http.SendAsync(request))
        {
            Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created), await created.Content.ReadAsStringAsync());
        }
        // The key ring is written when the first anti-forgery token is made: a password form asks for one.
        var locked = (await CreateLinkAsync(new { url = "https://example.com/locked", password = "correct horse" })).GetProperty("code").GetString()!;
        using (var form = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/{locked}") { Headers = { { "Accept", "text/html" } } }))
        {
            Assert.That(form.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        }

        Assert.Multiple(async () =>
        {
            // Every database's schema holds the owner its migration made for links from before keys ("legacy").
            foreach (var table in new[] { "owners WHERE name <> 'legacy'", "api_keys", "blocked_domains", "idempotency_records", "data_protection_keys" })
            {
                Assert.That(await RowsAsync(control, table), Is.Positive, $"{table} in the control database");
                Assert.That(await RowsAsync(ConnectionString, table), Is.Zero, $"{table} not in the primary");
            }
            Assert.That(await RowsAsync(ConnectionString, "links"), Is.EqualTo(2));
            Assert.That(await RowsAsync(control, "links"), Is.Zero);
        });
    }

    [Test]
    public async Task Both_databases_are_migrated_and_readiness_needs_both()
    {
        Assert.That(await RowsAsync(control, "schema_changelog"), Is.Positive, "migrated at start");
        using (var ready = await Http.GetAsync("/health/ready"))
        {
            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
        await using (var connection = new MySqlConnection(control))
        {
            await connection.ExecuteAsync("UPDATE schema_changelog SET success = 0 WHERE version = '8'");
        }
        try
        {
            using var notReady = await Http.GetAsync("/health/ready");
            Assert.That(notReady.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "a control database behind the code is not ready");
        }
        finally
        {
            await using var connection = new MySqlConnection(control);
            await connection.ExecuteAsync("UPDATE schema_changelog SET success = 1 WHERE version = '8'");
        }
    }

    private static async Task<long> RowsAsync(string connectionString, string table)
    {
        await using var connection = new MySqlConnection(connectionString);
        return await connection.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM {table}");
    }
}
