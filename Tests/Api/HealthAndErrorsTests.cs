using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NUnit.Framework;
using Shortlink.Tests.Support;
using static Shortlink.Tests.Support.PrometheusText;

namespace Shortlink.Tests.Api;

public sealed class HealthAndErrorsTests : ApiTestBase
{
    /// <summary>AddProblemDetails puts the framework's source-generated context first; a flood of 404s costs no reflection.</summary>
    [Test]
    public void Problem_bodies_are_written_from_source_generated_metadata()
    {
        var json = App.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value;
        Assert.Multiple(() =>
        {
            Assert.That(json.SerializerOptions.GetTypeInfo(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails)).OriginatingResolver,
                Is.InstanceOf<System.Text.Json.Serialization.JsonSerializerContext>());
            Assert.That(json.SerializerOptions.GetTypeInfo(typeof(Microsoft.AspNetCore.Http.HttpValidationProblemDetails)).OriginatingResolver,
                Is.InstanceOf<System.Text.Json.Serialization.JsonSerializerContext>());
        });
    }

    [Test]
    public async Task Live_and_ready_answer_200_on_a_migrated_database()
    {
        using var live = await Http.GetAsync("/health/live");
        using var ready = await Http.GetAsync("/health/ready");
        Assert.Multiple(() =>
        {
            Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [TestCase("POST", "/health/ready")]
    [TestCase("DELETE", "/health/live")]
    [TestCase("PUT", "/metrics")]
    public async Task Health_and_metrics_answer_get_and_head_only(string method, string path)
    {
        using var refused = await Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        using var head = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));
        await AssertProblemAsync(refused, HttpStatusCode.MethodNotAllowed, "urn:shortlink:problem:method-not-allowed");
        Assert.Multiple(() =>
        {
            Assert.That(refused.Content.Headers.Allow, Is.EquivalentTo(new[] { "GET", "HEAD" }));
            Assert.That(head.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    public async Task Metrics_count_created_links_and_redirects()
    {
        await CreateLinkAsync(new { url = "https://example.com/metrics", slug = "metered" });
        (await Http.GetAsync("/metered")).Dispose();
        // The exporter keeps a scrape for a moment: wait for one taken after the requests above.
        var before = "";
        await Eventually.TrueAsync(async () =>
        {
            before = await Http.GetStringAsync("/metrics");
            return before.Contains("shortlink_links_created_total{", StringComparison.Ordinal)
                   && before.Contains("shortlink_redirects_total{", StringComparison.Ordinal);
        });
        await CreateLinkAsync(new { url = "https://example.com/metrics-2", slug = "metered-2" });
        (await Http.GetAsync("/metered")).Dispose();
        (await Http.GetAsync("/metered-2")).Dispose();
        string[] redirected = ["outcome=\"redirected\"", "http_response_status_code=\"302\""];
        var after = before;
        await Eventually.TrueAsync(async () =>
        {
            after = await Http.GetStringAsync("/metrics");
            return Sample(after, "shortlink_redirects_total", redirected) > Sample(before, "shortlink_redirects_total", redirected);
        });
        Assert.Multiple(() =>
        {
            Assert.That(Sample(after, "shortlink_links_created_total") - Sample(before, "shortlink_links_created_total"), Is.EqualTo(1));
            Assert.That(Sample(after, "shortlink_redirects_total", redirected) - Sample(before, "shortlink_redirects_total", redirected),
                Is.EqualTo(2));
            Assert.That(after, Does.Contain("http_server_request_duration_seconds_bucket"));
        });
    }

    [Test]
    public async Task Unknown_routes_answer_a_404_problem()
    {
        using var response = await Http.GetAsync("/api/v1/nothing/here");
        await AssertProblemAsync(response, HttpStatusCode.NotFound, "urn:shortlink:problem:not-found");
    }

    [TestCase("GET", "/a/b/c", null, 404)]
    [TestCase("GET", "/a/b/c", "application/xml", 404)]
    [TestCase("GET", "/api/v1/nothing", "text/html", 404)]
    [TestCase("PUT", "/abc", null, 405)]
    [TestCase("PUT", "/abc", "application/xml", 405)]
    [TestCase("PUT", "/api/v1/links/abc", "text/html", 405)]
    public async Task Unmatched_requests_answer_the_one_problem_model_whatever_the_accept_header(string method, string path, string? accept, int status)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (accept is not null)
        {
            request.Headers.Accept.ParseAdd(accept);
        }
        using var response = await Http.SendAsync(request);
        var problem = await AssertProblemAsync(response, (HttpStatusCode)status,
            status == 404 ? "urn:shortlink:problem:not-found" : "urn:shortlink:problem:method-not-allowed");
        Assert.Multiple(() =>
        {
            Assert.That(problem.GetProperty("detail").GetString(), Is.Not.Empty);
            Assert.That(response.Headers.Vary, Is.EqualTo(new[] { "Accept" }));
        });
    }

    [TestCase("GET", "/a/b/c", 404)]
    [TestCase("PUT", "/abc", 405)]
    public async Task A_browser_gets_a_page_for_an_unmatched_visitor_path(string method, string path, int status)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Accept.ParseAdd("text/html,application/xhtml+xml,*/*;q=0.8");
        using var response = await Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(status));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(body, Does.StartWith("<!doctype html>").And.Not.Contain("Status Code:"));
        });
    }

    [Test]
    public async Task Wrong_methods_answer_a_405_problem()
    {
        using var response = await Http.PutAsync("/api/v1/links/abc", new StringContent("{}"));
        await AssertProblemAsync(response, HttpStatusCode.MethodNotAllowed, "urn:shortlink:problem:method-not-allowed");
    }
}

