using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using NUnit.Framework;
using Serilog.Events;
using Shortlink.Tests.Support;

namespace Shortlink.Tests.Api;

/// <summary>
/// An API key and a link password, used against every operation (right, wrong, revoked), appear nowhere the
/// service writes: not in its logs at their most verbose, its traces, its metrics, its answers or its database;
/// nor do the secrets of its configuration (the bootstrap admin key, the cursor signing key, the database password).
/// </summary>
public sealed class SecretsTests : ApiTestBase
{
    private const string Password = "Sw0rdfish-only-here";
    private const string CursorSigningKey = "cursor-signing-secret-for-this-test";

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:Api:CursorSigningKey"] = CursorSigningKey,
        ["Serilog:MinimumLevel:Default"] = "Verbose",
        ["Serilog:MinimumLevel:Override:Microsoft"] = "Verbose",
        ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore"] = "Verbose",
        ["Serilog:MinimumLevel:Override:MySqlConnector"] = "Verbose",
        ["Serilog:MinimumLevel:Override:System"] = "Verbose",
    };

    private readonly List<string> traces = [];
    private readonly List<string> answers = [];
    private readonly HashSet<string> exercised = [];
    private ActivityListener listener = null!;

    [OneTimeSetUp]
    public void ListenToEveryTrace()
    {
        listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                var text = $"{activity.Source.Name} {activity.DisplayName} {activity.StatusDescription} " +
                           string.Join(' ', activity.TagObjects.Select(tag => $"{tag.Key}={tag.Value}")) + " " +
                           string.Join(' ', activity.Events.SelectMany(e => e.Tags.Select(tag => $"{e.Name}:{tag.Key}={tag.Value}"))) + " " +
                           string.Join(' ', activity.Baggage.Select(item => $"{item.Key}={item.Value}"));
                lock (traces)
                {
                    traces.Add(text);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
    }

    [OneTimeTearDown]
    public void StopListening() => listener.Dispose();

    private async Task<HttpResponseMessage> SendAsync(HttpClient client, string method, string template, string path, HttpContent? content = null,
        Action<HttpRequestHeaders>? headers = null)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = content };
        headers?.Invoke(request.Headers);
        var response = await client.SendAsync(request);
        exercised.Add($"{method} {template}");
        answers.Add($"{(int)response.StatusCode} {response.Headers} {response.Content.Headers} {await response.Content.ReadAsStringAsync()}");
        return response;
    }

    private static StringContent Json(object body, string type = "application/json") =>
        new(JsonSerializer.Serialize(body), Encoding.UTF8, type);

    [Test]
    public async Task Neither_the_key_nor_the_password_appears_in_anything_the_service_wrote()
    {
        using var created = await Http.PostAsJsonAsync("/api/v1/keys", new { name = "secret-holder", role = "member" });
        var keyJson = await created.Content.ReadFromJsonAsync<JsonElement>();
        var key = keyJson.GetProperty("key").GetString()!;
        var keyId = keyJson.GetProperty("details").GetProperty("id").GetString()!;
        using var member = NewClient(key);
        using var viaHeader = NewClient(key: null);
        viaHeader.DefaultRequestHeaders.Add("X-Api-Key", key);
        using var visitor = NewClient(key: null);

        await RunEveryOperationAsync(member, viaHeader, visitor, keyId);

        using var metrics = await visitor.GetAsync("/metrics");
        var scraped = await metrics.Content.ReadAsStringAsync();
        var logs = App.Logs.Events.Select(Render).ToList();
        var contract = await Contract.LoadAsync(Http);
        var databasePassword = "Password=" + new MySqlConnector.MySqlConnectionStringBuilder(ConnectionString).Password;
        foreach (var secret in new[] { key, key["sl_live_".Length..], Password, TestKeys.Admin, CursorSigningKey, databasePassword })
        {
            Assert.Multiple(async () =>
            {
                Assert.That(logs.Where(line => line.Contains(secret, StringComparison.Ordinal)), Is.Empty, "logs");
                Assert.That(traces.Where(line => line.Contains(secret, StringComparison.Ordinal)), Is.Empty, "traces");
                Assert.That(scraped, Does.Not.Contain(secret), "metrics");
                Assert.That(answers.Where(line => line.Contains(secret, StringComparison.Ordinal)), Is.Empty, "answers");
                Assert.That(await TextColumnsContainingAsync(secret), Is.Empty, "database");
            });
        }
        Assert.Multiple(() =>
        {
            Assert.That(logs, Has.Count.GreaterThan(100), "verbose logging was on");
            Assert.That(traces, Is.Not.Empty, "traces were recorded");
            Assert.That(contract.Operations, Is.SubsetOf(exercised), "every operation was exercised");
        });
    }

    private async Task RunEveryOperationAsync(HttpClient member, HttpClient viaHeader, HttpClient visitor, string keyId)
    {
        const string Links = "/api/v1/links";
        (await SendAsync(member, "GET", "/api/v1/keys/me", "/api/v1/keys/me")).Dispose();
        (await SendAsync(viaHeader, "GET", "/api/v1/keys/me", "/api/v1/keys/me")).Dispose();
        using var link = await SendAsync(member, "POST", Links, Links,
            Json(new { url = "https://example.com/guarded", slug = "guarded", password = Password, maxVisits = 100 }),
            headers => headers.Add("Idempotency-Key", "secret-create"));
        (await SendAsync(member, "POST", Links, Links,
            Json(new { url = "https://example.com/guarded", slug = "guarded", password = Password, maxVisits = 100 }),
            headers => headers.Add("Idempotency-Key", "secret-create"))).Dispose();
        (await SendAsync(member, "POST", Links, Links, Json(new { url = "https://example.com/x", password = Password[..3] }))).Dispose();
        (await SendAsync(member, "POST", $"{Links}/bulk", $"{Links}/bulk",
            Json(new { items = new object[] { new { url = "https://example.com/b", password = Password }, new { url = "bad", password = Password } } }),
            headers => headers.Add("Idempotency-Key", "secret-bulk"))).Dispose();
        (await SendAsync(member, "GET", Links, $"{Links}?q=guarded")).Dispose();
        (await SendAsync(member, "GET", $"{Links}/{{code}}", $"{Links}/guarded")).Dispose();
        (await SendAsync(member, "PATCH", $"{Links}/{{code}}", $"{Links}/guarded", Json(new { password = Password, title = "t" }, "application/merge-patch+json"))).Dispose();
        (await SendAsync(member, "PATCH", $"{Links}/{{code}}", $"{Links}/guarded", Json(new { password = Password + "\u0001" }))).Dispose();
        (await SendAsync(member, "GET", $"{Links}/{{code}}/qr", $"{Links}/guarded/qr")).Dispose();

        foreach (var method in new[] { "GET", "HEAD" })
        {
            foreach (var password in new[] { Password, Password + "-wrong", "" })
            {
                (await SendAsync(visitor, method, "/{code}", "/guarded?from=test", headers: headers => headers.Add("X-Link-Password", password))).Dispose();
            }
        }
        var (token, cookie, page) = await PasswordFormAsync("/guarded");
        answers.Add(page);
        foreach (var password in new[] { Password + "-wrong", Password })
        {
            (await SendAsync(visitor, "POST", "/{code}", "/guarded", new FormUrlEncodedContent([new("token", token), new("password", password)]),
                headers => headers.Add("Cookie", cookie))).Dispose();
        }
        (await SendAsync(visitor, "POST", "/{code}", "/guarded", new FormUrlEncodedContent([new("password", Password)]))).Dispose();
        (await SendAsync(member, "GET", $"{Links}/{{code}}/stats", $"{Links}/guarded/stats?interval=hour&includeBots=true")).Dispose();
        (await SendAsync(member, "GET", $"{Links}/{{code}}/visits", $"{Links}/guarded/visits?limit=1")).Dispose();
        (await SendAsync(member, "GET", $"{Links}/{{code}}/visits", $"{Links}/guarded/visits", headers: headers => headers.Add("Accept", "text/csv"))).Dispose();
        (await SendAsync(viaHeader, "GET", "/api/v1/stats", "/api/v1/stats")).Dispose();

        foreach (var (method, template, path) in new[]
                 {
                     ("POST", "/api/v1/keys", "/api/v1/keys"), ("GET", "/api/v1/keys", "/api/v1/keys"),
                     ("GET", "/api/v1/keys/{id}", $"/api/v1/keys/{keyId}"), ("DELETE", "/api/v1/keys/{id}", $"/api/v1/keys/{keyId}"),
                     ("GET", "/api/v1/blocklist", "/api/v1/blocklist"), ("PUT", "/api/v1/blocklist/{domain}", "/api/v1/blocklist/evil.example"),
                     ("DELETE", "/api/v1/blocklist/{domain}", "/api/v1/blocklist/evil.example"),
                 })
        {
            (await SendAsync(member, method, template, path, method == "POST" ? Json(new { name = "n", role = "member" }) : null)).Dispose();
        }
        (await SendAsync(member, "DELETE", $"{Links}/{{code}}", $"{Links}/guarded")).Dispose();
        (await SendAsync(Http, "DELETE", "/api/v1/keys/{id}", $"/api/v1/keys/{keyId}")).Dispose();
        (await SendAsync(member, "GET", Links, Links)).Dispose();
        (await SendAsync(viaHeader, "GET", Links, Links)).Dispose();
    }

    private static string Render(LogEvent logEvent) =>
        $"{logEvent.RenderMessage()} {string.Join(' ', logEvent.Properties.Select(p => $"{p.Key}={p.Value}"))} {logEvent.Exception}";
}
