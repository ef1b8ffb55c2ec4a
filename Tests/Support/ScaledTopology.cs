using MySqlConnector;

namespace Shortlink.Tests.Support;

/// <summary>
/// The data tier's scaled topology of one test fixture's own: two shards, each a MariaDB primary and a read-only
/// replica following it by GTID, started by <c>ops/stack up scaled</c> in a directory and on ports of its own, and
/// deleted again when disposed. Private processes in either mode of the suite: Debian's MariaDB, as ops/stack runs it.
/// </summary>
internal sealed class ScaledTopology : IAsyncDisposable
{
    public const int Shards = 2;

    private readonly string directory = Path.Combine(Path.GetTempPath(), $"shortlink-scaled-{Guid.NewGuid():N}");
    private readonly int firstPort = FreeConsecutivePorts(2 * Shards);

    private Dictionary<string, string> Environment => new()
    {
        ["SHORTLINK_STACK_DIR"] = directory,
        ["SHORTLINK_SCALED_PORT"] = firstPort.ToString(),
    };

    public static async Task<ScaledTopology> StartAsync()
    {
        var topology = new ScaledTopology();
        await topology.UpAsync();
        return topology;
    }

    /// <summary>The application user on shard's (1-based) primary.</summary>
    public string Primary(int shard) => ConnectionString(firstPort + 2 * (shard - 1));

    public string Replica(int shard) => ConnectionString(firstPort + 2 * (shard - 1) + 1);

    public Task<LocalStack.Result> UpAsync() => LocalStack.RunOrThrowAsync(Environment, "up", "scaled");

    public Task<LocalStack.Result> StatusAsync() => LocalStack.RunAsync(Environment, "status", "scaled");

    public async ValueTask DisposeAsync() => await LocalStack.RunAsync(Environment, "down", "--purge", "scaled");

    private static string ConnectionString(int port) =>
        new MySqlConnectionStringBuilder { Server = "127.0.0.1", Port = (uint)port, UserID = "shortlink", Password = "shortlink" }.ConnectionString;

    /// <summary>Consecutive free ports below the kernel's ephemeral range, where no outgoing connection of the suite's takes one.</summary>
    private static int FreeConsecutivePorts(int count)
    {
        while (true)
        {
            var first = Random.Shared.Next(10_000, Ports.EphemeralLow - count);
            if (Enumerable.Range(first, count).All(Ports.IsFree))
            {
                return first;
            }
        }
    }
}
