using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Infrastructure.Data;

/// <summary>
/// The service on shard 1 of the scaled topology, its replica configured: lists, stats and redirect misses read from
/// the replica while it keeps up, writes go to the primary, and a replica that falls behind or goes away leaves the
/// read rotation by itself, without a failed request, and comes back by itself.
/// </summary>
[TestFixture]
public sealed class ReadReplicaApiTests : ApiTestBase
{
    private const double MaxLagSeconds = 0.5;
    private ScaledTopology topology = null!;

    private protected override async Task<DatabaseServer> DatabaseServerAsync()
    {
        topology = await ScaledTopology.StartAsync();
        return new DatabaseServer(topology.Primary(1));
    }

    private protected override async ValueTask StopServersAsync() => await topology.DisposeAsync();

    private string Replica => new MySqlConnectionStringBuilder(topology.Replica(1)) { Database = new MySqlConnectionStringBuilder(ConnectionString).Database }
        .ConnectionString;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:Database:Replicas:0"] = Replica,
        ["Shortlink:Database:MaxReplicaLagSeconds"] = MaxLagSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        // Every redirect reads the database, so that each one is a miss to route.
        ["Shortlink:Cache:Enabled"] = "false",
    };

    [SetUp]
    public async Task WaitForTheReplicaAsync() => await Eventually.TrueAsync(async () => await InRotationAsync(), TimeSpan.FromSeconds(30));

    [Test]
    public async Task Lists_stats_and_redirect_misses_read_from_the_replica_and_writes_go_to_the_primary()
    {
        var codes = new List<string>();
        var primaryInserts = await CounterAsync(topology.Primary(1), "Com_insert");
        for (var i = 0; i < 10; i++)
        {
            codes.Add((await CreateLinkAsync(new { url = $"https://example.com/replicated/{i}" })).GetProperty("code").GetString()!);
        }
        Assert.That(await CounterAsync(topology.Primary(1), "Com_insert") - primaryInserts, Is.GreaterThanOrEqualTo(10), "created on the primary");
        await Eventually.TrueAsync(async () => await LinksOnReplicaAsync() >= 10, TimeSpan.FromSeconds(10));

        var (replicaBefore, primaryBefore) = (await CounterAsync(topology.Replica(1), "Com_select"), await CounterAsync(topology.Primary(1), "Com_select"));
        foreach (var code in codes)
        {
            (await Http.GetAsync("/api/v1/links?limit=5")).EnsureSuccessStatusCode().Dispose();
            (await Http.GetAsync($"/api/v1/links/{code}/stats")).EnsureSuccessStatusCode().Dispose();
            using var redirect = await Http.GetAsync($"/{code}");
            Assert.That(redirect.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        }
        var (onReplica, onPrimary) = (await CounterAsync(topology.Replica(1), "Com_select") - replicaBefore,
            await CounterAsync(topology.Primary(1), "Com_select") - primaryBefore);
        // Both also answer the heartbeat, a query each per beat: the replica's extra queries are the 30 reads.
        Assert.That(onReplica - onPrimary, Is.GreaterThanOrEqualTo(30), $"replica {onReplica}, primary {onPrimary}");
    }

    [Test]
    public async Task A_replica_that_stops_applying_leaves_the_rotation_a_new_link_redirects_at_once_and_the_replica_comes_back()
    {
        await ExecuteOnAsync(topology.Replica(1), "STOP SLAVE SQL_THREAD");
        var stopped = Stopwatch.StartNew();
        try
        {
            var code = (await CreateLinkAsync(new { url = "https://example.com/not-on-the-replica" })).GetProperty("code").GetString()!;
            using (var redirect = await Http.GetAsync($"/{code}"))
            {
                Assert.That(redirect.StatusCode, Is.EqualTo(HttpStatusCode.Found), "a miss on the replica asks the primary");
            }
            await Eventually.TrueAsync(async () => (await ListedCodesAsync()).Contains(code), TimeSpan.FromSeconds(5));
            Assert.Multiple(async () =>
            {
                Assert.That(stopped.Elapsed.TotalSeconds, Is.LessThan(MaxLagSeconds + 1.5),
                    "lists leave the replica within a second of its lag passing the limit");
                Assert.That(await InRotationAsync(), Is.False);
            });
        }
        finally
        {
            await ExecuteOnAsync(topology.Replica(1), "START SLAVE SQL_THREAD");
        }
        await Eventually.TrueAsync(async () => await InRotationAsync(), TimeSpan.FromSeconds(10));
        var before = await CounterAsync(topology.Replica(1), "Com_select");
        for (var i = 0; i < 10; i++)
        {
            (await Http.GetAsync("/api/v1/links?limit=5")).EnsureSuccessStatusCode().Dispose();
        }
        Assert.That(await CounterAsync(topology.Replica(1), "Com_select") - before, Is.GreaterThanOrEqualTo(10), "back in the rotation by itself");
    }

    [Test]
    public async Task While_the_replica_is_down_reads_go_to_the_primary_and_none_fails()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/replica-down" })).GetProperty("code").GetString()!;
        await topology.StopReplicaAsync(1);
        try
        {
            // Within a heartbeat: until then a read on a connection the replica dropped may fail.
            await Eventually.TrueAsync(async () => !await InRotationAsync(), TimeSpan.FromSeconds(2));
            for (var i = 0; i < 20; i++)
            {
                using var list = await Http.GetAsync("/api/v1/links?limit=5");
                using var stats = await Http.GetAsync($"/api/v1/links/{code}/stats");
                using var redirect = await Http.GetAsync($"/{code}");
                Assert.That((list.StatusCode, stats.StatusCode, redirect.StatusCode), Is.EqualTo((HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Found)));
            }
            Assert.That(await InRotationAsync(), Is.False);
        }
        finally
        {
            await topology.StartReplicaAsync(1);
        }
        await Eventually.TrueAsync(async () => await InRotationAsync(), TimeSpan.FromSeconds(30));
        var before = await CounterAsync(topology.Replica(1), "Com_select");
        for (var i = 0; i < 10; i++)
        {
            using var list = await Http.GetAsync("/api/v1/links?limit=5");
            Assert.That(list.StatusCode, Is.EqualTo(HttpStatusCode.OK), "none of the connections it dropped is used again");
        }
        Assert.That(await CounterAsync(topology.Replica(1), "Com_select") - before, Is.GreaterThanOrEqualTo(10), "read from it again");
    }

    private async Task<bool> InRotationAsync() =>
        await PrometheusText.SumAsync(Http, "shortlink_database_replica_in_rotation", "replica=\"0\"") == 1;

    private async Task<List<string>> ListedCodesAsync()
    {
        var page = await Http.GetFromJsonAsync<JsonElement>("/api/v1/links?limit=20");
        return [.. page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("code").GetString()!)];
    }

    private async Task<long> LinksOnReplicaAsync()
    {
        await using var connection = new MySqlConnection(Unpooled(Replica));
        return await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM links");
    }

    private static async Task<long> CounterAsync(string server, string name)
    {
        await using var connection = new MySqlConnection(Unpooled(server));
        return (await connection.QuerySingleAsync<(string Name, long Value)>("SHOW GLOBAL STATUS LIKE @name", new { name })).Value;
    }

    private static async Task ExecuteOnAsync(string server, string sql)
    {
        await using var connection = new MySqlConnection(Unpooled(server));
        await connection.ExecuteAsync(sql);
    }

    /// <summary>The test's own connections are not pooled: a pooled one would outlive the replica the test stops.</summary>
    private static string Unpooled(string server) => new MySqlConnectionStringBuilder(server) { Pooling = false }.ConnectionString;
}
