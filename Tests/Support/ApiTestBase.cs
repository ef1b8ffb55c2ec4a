using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Infrastructure.Data;
using Shortlink.Tests.Client;

namespace Shortlink.Tests.Support;

/// <summary>
/// An integration fixture: a fresh database and a fresh service per fixture, reached over HTTP by a
/// raw HttpClient and by the client generated from the committed OpenAPI contract.
/// </summary>
public abstract class ApiTestBase
{
    private DatabaseServer server = null!;
    private int port;

    internal ShortlinkApp App { get; private set; } = null!;
    protected HttpClient Http { get; private set; } = null!;
    protected ShortlinkClient Api { get; private set; } = null!;
    protected string ConnectionString { get; private set; } = "";

    /// <summary>Extra configuration for this fixture's service.</summary>
    protected virtual IDictionary<string, string?> Settings => new Dictionary<string, string?>();

    /// <summary>Fixtures that say so run with the shared Redis, under a key prefix of their own.</summary>
    protected virtual bool UsesRedis => false;

    protected string? RedisConfiguration { get; private set; }

    /// <summary>Fixtures that say so send visits through the shared RabbitMQ, on queues of their own.</summary>
    protected virtual bool UsesRabbitMq => false;

    protected string? RabbitMqConnectionString { get; private set; }

    /// <summary>The settings the fixture's service runs with, and any other instance it starts on the same servers.</summary>
    protected IDictionary<string, string?> ServiceSettings { get; private set; } = null!;

    /// <summary>The connection string the service gets, e.g. with a smaller pool; the test's own stays as it is.</summary>
    protected virtual string ServiceConnectionString(string connectionString) => connectionString;

    /// <summary>Services the fixture's service gets besides its own, e.g. an exporter that keeps its spans.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    /// <summary>The server whose fresh database the fixture's service runs on: the suite's shared one unless it says otherwise.</summary>
    private protected virtual Task<DatabaseServer> DatabaseServerAsync() => TestServers.DatabaseAsync();

    /// <summary>Stops servers of the fixture's own, once its service has stopped and its database is gone.</summary>
    private protected virtual ValueTask StopServersAsync() => ValueTask.CompletedTask;

    [OneTimeSetUp]
    public async Task StartServiceAsync()
    {
        server = await DatabaseServerAsync();
        // With the settings the service's SQL relies on (binary GUIDs, UTC), so tests read rows as it does.
        ConnectionString = DataServiceCollectionExtensions.WithRequiredSettings(await server.CreateDatabaseAsync());
        ServiceSettings = new Dictionary<string, string?>(Settings);
        if (UsesRedis)
        {
            RedisConfiguration = await TestServers.RedisAsync();
            ServiceSettings.TryAdd("Shortlink:Redis:Configuration", RedisConfiguration);
            ServiceSettings["Shortlink:Redis:Prefix"] = $"t{Guid.NewGuid():N}"[..16];
        }
        if (UsesRabbitMq)
        {
            RabbitMqConnectionString = await TestServers.RabbitMqAsync();
            ServiceSettings.TryAdd("Shortlink:RabbitMq:ConnectionString", RabbitMqConnectionString);
            ServiceSettings["Shortlink:RabbitMq:VisitsQueue"] = $"t-{Guid.NewGuid():N}";
        }
        App = new ShortlinkApp(ServiceConnectionString(ConnectionString), ServiceSettings, ConfigureServices);
        // Real Kestrel on a free loopback port, so that body limits and the wire format are the server's own.
        port = Ports.FreeLoopbackPort();
        App.UseKestrel(port);
        App.StartServer();
        Http = NewClient(TestKeys.Admin);
        Api = new ShortlinkClient(Http);
    }

