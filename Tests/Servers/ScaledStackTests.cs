using Dapper;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Tests.Servers;

/// <summary>
/// <c>ops/stack up scaled</c>, the topology the data tier's routing runs on: each shard's primary replicates to its
/// own read-only replica and to nothing else, and <c>ops/stack status scaled</c> tells a replica that has stopped
/// applying, and how far behind it is.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ScaledStackTests
{
    private ScaledTopology topology = null!;
    private string database = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        topology = await ScaledTopology.StartAsync();
        database = $"t_{Guid.NewGuid():N}"[..18];
        for (var shard = 1; shard <= ScaledTopology.Shards; shard++)
        {
            await ExecuteAsync(topology.Primary(shard), $"CREATE DATABASE `{database}`; CREATE TABLE `{database}`.notes (id INT PRIMARY KEY, shard INT NOT NULL)");
        }
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await topology.DisposeAsync();

    [Test]
    public async Task Each_primary_s_writes_reach_its_own_replica_and_no_other_shard()
    {
        await ExecuteAsync(topology.Primary(1), $"INSERT INTO `{database}`.notes VALUES (1, 1)");
        await ExecuteAsync(topology.Primary(2), $"INSERT INTO `{database}`.notes VALUES (2, 2)");
        for (var shard = 1; shard <= ScaledTopology.Shards; shard++)
        {
            var (replica, other) = (topology.Replica(shard), 3 - shard);
            var written = shard;
            await Eventually.TrueAsync(async () => (await NotesAsync(replica)).Contains(written), TimeSpan.FromSeconds(10));
            Assert.Multiple(async () =>
            {
                Assert.That(await NotesAsync(topology.Primary(other)), Does.Not.Contain(written), "each shard holds its own rows only");
                Assert.That(await NotesAsync(topology.Replica(other)), Does.Not.Contain(written));
            });
        }
    }

    [Test]
    public void A_replica_refuses_the_application_s_writes()
    {
        var refused = Assert.ThrowsAsync<MySqlException>(() => ExecuteAsync(topology.Replica(1), $"INSERT INTO `{database}`.notes VALUES (99, 1)"));
        Assert.That(refused!.ErrorCode, Is.EqualTo(MySqlErrorCode.OptionPreventsStatement), "read_only, which the application user cannot bypass");
    }

    [Test]
    public async Task A_replica_that_stops_applying_falls_behind_status_says_so_and_up_makes_it_follow_again()
    {
        var replica = topology.Replica(2);
        await ExecuteAsync(replica, "STOP SLAVE SQL_THREAD");
        await ExecuteAsync(topology.Primary(2), $"INSERT INTO `{database}`.notes VALUES (20, 2)");
        var status = await topology.StatusAsync();
        var line = status.Output.Split('\n').Single(l => l.StartsWith("shard2-replica", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(status.ExitCode, Is.EqualTo(3), status.Output);
            Assert.That(line, Does.Contain("io Yes, sql No").And.Contain("(1 behind)"));
            Assert.That(status.Output.Split('\n').Single(l => l.StartsWith("shard1-replica", StringComparison.Ordinal)),
                Does.Contain("io Yes, sql Yes"), "the other shard's replica is not affected");
        });
        Assert.That(await NotesAsync(replica), Does.Not.Contain(20), "held back while its SQL thread is stopped");

        await topology.UpAsync();
        await Eventually.TrueAsync(async () => (await NotesAsync(replica)).Contains(20), TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(async () => (await topology.StatusAsync()).Output.Contains("(0 behind)"), TimeSpan.FromSeconds(10));
        var healthy = await topology.StatusAsync();
        Assert.That(healthy.ExitCode, Is.Zero, healthy.Output);
    }

    private async Task<List<int>> NotesAsync(string connectionString)
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