/// <summary>
/// A service whose database is unreachable: readiness fails, and requests get 503 with Retry-After (the
/// database is down, nothing is wrong with the request), logged once rather than once per request.
/// </summary>
public sealed class UnreachableDatabaseTests
{
    private ShortlinkApp app = null!;
    private HttpClient http = null!;

    [OneTimeSetUp]
    public void Start()
    {
        app = new ShortlinkApp("Server=127.0.0.1;Port=1;User ID=nobody;Password=secret-password;Database=none;Connection Timeout=1",
            new Dictionary<string, string?> { ["Shortlink:Database:MigrateOnStartup"] = "false" });
        var port = Ports.FreeLoopbackPort();
        app.UseKestrel(port);
        app.StartServer();
        http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        TestKeys.Authorize(http, TestKeys.Admin);
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        http.Dispose();
        await app.DisposeAsync();
    }

    [Test]
    public async Task Ready_answers_503()
    {
        using var response = await http.GetAsync("/health/ready");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
    }

    [TestCase("/api/v1/links")]
    [TestCase("/api/v1/links/some-code")]
    [TestCase("/some-code")]
    public async Task A_database_that_is_down_is_a_503_with_retry_after_and_no_internals(string path)
    {
        using var response = await http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(response.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(2)));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(problem.GetProperty("type").GetString(), Is.EqualTo("urn:shortlink:problem:service-unavailable"));
            Assert.That(problem.GetProperty("traceId").GetString(), Has.Length.EqualTo(32));
            Assert.That(body, Does.Not.Contain("MySql").And.Not.Contain("   at ").And.Not.Contain("SELECT").And.Not.Contain("secret-password"));
        });
    }

    [Test]
    public async Task The_outage_is_logged_once_not_once_per_request()
    {
        for (var i = 0; i < 5; i++)
        {
            (await http.GetAsync("/api/v1/links")).Dispose();
        }
        var warnings = app.Logs.Events.Where(e => e.Level >= Serilog.Events.LogEventLevel.Warning).Select(e => e.RenderMessage()).ToList();
        Assert.That(warnings, Has.Count.EqualTo(1).And.Some.Contains("The database").And.Some.Contains("unavailable"), string.Join('\n', warnings));
    }
}

/// <summary>A database one migration behind: not ready, although Evolve's own marker row is in the changelog.</summary>
public sealed class PendingMigrationReadinessTests
{
    [Test]
    public async Task Ready_answers_503_while_the_latest_migration_is_not_applied()
    {
        var server = await TestServers.DatabaseAsync();
        var connectionString = await server.CreateDatabaseAsync();
        try
        {
            await using var app = new ShortlinkApp(connectionString);
            using var http = app.CreateClient();
            using var migrated = await http.GetAsync("/health/ready");
            await using (var connection = new MySqlConnector.MySqlConnection(connectionString))
            {
                await Dapper.SqlMapper.ExecuteAsync(connection,
                    "DELETE FROM schema_changelog WHERE version = (SELECT v FROM (SELECT MAX(CAST(version AS UNSIGNED)) AS v FROM schema_changelog) latest)");
            }
            using var behind = await http.GetAsync("/health/ready");
            Assert.Multiple(async () =>
            {
                Assert.That(migrated.StatusCode, Is.EqualTo(HttpStatusCode.OK));
                Assert.That(behind.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
                Assert.That(await behind.Content.ReadAsStringAsync(), Is.EqualTo("Unhealthy"));
            });
        }
        finally
        {
            await server.DropDatabaseAsync(connectionString);
        }
    }
}

/// <summary>A fresh database that nobody migrated: not ready until the migrate command has run.</summary>
public sealed class MigrationReadinessTests
{
    [Test]
    public async Task Ready_waits_for_the_migrations_and_migrating_twice_is_harmless()
    {
        var server = await TestServers.DatabaseAsync();
        var connectionString = await server.CreateDatabaseAsync();
        try
        {
            await using var app = new ShortlinkApp(connectionString,
                new Dictionary<string, string?> { ["Shortlink:Database:MigrateOnStartup"] = "false" });
            using var http = app.CreateClient();
            using var before = await http.GetAsync("/health/ready");
            var migrator = app.Services.GetRequiredService<Shortlink.Infrastructure.Data.Migrator>();
            await migrator.MigrateAsync(CancellationToken.None);
            await migrator.MigrateAsync(CancellationToken.None);
            using var after = await http.GetAsync("/health/ready");
            Assert.Multiple(() =>
            {
                Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
                Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            });
        }
        finally
        {
            await server.DropDatabaseAsync(connectionString);
        }
    }
}

/// <summary>
/// The in-memory service stops its host once, as a real process does, so a hosted service's last flush never
/// meets a provider that a second, concurrent stop already disposed.
/// </summary>
public sealed class InMemoryServiceStopTests : ApiTestBase
{
    [Test]
    public async Task Disposing_the_in_memory_service_stops_each_hosted_service_once()
    {
        var probe = new StopProbe();
        await using (var app = new ShortlinkApp(ConnectionString).WithWebHostBuilder(builder =>
            builder.ConfigureTestServices(services => services.AddHostedService(_ => probe))))
        {
            app.CreateClient().Dispose();
        }
        Assert.That(probe.Stops, Is.EqualTo(1));
    }

    private sealed class StopProbe : IHostedService
    {
        private int stops;

        public int Stops => Volatile.Read(ref stops);

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref stops);
            // Long enough for a second stop, if one runs, to reach this service too.
            await Task.Delay(TimeSpan.FromMilliseconds(300), CancellationToken.None);
        }
    }
}