    /// <summary>
    /// Another client of this fixture's service, with a key of its own (or none). It keeps no cookies: a test
    /// that needs one (the password form's) sends it itself, so that it also controls when one is missing.
    /// </summary>
    protected HttpClient NewClient(string? key)
    {
        // No trace headers of the client's own: a test that traces a request sends the visitor's traceparent itself, and the
        // service's HttpClient instrumentation, listening in this process, would otherwise replace it.
        var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, ActivityHeadersPropagator = null })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"),
        };
        if (key is not null)
        {
            TestKeys.Authorize(http, key);
        }
        return http;
    }

    [OneTimeTearDown]
    public async Task StopServiceAsync()
    {
        Http.Dispose();
        await App.DisposeAsync();
        await server.DropDatabaseAsync(ConnectionString);
        if (RabbitMqConnectionString is not null)
        {
            await TestQueues.DeleteAsync(RabbitMqConnectionString, ServiceSettings["Shortlink:RabbitMq:VisitsQueue"]!);
        }
        await StopServersAsync();
    }

    protected async Task<T> QueryScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = new MySqlConnection(ConnectionString);
        return (await connection.ExecuteScalarAsync<T>(sql, parameters))!;
    }

    /// <summary>Runs a statement on the fixture's database, e.g. to break it the way a test needs.</summary>
    protected async Task ExecuteAsync(string sql)
    {
        await using var connection = new MySqlConnection(ConnectionString);
        await connection.ExecuteAsync(sql);
    }

    /// <summary>Every text column of every table in which the value occurs, as "table.column".</summary>
    protected async Task<List<string>> TextColumnsContainingAsync(string value)
    {
        await using var connection = new MySqlConnection(ConnectionString);
        var columns = await connection.QueryAsync<(string Table, string Column)>("""
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = DATABASE() AND data_type IN ('char', 'varchar', 'text', 'mediumtext', 'longtext', 'binary', 'varbinary', 'blob')
            """);
        var found = new List<string>();
        foreach (var (table, column) in columns)
        {
            var hits = await connection.ExecuteScalarAsync<long>(
                $"SELECT COUNT(*) FROM `{table}` WHERE CAST(`{column}` AS CHAR) LIKE CONCAT('%', @value, '%')", new { value });
            if (hits > 0)
            {
                found.Add($"{table}.{column}");
            }
        }
        return found;
    }

    /// <summary>
    /// Posts raw text. Expect: 100-continue lets the server refuse an oversized body before it is
    /// sent, as curl does for large uploads, instead of the client writing into a closed socket.
    /// </summary>
    protected Task<HttpResponseMessage> PostJsonAsync(string path, string json, string contentType = "application/json")
    {
        var content = new StringContent(json);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.ExpectContinue = json.Length > 32 * 1024;
        return Http.SendAsync(request);
    }

    /// <summary>
    /// What a browser gets from a link with a password: the form's page, its anti-forgery token and the cookie
    /// that goes with it (as "name=value", to send back in a Cookie header).
    /// </summary>
    protected async Task<(string Token, string Cookie, string Page)> PasswordFormAsync(string path)
    {
        using var browser = NewClient(key: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/html");
        using var response = await browser.SendAsync(request);
        var page = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), page);
        var token = Regex.Match(page, "name=\"token\" value=\"([^\"]+)\"").Groups[1].Value;
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("shortlink-form=", StringComparison.Ordinal));
        return (WebUtility.HtmlDecode(token), cookie[..cookie.IndexOf(';')], page);
    }

    /// <summary>Creates a link through the API and returns its JSON.</summary>
    protected async Task<JsonElement> CreateLinkAsync(object body)
    {
        using var response = await Http.PostAsJsonAsync("/api/v1/links", body);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>A response header's values, joined, wherever HttpClient filed it (content headers apart); empty if absent.</summary>
    protected static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : "";

    /// <summary>Asserts an RFC 9457 problem response of the given status and type and returns its body.</summary>
    protected static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(status), body);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), body);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(problem.GetProperty("type").GetString(), Is.EqualTo(type), body);
            Assert.That(problem.GetProperty("status").GetInt32(), Is.EqualTo((int)status), body);
            Assert.That(problem.GetProperty("title").GetString(), Is.Not.Empty, body);
            Assert.That(problem.GetProperty("detail").GetString(), Is.Not.Empty, body);
            Assert.That(problem.GetProperty("traceId").GetString(), Is.Not.Empty, body);
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True, $"errors are never cached: {response.Headers.CacheControl}");
        });
        return problem;
    }
}
