using MySqlConnector;
using NUnit.Framework;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Links;

/// <summary>One shard's insert against the real database: grouped rows, and the row-by-row path a duplicate key takes.</summary>
public sealed class LinkSqlTests : ApiTestBase
{
    private static readonly ShortDomain Domain = new(ShortlinkApp.PublicBaseUrl);

    private LinkDraft Draft(string? slug, string url, params string[] tags) =>
        CreateLink.Draft(new CreateLink.Request(url, slug, Tags: tags), Caller, Domain, App.Clock.GetUtcNow());

    // The legacy owner exists in every migrated database; the key id is only recorded.
    private static readonly Infrastructure.Security.ApiCaller Caller =
        new(Guid.CreateVersion7(), Infrastructure.Security.ApiCaller.LegacyOwner, "admin");

    private async Task<IReadOnlyList<LinkRow?>> InsertAsync(params LinkDraft[] drafts)
    {
        await using var connection = new MySqlConnection(DataServiceCollectionExtensions.WithRequiredSettings(ConnectionString));
        await connection.OpenAsync();
        return await LinkSql.InsertAsync(connection, drafts, CancellationToken.None);
    }

    [Test]
    public async Task A_taken_code_fails_its_own_item_alone_whether_slug_or_generated()
    {
        await InsertAsync(Draft("sql-existing", "https://example.com/existing"));
        var colliding = Draft(null, "https://example.com/generated", "g");
        colliding = colliding with { Row = colliding.Row with { Code = "sql-existing" } };

        var stored = await InsertAsync(
            Draft("sql-first", "https://example.com/1", "a", "b"),
            Draft("sql-existing", "https://example.com/taken"),
            colliding,
            Draft("sql-last", "https://example.com/3"));

        Assert.Multiple(async () =>
        {
            Assert.That(stored[0]?.Code, Is.EqualTo("sql-first"));
            Assert.That(stored[1], Is.Null);
            Assert.That(stored[2], Is.Null, "LinkInserts draws it again, and takes the new code to its own shard");
            Assert.That(stored[3]?.Code, Is.EqualTo("sql-last"));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM links"), Is.EqualTo(3));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM link_tags"), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task More_rows_than_one_statement_holds_are_all_stored_with_their_tags()
    {
        var drafts = Enumerable.Range(0, 600).Select(i => Draft(null, $"https://example.com/many/{i}", "many", $"n{i % 7}")).ToArray();
        var stored = await InsertAsync(drafts);
        Assert.Multiple(async () =>
        {
            Assert.That(stored, Has.All.Not.Null);
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM link_tags WHERE tag = 'many'"), Is.EqualTo(600));
        });
    }
}
