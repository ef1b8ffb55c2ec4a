using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Tests.Api;

public sealed class HealthAndErrorsTests : ApiTestBase
{
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

    [Test]
    public async Task Metrics_are_served_in_prometheus_format()
    {
        await CreateLinkAsync(new { url = "https://example.com/metrics", slug = "metered" });
        (await Http.GetAsync("/metered")).Dispose();
        var metrics = await Http.GetStringAsync("/metrics");
        Assert.Multiple(() =>
        {
            Assert.That(metrics, Does.Contain("shortlink_links_created_total"));
            Assert.That(metrics, Does.Contain("shortlink_redirects_total"));
            Assert.That(metrics, Does.Contain("http_server_request_duration_seconds_bucket"));
        });
    }

    [Test]
    public async Task Unknown_routes_answer_a_404_problem()
    {
        using var response = await Http.GetAsync("/api/v1/nothing/here");
        await AssertProblemAsync(response, HttpStatusCode.NotFound, "urn:shortlink:problem:not-found");
    }

    [Test]
    public async Task Wrong_methods_answer_a_405_problem()
    {
        using var response = await Http.PutAsync("/api/v1/links/abc", new StringContent("{}"));
        await AssertProblemAsync(response, HttpStatusCode.MethodNotAllowed, "urn:shortlink:problem:method-not-allowed");
    }
}

/// <summary>A service whose database is unreachable: readiness fails and requests get a 500 problem without internals.</summary>
public sealed class UnreachableDatabaseTests
{
    private ShortlinkApp app = null!;
    private HttpClient http = null!;

    [OneTimeSetUp]
    public void Start()
    {
        app = new ShortlinkApp("Server=127.0.0.1;Port=1;User ID=nobody;Password=secret-password;Database=none;Connection Timeout=1",
            new Dictionary<string, string?> { ["Shortlink:Database:MigrateOnStartup"] = "false" });
        http = app.CreateClient();
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

    [Test]
    public async Task A_database_failure_is_a_500_problem_with_a_trace_id_and_no_internals()
    {
        using var response = await http.GetAsync("/api/v1/links");
        var body = await response.Content.ReadAsStringAsync();
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(problem.GetProperty("type").GetString(), Is.EqualTo("urn:shortlink:problem:internal-error"));
            Assert.That(problem.GetProperty("traceId").GetString(), Has.Length.EqualTo(32));
            Assert.That(body, Does.Not.Contain("MySql").And.Not.Contain("   at ").And.Not.Contain("SELECT").And.Not.Contain("secret-password"));
        });
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
