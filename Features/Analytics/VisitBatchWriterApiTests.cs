using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Analytics;

/// <summary>Two batch writers at once, as two workers are, whose batches share visitor and rollup rows.</summary>
public sealed class VisitBatchWriterApiTests : ApiTestBase
{
    private const int Links = 100;
    private const int Rounds = 5;

    [Test]
    public async Task Writers_whose_batches_share_rows_in_opposite_orders_wait_for_each_other_instead_of_deadlocking()
    {
        using var created = await PostJsonAsync("/api/v1/links/bulk", JsonSerializer.Serialize(new
        {
            items = Enumerable.Range(0, Links).Select(i => new { url = $"https://example.com/two-writers/{i}" }),
        }));
        var codes = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("items").EnumerateArray()
            .Select(item => item.GetProperty("link").GetProperty("code").GetString()!);
        var links = new List<TestVisits.Link>();
        foreach (var code in codes)
        {
            links.Add(await TestVisits.LinkAsync(ConnectionString, code));
        }
        var writer = App.Services.GetRequiredService<VisitBatchWriter>();
        // One moment for all, so that each batch's rows come in the order of its links: one forwards, one backwards.
        var at = DateTime.UtcNow;
        List<VisitEvent> Batch(IEnumerable<TestVisits.Link> inOrder) =>
            [.. inOrder.SelectMany(link => Enumerable.Range(0, 3).Select(_ => new VisitEvent(
                Guid.CreateVersion7(), link.Id, link.OwnerId, link.Code, at, "news.example.org", TestVisits.Chrome, "DE", 7, "test-1")))];
        // The rows exist before the two share them. Two writers that both insert the same new visitor at the same moment
        // collide once: the second's insert fails as a duplicate, and it writes again.
        Assert.That(await writer.TryWriteAsync(Batch(links), CancellationToken.None), Is.True);
        var deadlocksBefore = await DeadlocksAsync();

        for (var round = 0; round < Rounds; round++)
        {
            var forwards = Batch(links);
            var backwards = Batch(Enumerable.Reverse(links));
            var written = await Task.WhenAll(Task.Run(() => writer.TryWriteAsync(forwards, CancellationToken.None)),
                Task.Run(() => writer.TryWriteAsync(backwards, CancellationToken.None)));
            Assert.That(written, Is.All.True);
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await DeadlocksAsync() - deadlocksBefore, Is.Zero, "deadlocks while the two wrote");
            Assert.That(await QueryScalarAsync<long>("""
                SELECT COALESCE(SUM(r.visits), 0) FROM visit_rollups r JOIN links l ON l.id = r.link_id
                WHERE l.url LIKE 'https://example.com/two-writers/%' AND r.dimension = 'total'
                """), Is.EqualTo((Rounds * 2 + 1) * 3 * Links));
        });
    }

    /// <summary>InnoDB's deadlock count since the server started: a status variable in MariaDB, a metric in MySQL.</summary>
    private async Task<long> DeadlocksAsync()
    {
        await using var connection = new MySqlConnection(ConnectionString);
        var mariaDb = (await connection.ExecuteScalarAsync<string>("SELECT VERSION()"))!.Contains("MariaDB", StringComparison.Ordinal);
        return mariaDb
            ? long.Parse((await connection.QuerySingleAsync<(string, string)>("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'")).Item2,
                System.Globalization.CultureInfo.InvariantCulture)
            : await connection.ExecuteScalarAsync<long>("SELECT `COUNT` FROM information_schema.INNODB_METRICS WHERE NAME = 'lock_deadlocks'");
    }
}
