using Dapper;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Tests.Servers;

/// <summary>
/// The topology the data tier's routing runs on, from either kind of servers: each shard's primary replicates to its
/// own read-only replica and to nothing else.
/// </summary>
[TestFixture]
public sealed class ScaledTopologyTests
{
    private ScaledTopology topology = null!;
    private ScaledNotes notes = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        topology = await ScaledTopology.StartAsync();
        notes = await ScaledNotes.CreateAsync(topology);
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await topology.DisposeAsync();

    [Test]
    public async Task Each_primary_s_writes_reach_its_own_replica_and_no_other_shard()
    {
        await notes.InsertAsync(topology.Primary(1), 1);
        await notes.InsertAsync(topology.Primary(2), 2);
        for (var shard = 1; shard <= ScaledTopology.Shards; shard++)
        {
            var (replica, other, written) = (topology.Replica(shard), 3 - shard, shard);
            await Eventually.TrueAsync(async () => (await notes.IdsAsync(replica)).Contains(written), TimeSpan.FromSeconds(10));
            Assert.Multiple(async () =>
            {
                Assert.That(await notes.IdsAsync(topology.Primary(other)), Does.Not.Contain(written), "each shard holds its own rows only");
                Assert.That(await notes.IdsAsync(topology.Replica(other)), Does.Not.Contain(written));
            });
        }
    }

    [Test]
    public void A_replica_refuses_the_application_s_writes()
    {
        var refused = Assert.ThrowsAsync<MySqlException>(() => notes.InsertAsync(topology.Replica(1), 99));
        Assert.That(refused!.ErrorCode, Is.EqualTo(MySqlErrorCode.OptionPreventsStatement), "read_only, which the application user cannot bypass");
    }
}

/// <summary>
/// <c>ops/stack up scaled</c> itself: <c>ops/stack status scaled</c> tells a replica that has stopped applying, and how
/// far behind it is, and <c>up</c> makes it follow again.
/// </summary>
[TestFixture]
public sealed class ScaledStackTests
{
    private StackTopology topology = null!;
    private ScaledNotes notes = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        topology = await StackTopology.StartAsync();
        notes = await ScaledNotes.CreateAsync(topology);
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await topology.DisposeAsync();

    [Test]
    public async Task A_replica_that_stops_applying_falls_behind_status_says_so_and_up_makes_it_follow_again()
    {
        var replica = topology.Replica(2);
        await using (var connection = new MySqlConnection(replica))
        {
            await connection.ExecuteAsync("STOP SLAVE SQL_THREAD");
        }
        await notes.InsertAsync(topology.Primary(2), 20);
        var status = await topology.StatusAsync();
        string Line(string server) => status.Output.Split('\n').Single(line => line.StartsWith(server, StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(status.ExitCode, Is.EqualTo(3), status.Output);
            Assert.That(Line("shard2-replica"), Does.Contain("io Yes, sql No").And.Contain("(1 behind)"));
            Assert.That(Line("shard1-replica"), Does.Contain("io Yes, sql Yes"), "the other shard's replica is not affected");
        });
        Assert.That(await notes.IdsAsync(replica), Does.Not.Contain(20), "held back while its SQL thread is stopped");

        await topology.UpAsync();
        await Eventually.TrueAsync(async () => (await notes.IdsAsync(replica)).Contains(20), TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(async () => (await topology.StatusAsync()).Output.Contains("(0 behind)"), TimeSpan.FromSeconds(10));
        var healthy = await topology.StatusAsync();
        Assert.That(healthy.ExitCode, Is.Zero, healthy.Output);
    }
}

/// <summary>A table on every shard of a topology, created on the primaries, whose rows a test follows to the replicas.</summary>
internal sealed class ScaledNotes
{
    private readonly string database = $"t_{Guid.NewGuid():N}"[..18];

    public static async Task<ScaledNotes> CreateAsync(ScaledTopology topology)
    {
        var notes = new ScaledNotes();
        for (var shard = 1; shard <= ScaledTopology.Shards; shard++)
        {
            await ExecuteAsync(topology.Primary(shard), $"CREATE DATABASE `{notes.database}`; CREATE TABLE `{notes.database}`.notes (id INT PRIMARY KEY)");
        }
        return notes;
    }

    public Task InsertAsync(string connectionString, int id) => ExecuteAsync(connectionString, $"INSERT INTO `{database}`.notes VALUES ({id})");

    public async Task<List<int>> IdsAsync(string connectionString)
    {
        await using var connection = new MySqlConnection(connectionString);
        return [.. await connection.QueryAsync<int>($"SELECT id FROM `{database}`.notes ORDER BY id")];
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new MySqlConnection(connectionString);
        await connection.ExecuteAsync(sql);
    }
}
