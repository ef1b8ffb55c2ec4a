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
/// The service on shard 1 of the scaled topology, its replica configured and the cache off, so that every redirect
/// is a miss to route; each test starts with the replica in the read rotation.
/// </summary>
public abstract class ReplicaApiTestBase : ApiTestBase
{

    private protected ScaledTopology Topology { get; private set; } = null!;

    /// <summary>How often the fixture's service measures the replica.</summary>
    protected abstract int HeartbeatMilliseconds { get; }

    /// <summary>How far the replica may trail before it leaves the rotation: at least two heartbeats.</summary>
    protected abstract double MaxLagSeconds { get; }

    private protected override async Task<DatabaseServer> DatabaseServerAsync()
    {
        Topology = await ScaledTopology.StartAsync();
        return new DatabaseServer(Topology.Primary(1));
    }

    private protected override async ValueTask StopServersAsync() => await Topology.DisposeAsync();

    protected string Replica => new MySqlConnectionStringBuilder(Topology.Replica(1)) { Database = new MySqlConnectionStringBuilder(ConnectionString).Database }
        .ConnectionString;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:Database:Replicas:0"] = Replica,
        ["Shortlink:Database:MaxReplicaLagSeconds"] = MaxLagSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Shortlink:Database:HeartbeatMilliseconds"] = HeartbeatMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Shortlink:Cache:Enabled"] = "false",
    };

    [SetUp]
    public async Task WaitForTheReplicaAsync() => await Eventually.TrueAsync(async () => await InRotationAsync(), TimeSpan.FromSeconds(30));

    protected async Task<bool> InRotationAsync(int shard = 0) =>
        await PrometheusText.SumAsync(Http, "shortlink_database_replica_in_rotation", $"shard=\"{shard}\"", "replica=\"0\"") == 1;

    protected static async Task<long> CounterAsync(string server, string name)
    {
        await using var connection = new MySqlConnection(Unpooled(server));
        return (await connection.QuerySingleAsync<(string Name, long Value)>("SHOW GLOBAL STATUS LIKE @name", new { name })).Value;
    }

    protected static async Task ExecuteOnAsync(string server, string sql)
    {
        await using var connection = new MySqlConnection(Unpooled(server));
        await connection.ExecuteAsync(sql);
    }

    /// <summary>The test's own connections are not pooled: a pooled one would outlive the replica the test stops.</summary>
    protected static string Unpooled(string server) => new MySqlConnectionStringBuilder(server) { Pooling = false }.ConnectionString;
}

/// <summary>
/// Lists, stats and redirect misses read from the replica while it keeps up, writes go to the primary, and a replica
/// that falls behind or goes away leaves the read rotation by itself, without a failed request, and comes back by itself.
/// </summary>
[TestFixture]
public sealed class ReadReplicaApiTests : ReplicaApiTestBase
{
    protected override int HeartbeatMilliseconds => 250;

    protected override double MaxLagSeconds => 0.5;

