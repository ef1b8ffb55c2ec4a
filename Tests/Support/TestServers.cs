using System.Diagnostics;
using MySqlConnector;
using Testcontainers.MySql;
using Testcontainers.Redis;

namespace Shortlink.Tests.Support;

/// <summary>
/// The real servers the integration tests run against: a Testcontainers MySQL (the image from
/// SHORTLINK_TEST_MYSQL_IMAGE, mysql:8.4 by default, mariadb:10.11 here) and redis:7 when
/// SHORTLINK_TEST_SERVERS=containers, or the private MariaDB and Redis that ops/stack started when it is
/// "local". Started once, on first use, so unit-only runs need no server.
/// </summary>
internal static class TestServers
{
    private static readonly Lazy<Task<DatabaseServer>> Database = new(StartDatabaseAsync);
    private static readonly Lazy<Task<string>> Redis = new(StartRedisAsync);
    private static MySqlContainer? container;
    private static RedisContainer? redisContainer;

    public static string Mode =>
        Environment.GetEnvironmentVariable("SHORTLINK_TEST_SERVERS")
        ?? (File.Exists("/var/run/docker.sock") ? "containers" : "local");

    public static Task<DatabaseServer> DatabaseAsync() => Database.Value;

    /// <summary>The shared Redis, as a StackExchange.Redis configuration; fixtures keep apart by key prefix.</summary>
    public static Task<string> RedisAsync() => Redis.Value;

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
