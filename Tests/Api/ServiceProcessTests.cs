using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Tests.Api;

/// <summary>
/// The service binary as an operator runs it: the migrate and health commands, JSON log lines on stdout.
/// Each test has a database of its own, so they run in any order.
/// </summary>
public sealed class ServiceProcessTests
{
    private readonly List<string> databases = [];
    private DatabaseServer server = null!;

    [OneTimeSetUp]
    public async Task FindServer() => server = await TestServers.DatabaseAsync();

    [TearDown]
    public async Task DropDatabases()
    {
        foreach (var database in databases)
        {
            await server.DropDatabaseAsync(database);
        }
        databases.Clear();
    }

    private async Task<Dictionary<string, string>> EnvironmentAsync(int port, bool migrateOnStartup)
    {
        var connectionString = await server.CreateDatabaseAsync();
        databases.Add(connectionString);
        return new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["Shortlink__Database__ConnectionString"] = connectionString,
            ["Shortlink__Database__MigrateOnStartup"] = migrateOnStartup ? "true" : "false",
            ["Shortlink__PublicBaseUrl"] = "https://sho.rt",
            ["Shortlink__Security__BootstrapAdminKey"] = TestKeys.Admin,
        };
    }

    [Test]
    public async Task The_migrate_command_creates_the_schema_and_exits_zero()
    {
        var environment = await EnvironmentAsync(0, migrateOnStartup: false);
        await using var migrate = ServiceProcess.Start(environment, "migrate");
        var exitCode = await migrate.WaitForExitAsync(TimeSpan.FromSeconds(60));
        await using var connection = new MySqlConnection(environment["Shortlink__Database__ConnectionString"]);
        await connection.OpenAsync();
        await using var command = new MySqlCommand(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'idempotency_records' AND column_name = 'lease_expires_at'",
            connection);
        Assert.Multiple(async () =>
        {
            Assert.That(exitCode, Is.Zero, string.Join('\n', migrate.Output));
            Assert.That(Convert.ToInt32(await command.ExecuteScalarAsync()), Is.EqualTo(1), "the latest migration is applied");
        });
    }

    [Test]
    public async Task Logs_are_json_lines_with_trace_ids_and_request_fields_but_no_health_checks()
    {
        var port = Ports.FreeLoopbackPort();
        var environment = await EnvironmentAsync(port, migrateOnStartup: true);
        // Visits are logged at Debug by default; here they are wanted, to see their fields.
        environment["Shortlink__Telemetry__VisitLogLevel"] = "Information";
        await using var service = ServiceProcess.Start(environment);
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        TestKeys.Authorize(http, TestKeys.Admin);
        await ServiceProcess.WaitUntilReadyAsync(http, TimeSpan.FromSeconds(60));
        using var created = await http.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/logged", slug = "logged" });
        using var redirect = await http.GetAsync("/logged?secret=1");
        Assert.That(redirect.StatusCode, Is.EqualTo(HttpStatusCode.Found));

        List<JsonElement> requests = [];
        await Eventually.TrueAsync(() =>
        {
            requests = service.Output.Select(line => JsonDocument.Parse(line).RootElement)
                .Where(e => e.TryGetProperty("RouteTemplate", out _)).ToList();
            return Task.FromResult(requests.Count >= 2);
        });
        var events = service.Output.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(events.All(e => e.TryGetProperty("timestamp", out _) && e.TryGetProperty("level", out _) && e.TryGetProperty("message", out _)));
            Assert.That(requests.Select(r => r.GetProperty("RouteTemplate").GetString()), Is.EquivalentTo(new[] { "/api/v1/links/", "/{code}" }));
            Assert.That(requests.All(r => r.GetProperty("trace_id").GetString()!.Length == 32));
            Assert.That(requests.All(r => r.TryGetProperty("RequestMethod", out _) && r.TryGetProperty("StatusCode", out _) && r.TryGetProperty("Elapsed", out _)));
            Assert.That(requests.Any(r => r.GetProperty("RequestPath").GetString()!.Contains("health", StringComparison.Ordinal)), Is.False);
            Assert.That(events.Any(e => e.GetProperty("message").GetString()!.Contains("https://sho.rt/", StringComparison.Ordinal)), Is.True,
                "the start-up line names the base of short URLs");
            Assert.That(string.Join('\n', service.Output), Does.Not.Contain("secret=1"));
            Assert.That(service.Output.Where(line => line.Contains("FUSION", StringComparison.Ordinal)), Is.Empty,
                "the cache library logs every call at Information; appsettings.json keeps it at Warning");
        });
    }

    [Test]
    public async Task The_keys_command_prints_a_new_key_alone_on_stdout_and_the_key_works()
    {
        var port = Ports.FreeLoopbackPort();
        var environment = await EnvironmentAsync(port, migrateOnStartup: true);
        environment.Remove("Shortlink__Security__BootstrapAdminKey");
        await using var create = ServiceProcess.Start(environment, "keys", "create", "--role", "admin", "--name", "first admin");
        var exitCode = await create.WaitForExitAsync(TimeSpan.FromSeconds(60));
        await using var wrong = ServiceProcess.Start(environment, "keys", "create", "--role", "root", "--name", "x");
        var wrongExitCode = await wrong.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var key = create.StandardOutput.Single();

        await using var service = ServiceProcess.Start(environment);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await ServiceProcess.WaitUntilReadyAsync(http, TimeSpan.FromSeconds(60));
        TestKeys.Authorize(http, key);
        var me = await http.GetFromJsonAsync<JsonElement>("/api/v1/keys/me");
        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.Zero, string.Join('\n', create.Output));
            Assert.That(key, Does.Match("^sl_live_[0-9A-Za-z]{43}$"));
            Assert.That(me.GetProperty("role").GetString(), Is.EqualTo("admin"));
            Assert.That(me.GetProperty("name").GetString(), Is.EqualTo("first admin"));
            Assert.That(wrongExitCode, Is.EqualTo(2));
            Assert.That(string.Join('\n', service.Output), Does.Not.Contain(key[14..]), "the key is never logged");
        });
    }

    [Test]
    public async Task The_health_command_exits_zero_for_a_ready_service_and_one_when_none_answers()
    {
        var port = Ports.FreeLoopbackPort();
        var environment = await EnvironmentAsync(port, migrateOnStartup: true);
        await using var service = ServiceProcess.Start(environment);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await ServiceProcess.WaitUntilReadyAsync(http, TimeSpan.FromSeconds(60));

        // As a container runs it: the address comes from ASPNETCORE_URLS, with a wildcard host.
        await using var fromEnvironment = ServiceProcess.Start(new Dictionary<string, string> { ["ASPNETCORE_URLS"] = $"http://+:{port}" }, "health");
        await using var explicitUrl = ServiceProcess.Start(new Dictionary<string, string>(), "health", $"http://127.0.0.1:{port}");
        await using var nobody = ServiceProcess.Start(new Dictionary<string, string>(), "health", $"http://127.0.0.1:{Ports.FreeLoopbackPort()}");
        Assert.Multiple(async () =>
        {
            Assert.That(await fromEnvironment.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.Zero, string.Join('\n', fromEnvironment.Output));
            Assert.That(await explicitUrl.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.Zero, string.Join('\n', explicitUrl.Output));
            Assert.That(await nobody.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(1), string.Join('\n', nobody.Output));
        });
    }
}
