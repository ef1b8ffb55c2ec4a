using System.Diagnostics;
using MySqlConnector;
using Testcontainers.MySql;
using Testcontainers.RabbitMq;
using Testcontainers.Redis;

namespace Shortlink.Tests.Support;

/// <summary>
/// The real servers the integration tests run against: a Testcontainers MySQL (the image from
/// SHORTLINK_TEST_MYSQL_IMAGE, mysql:8.4 by default, mariadb:10.11 here), redis:7 and rabbitmq:3-management when
/// SHORTLINK_TEST_SERVERS=containers, or the private MariaDB, Redis and RabbitMQ that ops/stack started when it is
/// "local". Started once, on first use, so unit-only runs need no server.
/// </summary>
internal static class TestServers
{
    private static readonly Lazy<Task<DatabaseServer>> Database = new(StartDatabaseAsync);
    private static readonly Lazy<Task<string>> Redis = new(StartRedisAsync);
    private static readonly Lazy<Task<string>> RabbitMq = new(StartRabbitMqAsync);
    private static MySqlContainer? container;
    private static RedisContainer? redisContainer;
    private static RabbitMqContainer? rabbitMqContainer;

    public static string Mode =>
        Environment.GetEnvironmentVariable("SHORTLINK_TEST_SERVERS")
        ?? (File.Exists("/var/run/docker.sock") ? "containers" : "local");

    public static Task<DatabaseServer> DatabaseAsync() => Database.Value;

    /// <summary>The shared Redis, as a StackExchange.Redis configuration; fixtures keep apart by key prefix.</summary>
    public static Task<string> RedisAsync() => Redis.Value;

    /// <summary>The shared RabbitMQ, as an AMQP URI; fixtures keep apart by queue name.</summary>
    public static Task<string> RabbitMqAsync() => RabbitMq.Value;

    public const string RabbitMqImage = "rabbitmq:3-management";

    private static async Task<string> StartRabbitMqAsync()
    {
        if (Mode == "local")
        {
            return Environment.GetEnvironmentVariable("SHORTLINK_TEST_RABBITMQ") ?? "amqp://shortlink:shortlink@127.0.0.1:5673/shortlink";
        }
        rabbitMqContainer = new RabbitMqBuilder(RabbitMqImage).Build();
        await rabbitMqContainer.StartAsync();
        return rabbitMqContainer.GetConnectionString();
    }

    private static async Task<string> StartRedisAsync()
    {
        if (Mode == "local")
        {
            return Environment.GetEnvironmentVariable("SHORTLINK_TEST_REDIS") ?? "127.0.0.1:6380";
        }
        redisContainer = new RedisBuilder("redis:7").Build();
        await redisContainer.StartAsync();
        return redisContainer.GetConnectionString();
    }

    private static async Task<DatabaseServer> StartDatabaseAsync()
    {
        if (Mode == "local")
        {
            var local = Environment.GetEnvironmentVariable("SHORTLINK_TEST_MYSQL")
                        ?? "Server=127.0.0.1;Port=3307;User ID=shortlink;Password=shortlink";
            return new DatabaseServer(local);
        }
        var image = Environment.GetEnvironmentVariable("SHORTLINK_TEST_MYSQL_IMAGE") ?? "mysql:8.4";
        container = new MySqlBuilder(image)
            .WithUsername("root")
            .WithPassword("shortlink")
            .WithCommand("--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci", "--max-connections=1000")
            .Build();
        await container.StartAsync();
        var builder = new MySqlConnectionStringBuilder(container.GetConnectionString()) { Database = "" };
        return new DatabaseServer(builder.ConnectionString);
    }

    public static async Task StopAsync()
    {
        if (container is not null)
        {
            await container.DisposeAsync();
        }
        if (redisContainer is not null)
        {
            await redisContainer.DisposeAsync();
        }
        if (rabbitMqContainer is not null)
        {
            await rabbitMqContainer.DisposeAsync();
        }
    }
}

/// <summary>
/// A Redis of one test's own, which the test may stop and start again on the same port: a redis:7 container with a
/// fixed port binding, or a redis-server process (Debian's, which ops/stack installs) on the local stack.
/// </summary>
internal sealed class DisposableRedis : IAsyncDisposable
{
    private readonly int port = Ports.FreeLoopbackPort();
    private RedisContainer? container;
    private Process? process;

    private bool running;

    public string Configuration => $"127.0.0.1:{port}";