    [Test]
    public async Task Lists_stats_and_redirect_misses_read_from_the_replica_and_writes_go_to_the_primary()
    {
        var codes = new List<string>();
        var primaryInserts = await CounterAsync(Topology.Primary(1), "Com_insert");
        for (var i = 0; i < 10; i++)
        {
            codes.Add((await CreateLinkAsync(new { url = $"https://example.com/replicated/{i}" })).GetProperty("code").GetString()!);
        }
        Assert.That(await CounterAsync(Topology.Primary(1), "Com_insert") - primaryInserts, Is.GreaterThanOrEqualTo(10), "created on the primary");
        await Eventually.TrueAsync(async () => await LinksOnReplicaAsync() >= 10, TimeSpan.FromSeconds(10));

        var (replicaBefore, primaryBefore) = (await CounterAsync(Topology.Replica(1), "Com_select"), await CounterAsync(Topology.Primary(1), "Com_select"));
        foreach (var code in codes)
        {
            (await Http.GetAsync("/api/v1/links?limit=5")).EnsureSuccessStatusCode().Dispose();
            (await Http.GetAsync($"/api/v1/links/{code}/stats")).EnsureSuccessStatusCode().Dispose();
            using var redirect = await Http.GetAsync($"/{code}");
            Assert.That(redirect.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        }
        var (onReplica, onPrimary) = (await CounterAsync(Topology.Replica(1), "Com_select") - replicaBefore,
            await CounterAsync(Topology.Primary(1), "Com_select") - primaryBefore);
        // Both also answer the heartbeat, a query each per beat: the replica's extra queries are the 30 reads.
        Assert.That(onReplica - onPrimary, Is.GreaterThanOrEqualTo(30), $"replica {onReplica}, primary {onPrimary}");
    }

    [Test]
    public async Task A_replica_that_stops_applying_leaves_the_rotation_a_new_link_redirects_at_once_and_the_replica_comes_back()
    {
        await ExecuteOnAsync(Topology.Replica(1), "STOP SLAVE SQL_THREAD");
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
            await ExecuteOnAsync(Topology.Replica(1), "START SLAVE SQL_THREAD");
        }
        await Eventually.TrueAsync(async () => await InRotationAsync(), TimeSpan.FromSeconds(10));
        var before = await CounterAsync(Topology.Replica(1), "Com_select");
        for (var i = 0; i < 10; i++)
        {
            (await Http.GetAsync("/api/v1/links?limit=5")).EnsureSuccessStatusCode().Dispose();
        }
        Assert.That(await CounterAsync(Topology.Replica(1), "Com_select") - before, Is.GreaterThanOrEqualTo(10), "back in the rotation by itself");
    }

    [Test]
    public async Task While_the_replica_is_down_reads_go_to_the_primary_and_none_fails()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/replica-down" })).GetProperty("code").GetString()!;
        await Topology.StopReplicaAsync(1);
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
            await Topology.StartReplicaAsync(1);
        }
        await Eventually.TrueAsync(async () => await InRotationAsync(), TimeSpan.FromSeconds(30));
        var before = await CounterAsync(Topology.Replica(1), "Com_select");
        for (var i = 0; i < 10; i++)
        {
            using var list = await Http.GetAsync("/api/v1/links?limit=5");
            Assert.That(list.StatusCode, Is.EqualTo(HttpStatusCode.OK), "none of the connections it dropped is used again");
        }
        Assert.That(await CounterAsync(Topology.Replica(1), "Com_select") - before, Is.GreaterThanOrEqualTo(10), "read from it again");
    }

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
}

/// <summary>
/// A replica that goes away between two heartbeats (here ten seconds apart, so that the monitor cannot notice first):
/// the redirect's lookup that meets its dead connection is answered from the primary, and the replica leaves the
/// rotation on the spot.
/// </summary>
[TestFixture]
public sealed class ReplicaGoneBetweenHeartbeatsApiTests : ReplicaApiTestBase
{
    protected override int HeartbeatMilliseconds => 10_000;

    protected override double MaxLagSeconds => 20;

    [Test]
    public async Task A_redirect_miss_on_a_replica_that_went_away_is_answered_from_the_primary()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/replica-gone" })).GetProperty("code").GetString()!;
        // Leaves a connection to the replica in the service's pool, which the replica's stop kills.
        using (var first = await Http.GetAsync($"/{code}"))
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        }
        await Topology.StopReplicaAsync(1);
        try
        {
            Assert.That(await InRotationAsync(), Is.True, "the monitor has not measured it since");
            for (var i = 0; i < 5; i++)
            {
                using var redirect = await Http.GetAsync($"/{code}");
                Assert.That(redirect.StatusCode, Is.EqualTo(HttpStatusCode.Found), "answered from the primary");
            }
            // Within two seconds, long before the next heartbeat: /metrics keeps a scrape for 300 ms.
            await Eventually.TrueAsync(async () => !await InRotationAsync(), TimeSpan.FromSeconds(2));
        }
        finally
        {
            await Topology.StartReplicaAsync(1);
        }
    }
}
