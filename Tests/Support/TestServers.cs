using MySqlConnector;
using NUnit.Framework;
using Testcontainers.MySql;

namespace Shortlink.Tests.Support;

/// <summary>
/// The real database server the integration tests run against: a Testcontainers MySQL (the image
/// from SHORTLINK_TEST_MYSQL_IMAGE, mysql:8.4 by default, mariadb:10.11 here) when
/// SHORTLINK_TEST_SERVERS=containers, or the private MariaDB that ops/stack started when it is
/// "local". Started once, on first use, so unit-only runs need no server.
/// </summary>
internal static class TestServers
{
    private static readonly Lazy<Task<DatabaseServer>> Database = new(StartDatabaseAsync);
    private static MySqlContainer? container;

    public static string Mode =>
        Environment.GetEnvironmentVariable("SHORTLINK_TEST_SERVERS")
        ?? (File.Exists("/var/run/docker.sock") ? "containers" : "local");

    public static Task<DatabaseServer> DatabaseAsync() => Database.Value;

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