    /// <summary>Starts it, unless it runs already.</summary>
    public async Task StartAsync()
    {
        if (running)
        {
            return;
        }
        running = true;
        if (TestServers.Mode == "local")
        {
            process = Process.Start(new ProcessStartInfo("redis-server",
                ["--bind", "127.0.0.1", "--port", port.ToString(), "--save", "", "--appendonly", "no"])
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            })!;
            await Eventually.TrueAsync(() => Task.FromResult(Ports.IsListening(port)), TimeSpan.FromSeconds(10));
            return;
        }
        container ??= new RedisBuilder("redis:7").WithPortBinding(port, 6379).Build();
        await container.StartAsync();
    }

    public async Task StopAsync()
    {
        running = false;
        if (process is not null)
        {
            process.Kill();
            await process.WaitForExitAsync();
            process.Dispose();
            process = null;
        }
        if (container is not null)
        {
            await container.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (container is not null)
        {
            await container.DisposeAsync();
        }
    }
}

/// <summary>
/// A RabbitMQ of one test's own, which the test may stop and start again on the same port: a rabbitmq:3-management
/// container with a fixed port binding, or a node of its own started by ops/stack (own directory, ports, epmd) on
/// the local stack. Its data survives a stop, as a broker's does when it restarts.
/// </summary>
internal sealed class DisposableRabbitMq : IAsyncDisposable
{
    private readonly int port = FreePortWithNeighbours();
    private readonly string directory = Path.Combine(Path.GetTempPath(), $"shortlink-rabbitmq-{Guid.NewGuid():N}");
    private RabbitMqContainer? container;
    private bool running;

    public string ConnectionString => TestServers.Mode == "local"
        ? $"amqp://shortlink:shortlink@127.0.0.1:{port}/shortlink"
        : $"amqp://rabbitmq:rabbitmq@127.0.0.1:{port}/";

    public async Task StartAsync()
    {
        if (running)
        {
            return;
        }
        running = true;
        if (TestServers.Mode == "local")
        {
            await StackAsync("up");
            return;
        }
        container ??= new RabbitMqBuilder(TestServers.RabbitMqImage).WithPortBinding(port, 5672).Build();
        await container.StartAsync();
    }

    public async Task StopAsync()
    {
        if (!running)
        {
            return;
        }
        running = false;
        if (TestServers.Mode == "local")
        {
            await StackAsync("down");
        }
        else if (container is not null)
        {
            await container.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (container is not null)
        {
            await container.DisposeAsync();
        }
        if (TestServers.Mode == "local")
        {
            await StackAsync("down", "--purge");
        }
    }

    private async Task StackAsync(params string[] arguments) => await LocalStack.RunOrThrowAsync(
        new Dictionary<string, string> { ["SHORTLINK_STACK_DIR"] = directory, ["SHORTLINK_RABBITMQ_PORT"] = port.ToString() },
        [.. arguments, "rabbitmq"]);

    /// <summary>
    /// A port whose neighbours ops/stack gives the node (management +10000, Prometheus +10020, distribution +20000) are
    /// free too, all of them below the kernel's ephemeral range: there, any outgoing connection of the suite's may hold
    /// one as its local port at the moment the node binds it (the distribution port once failed so).
    /// </summary>
    private static int FreePortWithNeighbours()
    {
        var highest = Ports.EphemeralLow - 1 - 20_000;
        while (true)
        {
            var candidate = Random.Shared.Next(10_000, highest);
            if (new[] { candidate, candidate + 10_000, candidate + 10_020, candidate + 20_000 }.All(Ports.IsFree))
            {
                return candidate;
            }
        }
    }
}

/// <summary>The repository's working tree, for the tests that run its scripts.</summary>
internal static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ops", "stack")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"No ops/stack above {AppContext.BaseDirectory}");
    }
}


internal sealed class DatabaseServer(string adminConnectionString)
{
    /// <summary>Creates an empty database of its own for one fixture and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"t_{Guid.NewGuid():N}"[..18];
        await ExecuteAsync($"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
        return new MySqlConnectionStringBuilder(adminConnectionString) { Database = name }.ConnectionString;
    }

    public Task DropDatabaseAsync(string connectionString) =>
        ExecuteAsync($"DROP DATABASE IF EXISTS `{new MySqlConnectionStringBuilder(connectionString).Database}`");

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new MySqlConnection(adminConnectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
