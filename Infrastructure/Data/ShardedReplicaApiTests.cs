using System.Net;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Infrastructure.Data;

/// <summary>
/// The scaled topology as a whole: shard 0 on the first primary and its replica, shard 1 on the second pair, the upper
/// half of the buckets on shard 1. Each server's own counters show where the service's statements went.
/// </summary>
[TestFixture]
public sealed class ShardedReplicaApiTests : ReplicaApiTestBase
{
    private static readonly string Domain = new ShortDomain(ShortlinkApp.PublicBaseUrl).Name;

    private string secondShard = "";

    protected override int HeartbeatMilliseconds => 250;

    protected override double MaxLagSeconds => 1;

    private protected override async Task<DatabaseServer> DatabaseServerAsync()
    {
        var first = await base.DatabaseServerAsync();
        secondShard = DataServiceCollectionExtensions.WithRequiredSettings(await new DatabaseServer(Topology.Primary(2)).CreateDatabaseAsync());
        return first;
    }

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Shortlink:Database:Shards:1:ConnectionString"] = secondShard,
        ["Shortlink:Database:Shards:1:Replicas:0"] =
            new MySqlConnectionStringBuilder(Topology.Replica(2)) { Database = new MySqlConnectionStringBuilder(secondShard).Database }.ConnectionString,
    };

    [OneTimeSetUp]
    public async Task GiveTheUpperHalfOfTheBucketsToShardOneAsync()
    {
        await ExecuteAsync("UPDATE bucket_map SET shard = 1 WHERE bucket >= 512; UPDATE bucket_map_version SET version = version + 1 WHERE id = 1");
        await Eventually.TrueAsync(async () => await PrometheusText.SumAsync(Http, "shortlink_database_shard_buckets", "shard=\"1\"") == 512);
        await Eventually.TrueAsync(async () => await InRotationAsync(shard: 1), TimeSpan.FromSeconds(30));
    }

    [Test]
    public async Task Each_shards_writes_go_to_its_primary_and_its_redirect_misses_lists_and_stats_to_its_replica()
    {
        // Shard 0 is on the first pair of servers, shard 1 on the second.
        var slugs = Enumerable.Range(0, 100).Select(i => $"routed-{i}")
            .GroupBy(slug => Buckets.Of(Domain, slug) >= 512 ? 2 : 1)
            .ToDictionary(server => server.Key, server => server.Take(10).ToList());
        var inserts = new Dictionary<int, long>();
        foreach (var server in new[] { 1, 2 })
        {
            inserts[server] = await CounterAsync(Topology.Primary(server), "Com_insert");
        }
        foreach (var slug in slugs.Values.SelectMany(slug => slug))
        {
            await CreateLinkAsync(new { url = $"https://example.com/{slug}", slug });
        }
        foreach (var server in new[] { 1, 2 })
        {
            Assert.That(await CounterAsync(Topology.Primary(server), "Com_insert") - inserts[server], Is.GreaterThanOrEqualTo(10),
                $"the links of the shard on server {server} were created on its primary");
        }
        await Eventually.TrueAsync(async () => await CountOnAsync(Topology.Replica(2), secondShard) >= 10, TimeSpan.FromSeconds(10));

        var before = await SelectsAsync();
        foreach (var slug in slugs.Values.SelectMany(slug => slug))
        {
            (await Http.GetAsync("/api/v1/links?limit=5")).EnsureSuccessStatusCode().Dispose();
            (await Http.GetAsync($"/api/v1/links/{slug}/stats")).EnsureSuccessStatusCode().Dispose();
            using var redirect = await Http.GetAsync($"/{slug}");
            Assert.That(redirect.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        }
        var after = await SelectsAsync();
        Assert.Multiple(() =>
        {
            foreach (var server in new[] { 1, 2 })
            {
                var (onReplica, onPrimary) = (after[(server, "replica")] - before[(server, "replica")], after[(server, "primary")] - before[(server, "primary")]);
                // 20 lists reach both replicas; each shard's 10 redirects and stats reach its own. Heartbeats (and the bucket map's
                // polls, on the first primary) are a few queries on the side.
                Assert.That(onReplica - onPrimary, Is.GreaterThanOrEqualTo(35), $"server {server}: replica {onReplica}, primary {onPrimary}");
            }
        });
    }

    private async Task<Dictionary<(int, string), long>> SelectsAsync()
    {
        var selects = new Dictionary<(int, string), long>();
        foreach (var server in new[] { 1, 2 })
        {
            selects[(server, "primary")] = await CounterAsync(Topology.Primary(server), "Com_select");
            selects[(server, "replica")] = await CounterAsync(Topology.Replica(server), "Com_select");
        }
        return selects;
    }

    private static async Task<long> CountOnAsync(string server, string database)
    {
        await using var connection = new MySqlConnection(new MySqlConnectionStringBuilder(Unpooled(server)) { Database = new MySqlConnectionStringBuilder(database).Database }.ConnectionString);
        await connection.OpenAsync();
        await using var count = new MySqlCommand("SELECT COUNT(*) FROM links", connection);
        return Convert.ToInt64(await count.ExecuteScalarAsync());
    }
}
