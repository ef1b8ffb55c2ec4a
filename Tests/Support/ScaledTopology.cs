using System.Text;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Networks;
using MySqlConnector;

namespace Shortlink.Tests.Support;

/// <summary>
/// The data tier's scaled topology of one test fixture's own: two shards, each a MariaDB primary and a read-only
/// replica following it by GTID, reached as the application user, who may do anything but write on a read-only
/// server. Under Testcontainers it is four mariadb:10.11 containers on a network of their own (the image's
/// MARIADB_MASTER_HOST contract); on the local stack, <c>ops/stack up scaled</c> in a directory and on ports of its own.
/// </summary>
internal abstract class ScaledTopology : IAsyncDisposable
{
    public const int Shards = 2;

    public static async Task<ScaledTopology> StartAsync() =>
        TestServers.Mode == "local" ? await StackTopology.StartAsync() : await ContainerTopology.StartAsync();

    /// <summary>The application user on shard's (1-based) primary.</summary>
    public abstract string Primary(int shard);

    public abstract string Replica(int shard);

    /// <summary>Stops shard's replica as a crash or maintenance would; its primary goes on.</summary>
    public abstract Task StopReplicaAsync(int shard);

    /// <summary>Starts it again on the same port and data; it follows its primary from where it stopped.</summary>
    public abstract Task StartReplicaAsync(int shard);

    public abstract ValueTask DisposeAsync();

    protected static string ConnectionString(string host, int port) =>
        new MySqlConnectionStringBuilder { Server = host, Port = (uint)port, UserID = "shortlink", Password = "shortlink" }.ConnectionString;
}

/// <summary>The scaled topology as <c>ops/stack up scaled</c> starts it: private processes of Debian's MariaDB.</summary>
internal sealed class StackTopology : ScaledTopology
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), $"shortlink-scaled-{Guid.NewGuid():N}");
    private readonly int firstPort = Ports.FreeConsecutive(2 * Shards);

    private Dictionary<string, string> Environment => new()
    {
        ["SHORTLINK_STACK_DIR"] = directory,
        ["SHORTLINK_SCALED_PORT"] = firstPort.ToString(),
    };

    public static new async Task<StackTopology> StartAsync()
    {
        var topology = new StackTopology();
        await topology.UpAsync();
        return topology;
    }

    public override string Primary(int shard) => ConnectionString("127.0.0.1", firstPort + 2 * (shard - 1));

    public override string Replica(int shard) => ConnectionString("127.0.0.1", firstPort + 2 * (shard - 1) + 1);

    public Task<LocalStack.Result> UpAsync() => LocalStack.RunOrThrowAsync(Environment, "up", "scaled");

    public Task<LocalStack.Result> StatusAsync() => LocalStack.RunAsync(Environment, "status", "scaled");

    public override async ValueTask DisposeAsync() => await LocalStack.RunAsync(Environment, "down", "--purge", "scaled");

    public override async Task StopReplicaAsync(int shard)
    {
        await using (var connection = new MySqlConnection(Replica(shard)))
        {
            await connection.OpenAsync();
            await using var shutdown = new MySqlCommand("SHUTDOWN", connection);
            try
            {
                await shutdown.ExecuteNonQueryAsync();
            }
            // The server may close this connection among the others before it answers (1927: MariaDB's ER_CONNECTION_KILLED).
            catch (Exception exception) when (exception is MySqlException { Number: 1927 } or MySqlException { ErrorCode: MySqlErrorCode.ServerShutdown }
                                                  or MySqlEndOfStreamException)
            {
            }
        }
        var port = firstPort + 2 * (shard - 1) + 1;
        await Eventually.TrueAsync(() => Task.FromResult(!Ports.IsListening(port)), TimeSpan.FromSeconds(30));
    }

    /// <summary>ops/stack starts what is stopped and leaves the rest.</summary>
    public override async Task StartReplicaAsync(int shard) => await UpAsync();
}

/// <summary>The scaled topology as containers: each primary first, then its replica, which follows it by its network alias.</summary>
internal sealed class ContainerTopology : ScaledTopology
{
    /// <summary>MariaDB's replication contract (MARIADB_MASTER_HOST); mysql:8.4's differs, and the scaled topology is MariaDB's.</summary>
    private const string Image = "mariadb:10.11";

    /// <summary>Run on every server, unlogged: each has the user of its own, as ops/stack's replicas get it by replication.</summary>
    private static readonly byte[] ApplicationUser = Encoding.UTF8.GetBytes("""
        SET SESSION sql_log_bin = 0;
        CREATE USER 'shortlink'@'%' IDENTIFIED BY 'shortlink';
        GRANT ALL PRIVILEGES ON *.* TO 'shortlink'@'%';
        REVOKE READ_ONLY ADMIN ON *.* FROM 'shortlink'@'%';
        """);

    private readonly INetwork network;
    private readonly List<IContainer> servers = [];

    /// <summary>Fixed host ports, so that a replica stopped and started again is where the service's configuration says.</summary>
    private readonly int firstPort = Ports.FreeConsecutive(2 * Shards);

    private ContainerTopology(INetwork network) => this.network = network;

    public static new async Task<ContainerTopology> StartAsync()
    {
        var network = new NetworkBuilder().Build();
        await network.CreateAsync();
        var topology = new ContainerTopology(network);
        try
        {
            for (var shard = 1; shard <= Shards; shard++)
            {
                var primary = $"shard{shard}-primary";
                await topology.StartServerAsync(primary, ["--server-id=" + (shard * 10 + 1), "--log-bin=mariadb-bin", "--binlog-format=ROW"], []);
                await topology.StartServerAsync($"shard{shard}-replica", ["--server-id=" + (shard * 10 + 2), "--read-only=ON", "--relay-log=relay-bin"],
                    [("MARIADB_MASTER_HOST", primary)]);
            }
        }
        catch
        {
            await topology.DisposeAsync();
            throw;
        }
        return topology;
    }

    private async Task StartServerAsync(string name, string[] arguments, (string Name, string Value)[] environment)
    {
        var builder = new ContainerBuilder(Image)
            .WithNetwork(network)
            .WithNetworkAliases(name)
            .WithEnvironment("MARIADB_ROOT_PASSWORD", "shortlink")
            .WithEnvironment("MARIADB_REPLICATION_USER", "replicator")
            .WithEnvironment("MARIADB_REPLICATION_PASSWORD", "replicator")
            .WithResourceMapping(ApplicationUser, "/docker-entrypoint-initdb.d/application-user.sql")
            .WithCommand([.. arguments, "--gtid-strict-mode=ON", "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci"])
            .WithPortBinding(firstPort + servers.Count, 3306)
            .WithWaitStrategy(Wait.ForUnixContainer().UntilCommandIsCompleted("healthcheck.sh", "--connect"));
        foreach (var (variable, value) in environment)
        {
            builder = builder.WithEnvironment(variable, value);
        }
        var server = builder.Build();
        servers.Add(server);
        await server.StartAsync();
    }

    public override string Primary(int shard) => Server(2 * (shard - 1));

    public override string Replica(int shard) => Server(2 * (shard - 1) + 1);

    public override Task StopReplicaAsync(int shard) => servers[2 * (shard - 1) + 1].StopAsync();

    public override Task StartReplicaAsync(int shard) => servers[2 * (shard - 1) + 1].StartAsync();

    private string Server(int index) => ConnectionString(servers[index].Hostname, firstPort + index);

    public override async ValueTask DisposeAsync()
    {
        foreach (var server in servers)
        {
            await server.DisposeAsync();
        }
        await network.DisposeAsync();
    }
}
