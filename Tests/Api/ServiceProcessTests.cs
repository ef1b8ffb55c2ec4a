using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Tests.Api;

/// <summary>The service binary as an operator runs it: the migrate command, JSON log lines on stdout.</summary>
public sealed class ServiceProcessTests
{
    private DatabaseServer server = null!;
    private string connectionString = "";

    [OneTimeSetUp]
    public async Task CreateDatabase()
    {
        server = await TestServers.DatabaseAsync();
        connectionString = await server.CreateDatabaseAsync();
    }

    [OneTimeTearDown]
    public Task DropDatabase() => server.DropDatabaseAsync(connectionString);

    private Dictionary<string, string> Environment(int port) => new()
    {
        ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
        ["Shortlink__Database__ConnectionString"] = connectionString,
        ["Shortlink__Database__MigrateOnStartup"] = "false",
        ["Shortlink__PublicBaseUrl"] = "https://sho.rt",
    };

    [Test, Order(1)]
    public async Task The_migrate_command_creates_the_schema_and_exits_zero()
    {
        await using var migrate = ServiceProcess.Start(Environment(0), "migrate");
        var exitCode = await migrate.WaitForExitAsync(TimeSpan.FromSeconds(60));
        await using var connection = new MySqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN ('links', 'link_tags', 'idempotency_records')",
            connection);
        Assert.Multiple(async () =>
        {
            Assert.That(exitCode, Is.Zero, string.Join('\n', migrate.Output));
            Assert.That(Convert.ToInt32(await command.ExecuteScalarAsync()), Is.EqualTo(3));
        });
    }

    [Test, Order(2)]
    public async Task Logs_are_json_lines_with_trace_ids_and_request_fields_but_no_health_checks()
    {
        var port = Ports.FreeLoopbackPort();
        await using var service = ServiceProcess.Start(Environment(port));
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await ServiceProcess.WaitUntilReadyAsync(http, TimeSpan.FromSeconds(60));
        using var created = await http.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/logged", slug = "logged" });
        using var redirect = await http.GetAsync("/logged?secret=1");
        Assert.That(redirect.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        await Task.Delay(500);

        var events = service.Output.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var requests = events.Where(e => e.TryGetProperty("RouteTemplate", out _)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(events, Is.Not.Empty);
            Assert.That(events.All(e => e.TryGetProperty("timestamp", out _) && e.TryGetProperty("level", out _) && e.TryGetProperty("message", out _)));
            Assert.That(requests.Select(r => r.GetProperty("RouteTemplate").GetString()), Is.EquivalentTo(new[] { "/api/v1/links/", "/{code}" }));
            Assert.That(requests.All(r => r.GetProperty("trace_id").GetString()!.Length == 32));
            Assert.That(requests.All(r => r.TryGetProperty("RequestMethod", out _) && r.TryGetProperty("StatusCode", out _) && r.TryGetProperty("Elapsed", out _)));
            Assert.That(requests.Any(r => r.GetProperty("RequestPath").GetString()!.Contains("health", StringComparison.Ordinal)), Is.False);
            Assert.That(string.Join('\n', service.Output), Does.Not.Contain("secret=1"));
        });
    }
}
