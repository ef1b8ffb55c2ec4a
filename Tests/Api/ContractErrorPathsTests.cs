using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Tests.Api;

/// <summary>A request sent to an operation, as the operation's path template and the path actually sent.</summary>
internal sealed record Probe(string Method, string Template, string Path, string? Body = null, string ContentType = "application/json",
    string? Accept = null, string? IdempotencyKey = null, string? IfNoneMatch = null, string? Key = null,
    IReadOnlyDictionary<string, string>? Headers = null)
{
    /// <summary>Sent without any key; without a Key at all, a probe is sent with the admin key.</summary>
    public const string NoKey = "";

    public HttpRequestMessage ToRequest()
    {
        var request = new HttpRequestMessage(new HttpMethod(Method), Path);
        if ((Key ?? TestKeys.Admin) is { Length: > 0 } key)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        if (Body is not null)
        {
            request.Content = new StringContent(Body, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(ContentType);
            // As curl does for large uploads: the server can refuse an oversized body before it is sent, instead of
            // closing the connection while it drains it, which would fail the next request on that connection.
            request.Headers.ExpectContinue = Body.Length > 4 * 1024;
        }
        if (Accept is not null)
        {
            request.Headers.Accept.ParseAdd(Accept);
        }
        if (IdempotencyKey is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", IdempotencyKey);
        }
        if (IfNoneMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", IfNoneMatch);
        }
        foreach (var (name, value) in Headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        return request;
    }
}

/// <summary>
/// Drives every operation through its error paths and holds each answer to the OpenAPI document: a status,
/// a content type or a problem type that the document does not declare fails the test.
/// </summary>
public sealed class ContractErrorPathsTests : ApiTestBase
{
    private const string Links = "/api/v1/links";
    private const string Bulk = "/api/v1/links/bulk";
    private const string Link = "/api/v1/links/{code}";
    private const string Qr = "/api/v1/links/{code}/qr";
    private const string Stats = "/api/v1/links/{code}/stats";
    private const string Visits = "/api/v1/links/{code}/visits";
    private const string OwnerStats = "/api/v1/stats";
    private const string Follow = "/{code}";
    private const string Keys = "/api/v1/keys";
    private const string Key = "/api/v1/keys/{id}";
    private const string Blocklist = "/api/v1/blocklist";
    private const string Blocked = "/api/v1/blocklist/{domain}";
    private const string Html = "text/html,application/xhtml+xml,*/*;q=0.8";

    private static readonly string TooLarge = new('t', 70_000);

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:Security:BlockedDomains:0"] = "contract-configured.example",
    };

    private async Task<string> ETagOfAsync(string code)
    {
        using var response = await Http.GetAsync($"/api/v1/links/{code}/qr");
        return response.Headers.ETag!.ToString();
    }

    private async Task<List<Probe>> ProbesAsync()
    {
        var now = App.Clock.GetUtcNow();
        var member = await TestKeys.CreateAsync(Http, "member");
        var readOnly = await TestKeys.CreateAsync(Http, "readonly", member.OwnerId);
        var doomed = await TestKeys.CreateAsync(Http, "member");
        await CreateLinkAsync(new { url = "https://example.com/contract", slug = "contract-link" });
        await CreateLinkAsync(new { url = "https://example.com/contract-gone", slug = "contract-gone", maxVisits = 1 });
        await CreateLinkAsync(new { url = "https://example.com/contract-expired", slug = "contract-expired", expiresAt = now.AddMinutes(1) });
        await CreateLinkAsync(new { url = "https://example.com/contract-delete", slug = "contract-delete" });
        foreach (var type in new[] { 301, 307, 308 })
        {
            await CreateLinkAsync(new { url = $"https://example.com/contract-{type}", slug = $"contract-{type}", redirectType = type });
        }
        await CreateLinkAsync(new { url = "https://contract-blocked.example/", slug = "contract-blocked" });
        (await Http.PutAsync($"{Blocklist}/contract-blocked.example", null)).Dispose();
        (await Http.PutAsync($"{Blocklist}/contract-unblock.example", null)).Dispose();
        await CreateLinkAsync(new { url = "https://example.com/contract-password", slug = "contract-password", password = "contract secret" });
        var (token, cookie, _) = await PasswordFormAsync("/contract-password");
        string Form(string? password) => $"token={Uri.EscapeDataString(token)}" + (password is null ? "" : $"&password={Uri.EscapeDataString(password)}");
        var withCookie = new Dictionary<string, string> { ["Cookie"] = cookie };
        (await Http.GetAsync("/contract-gone")).Dispose();
        App.Clock.Advance(TimeSpan.FromMinutes(2));
        var etag = await ETagOfAsync("contract-link");

        var probes = new List<Probe>
        {
            new("POST", Links, Links, """{"url":"https://example.com/probe"}"""),
            new("POST", Links, Links, """{"url":"ftp://example.com"}"""),
            new("POST", Links, Links, """{"url":"""),
            new("POST", Links, Links, """{"url":"https://example.com","url":"https://example.org"}"""),
            new("POST", Links, Links, """{"url":"https://example.com","expiresAt":"2099-01-01T00:00:00"}"""),
            new("POST", Links, Links, """{"url":"https://example.com"}""", ContentType: "text/plain"),
            new("POST", Links, Links, $$"""{"url":"https://example.com","title":"{{TooLarge}}"}"""),
            new("POST", Links, Links, """{"url":"https://example.com/taken","slug":"contract-link"}"""),
            new("POST", Links, Links, """{"url":"https://example.com"}""", IdempotencyKey: "has space"),
            new("POST", Links, Links, """{"url":"https://example.com/k1"}""", IdempotencyKey: "contract-reused"),
            new("POST", Links, Links, """{"url":"https://example.com/k2"}""", IdempotencyKey: "contract-reused"),
            new("POST", Links, Links, """{"url":"https://example.com/k2"}""", Accept: Html),
            new("POST", Links, Links, """{"url":"https://www.contract-blocked.example/"}"""),
            new("POST", Links, Links, $$"""{"url":"{{ShortlinkApp.PublicBaseUrl}}/contract-link"}"""),
            new("POST", Links, Links, """{"url":"https://good.example@evil.example/"}"""),
            new("POST", Bulk, Bulk, """{"items":[{"url":"https://example.com/b"},{"url":"nope"},{"url":"https://example.com/t","slug":"contract-link"}]}"""),
            new("POST", Bulk, Bulk, """{"items":[{"url":"https://contract-blocked.example/"},{"url":"https://sho.rt/x"}]}"""),
            new("POST", Bulk, Bulk, "{}"),
            new("POST", Bulk, Bulk, """{"items":"""),
            new("POST", Bulk, Bulk, """{"items":[]}""", ContentType: "text/plain"),
            new("POST", Bulk, Bulk, $$"""{"items":[{"url":"https://example.com/{{new string('x', 5 * 1024 * 1024)}}"}]}"""),
            new("POST", Bulk, Bulk, """{"items":[{"url":"https://example.com/k1"}]}""", IdempotencyKey: "contract-bulk-reused"),
            new("POST", Bulk, Bulk, """{"items":[{"url":"https://example.com/k2"}]}""", IdempotencyKey: "contract-bulk-reused"),
            new("GET", Links, Links),
            new("GET", Links, $"{Links}?limit=0"),
            new("GET", Links, $"{Links}?limit=abc"),
            new("GET", Links, $"{Links}?cursor=forged"),
            new("GET", Links, $"{Links}?tag=a&tag=b"),
            new("GET", Links, $"{Links}?q=x", Accept: Html),
            new("GET", Link, $"{Links}/contract-link"),
            new("GET", Link, $"{Links}/NoSuchCode"),
            new("GET", Link, $"{Links}/not%20a%20code"),
            new("GET", Link, $"{Links}/.."),
            new("PATCH", Link, $"{Links}/contract-link", """{"title":"Changed"}"""),
            new("PATCH", Link, $"{Links}/contract-link", """{"url":null}"""),
            new("PATCH", Link, $"{Links}/contract-link", """{"url":"https://contract-blocked.example/x"}"""),
            new("PATCH", Link, $"{Links}/contract-link", $$"""{"url":"{{ShortlinkApp.PublicBaseUrl}}/contract-link"}"""),
            new("PATCH", Link, $"{Links}/contract-link", """{"title":"""),
            new("PATCH", Link, $"{Links}/contract-link", """{"title":"x"}""", ContentType: "text/plain"),
            new("PATCH", Link, $"{Links}/contract-link", $$"""{"title":"{{TooLarge}}"}"""),
            new("PATCH", Link, $"{Links}/NoSuchCode", """{"title":"x"}"""),
            new("PATCH", Link, $"{Links}/.", """{"title":"x"}"""),
            new("DELETE", Link, $"{Links}/contract-delete"),
            new("DELETE", Link, $"{Links}/contract-delete"),
            new("DELETE", Link, $"{Links}/."),
            new("DELETE", Link, $"{Links}/.."),
            new("GET", Qr, $"{Links}/contract-link/qr"),
            new("GET", Qr, $"{Links}/contract-link/qr?format=svg&size=128"),
            new("GET", Qr, $"{Links}/contract-link/qr", IfNoneMatch: etag),
            new("GET", Qr, $"{Links}/contract-link/qr?size=5"),
            new("GET", Qr, $"{Links}/contract-link/qr?size=abc"),
            new("GET", Qr, $"{Links}/contract-link/qr?format=png&format=svg"),
            new("GET", Qr, $"{Links}/NoSuchCode/qr"),
            new("GET", Stats, $"{Links}/contract-link/stats"),
            new("GET", Stats, $"{Links}/contract-link/stats?from=2026-03-28&to=2026-03-31&interval=hour&tz=Europe/Berlin&includeBots=true"),
            new("GET", Stats, $"{Links}/contract-link/stats?tz=Mars/Olympus_Mons"),
            new("GET", Stats, $"{Links}/contract-link/stats?interval=day&tz=Asia/Kolkata"),
            new("GET", Stats, $"{Links}/contract-link/stats?includeBots=maybe"),
            new("GET", Stats, $"{Links}/contract-link/stats?tz=UTC&tz=UTC"),
            new("GET", Stats, $"{Links}/NoSuchCode/stats"),
            new("GET", Stats, $"{Links}/contract-link/stats", Key: member.Key),
            new("GET", Stats, $"{Links}/contract-link/stats", Key: Probe.NoKey),
            new("GET", Visits, $"{Links}/contract-link/visits?limit=1"),
            new("GET", Visits, $"{Links}/contract-link/visits", Accept: "text/csv"),
            new("GET", Visits, $"{Links}/contract-link/visits?limit=1", Accept: "text/csv"),
            new("GET", Visits, $"{Links}/contract-link/visits?cursor=forged"),
            new("GET", Visits, $"{Links}/contract-link/visits?from=yesterday"),
            new("GET", Visits, $"{Links}/NoSuchCode/visits", Accept: "text/csv"),
            new("GET", Visits, $"{Links}/contract-link/visits", Key: readOnly.Key),
            new("GET", OwnerStats, $"{OwnerStats}?from=2026-03-01&to=2026-04-01"),
            new("GET", OwnerStats, $"{OwnerStats}?to=2026-03-01T00:00:00"),
            new("GET", OwnerStats, OwnerStats, Key: readOnly.Key),
            new("GET", OwnerStats, OwnerStats, Key: Probe.NoKey),
            new("POST", Links, Links, """{"url":"https://example.com/no-key"}""", Key: Probe.NoKey),
            new("POST", Links, Links, """{"url":"https://example.com/bad-key"}""", Key: "not-a-key"),
            new("POST", Links, Links, """{"url":"https://example.com/unknown-key"}""", Key: "sl_live_" + new string('x', 43)),
            new("POST", Links, Links, """{"url":"https://example.com/read-only"}""", Key: readOnly.Key),
            new("POST", Bulk, Bulk, """{"items":[{"url":"https://example.com/read-only"}]}""", Key: readOnly.Key),
            new("GET", Links, Links, Key: Probe.NoKey),
            new("GET", Link, $"{Links}/contract-link", Key: member.Key),
            new("PATCH", Link, $"{Links}/contract-link", """{"title":"x"}""", Key: readOnly.Key),
            new("DELETE", Link, $"{Links}/contract-link", Key: readOnly.Key),
            new("GET", Qr, $"{Links}/contract-link/qr", Key: Probe.NoKey),
            new("POST", Keys, Keys, """{"name":"probe","role":"member"}"""),
            new("POST", Keys, Keys, """{"name":"probe","role":"superuser"}"""),
            new("POST", Keys, Keys, $$"""{"name":"probe","role":"member","ownerId":"{{Guid.CreateVersion7()}}"}"""),
            new("POST", Keys, Keys, """{"name":"""),
            new("POST", Keys, Keys, """{"name":"probe","role":"member"}""", ContentType: "text/plain"),
            new("POST", Keys, Keys, """{"name":"probe","role":"member"}""", Key: member.Key),
            new("POST", Keys, Keys, """{"name":"probe","role":"member"}""", Key: Probe.NoKey),
            new("GET", Keys, Keys),
            new("GET", Keys, $"{Keys}?includeRevoked=maybe"),
            new("GET", Keys, $"{Keys}?includeRevoked=true&includeRevoked=false"),
            new("GET", Keys, Keys, Key: readOnly.Key),
            new("GET", Keys, Keys, Key: Probe.NoKey),
            new("GET", Key, $"{Keys}/{member.Id}"),
            new("GET", Key, $"{Keys}/{Guid.CreateVersion7()}"),
            new("GET", Key, $"{Keys}/not-a-guid"),
            new("GET", Key, $"{Keys}/{member.Id}", Key: member.Key),
            new("DELETE", Key, $"{Keys}/{doomed.Id}"),
            new("DELETE", Key, $"{Keys}/{doomed.Id}"),
            new("DELETE", Key, $"{Keys}/{member.Id}", Key: member.Key),
            new("DELETE", Key, $"{Keys}/not-a-guid"),
            new("GET", $"{Keys}/me", $"{Keys}/me"),
            new("GET", $"{Keys}/me", $"{Keys}/me", Key: readOnly.Key),
            new("GET", $"{Keys}/me", $"{Keys}/me", Key: doomed.Key),
            new("GET", $"{Keys}/me", $"{Keys}/me", Key: Probe.NoKey),
            new("GET", Blocklist, Blocklist),
            new("GET", Blocklist, Blocklist, Key: member.Key),
            new("GET", Blocklist, Blocklist, Key: Probe.NoKey),
            new("PUT", Blocked, $"{Blocklist}/contract-new.example"),
            new("PUT", Blocked, $"{Blocklist}/contract-new.example"),
            new("PUT", Blocked, $"{Blocklist}/user@contract.example"),
            new("PUT", Blocked, $"{Blocklist}/contract-new.example", Key: member.Key),
            new("PUT", Blocked, $"{Blocklist}/contract-new.example", Key: Probe.NoKey),
            new("DELETE", Blocked, $"{Blocklist}/contract-unblock.example"),
            new("DELETE", Blocked, $"{Blocklist}/contract-unblock.example"),
            new("DELETE", Blocked, $"{Blocklist}/user@contract.example"),
            new("DELETE", Blocked, $"{Blocklist}/contract-configured.example"),
            new("DELETE", Blocked, $"{Blocklist}/contract-blocked.example", Key: readOnly.Key),
            new("DELETE", Blocked, $"{Blocklist}/contract-blocked.example", Key: Probe.NoKey),
        };
        const string FormType = "application/x-www-form-urlencoded";
        probes.AddRange(
        [
            new("POST", Follow, "/contract-password", Form("contract secret"), FormType, Key: Probe.NoKey, Headers: withCookie),
            new("POST", Follow, "/contract-password?utm=x", Form("wrong"), FormType, Key: Probe.NoKey, Headers: withCookie),
            new("POST", Follow, "/contract-password", Form("wrong"), FormType, Accept: Html, Key: Probe.NoKey, Headers: withCookie),
            new("POST", Follow, "/contract-password", Form(null), FormType, Key: Probe.NoKey, Headers: withCookie),
            new("POST", Follow, "/contract-password", Form("contract secret"), FormType, Key: Probe.NoKey),
            new("POST", Follow, "/contract-password", Form("contract secret"), FormType, Accept: Html, Key: Probe.NoKey),
            new("POST", Follow, "/contract-password", "password=x", "text/plain", Key: Probe.NoKey, Headers: withCookie),
            new("POST", Follow, "/contract-password", Form(new string('x', 5000)), FormType, Key: Probe.NoKey, Headers: withCookie),
            new("POST", Follow, "/NoSuchCode", Form("x"), FormType, Key: Probe.NoKey, Headers: withCookie),
            new("POST", Follow, "/NoSuchCode", Form("x"), FormType, Accept: Html, Key: Probe.NoKey, Headers: withCookie),
            new("POST", Follow, "/contract-gone", Form("x"), FormType, Key: Probe.NoKey, Headers: withCookie),
            new("POST", Follow, "/contract-blocked", Form("x"), FormType, Accept: Html, Key: Probe.NoKey, Headers: withCookie),
            new("POST", Follow, "/contract-link", Form(null), FormType, Key: Probe.NoKey, Headers: withCookie),
        ]);
        foreach (var accept in new[] { (string?)null, Html })
        {
            foreach (var password in new[] { (string?)null, "contract secret", "wrong" })
            {
                probes.Add(new Probe("GET", Follow, "/contract-password", Accept: accept, Key: Probe.NoKey,
                    Headers: password is null ? null : new Dictionary<string, string> { ["X-Link-Password"] = password }));
            }
        }
        foreach (var method in new[] { "GET", "HEAD" })
        {
            foreach (var accept in new[] { (string?)null, Html })
            {
                probes.AddRange(new[] { "/contract-link", "/contract-301", "/contract-307", "/contract-308", "/NoSuchCode", "/no%20code",
                    "/contract-gone", "/contract-expired", "/contract-blocked", "/no.such.code" }.Select(path => new Probe(method, Follow, path, Accept: accept, Key: Probe.NoKey)));
            }
        }
        return probes;
    }

    [Test]
    public async Task Every_operation_answers_only_what_the_document_declares()
    {
        var contract = await Contract.LoadAsync(Http);
        var probes = await ProbesAsync();
        var violations = new List<string>();
        var seen = new List<string>();
        using var client = NewClient(key: null);
        foreach (var probe in probes)
        {
            using var request = probe.ToRequest();
            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            seen.Add($"{probe.Method} {probe.Template} {(int)response.StatusCode}");
            violations.AddRange(contract.Undeclared(request.Method, probe.Template, response, body)
                .Select(violation => $"{violation} (sent {probe.Method} {probe.Path})"));
        }
        TestContext.Out.WriteLine(string.Join('\n', seen.Distinct()));
        Assert.Multiple(() =>
        {
            Assert.That(violations, Is.Empty, string.Join('\n', violations));
            Assert.That(contract.Operations, Is.SubsetOf(probes.Select(p => $"{p.Method} {p.Template}").Distinct()),
                "an operation has no probes here");
        });
    }

    [Test]
    public async Task Concurrent_requests_under_one_key_answer_only_declared_statuses()
    {
        var contract = await Contract.LoadAsync(Http);
        // Inserting a link takes a second here, so the first request still holds the key when the others arrive.
        await ExecuteAsync("CREATE TRIGGER slow_insert BEFORE INSERT ON links FOR EACH ROW DO SLEEP(1)");
        try
        {
            await ProbeConcurrentlyAsync(contract);
        }
        finally
        {
            await ExecuteAsync("DROP TRIGGER IF EXISTS slow_insert");
        }
    }

    private async Task ProbeConcurrentlyAsync(Contract contract)
    {
        foreach (var (template, body) in new[] { (Links, """{"url":"https://example.com/race"}"""), (Bulk, """{"items":[{"url":"https://example.com/race"}]}""") })
        {
            var probe = new Probe("POST", template, template, body, IdempotencyKey: $"contract-race-{template}");
            var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
            {
                using var request = probe.ToRequest();
                using var response = await Http.SendAsync(request);
                return ((int)response.StatusCode, contract.Undeclared(request.Method, template, response, await response.Content.ReadAsStringAsync()).ToList());
            }));
            Assert.Multiple(() =>
            {
                Assert.That(answers.SelectMany(answer => answer.Item2), Is.Empty);
                Assert.That(answers.Select(answer => answer.Item1), Has.Some.EqualTo(409), "no request saw the key in use");
            });
        }
    }

    [Test]
    public async Task A_body_shorter_than_its_content_length_gets_a_declared_408()
    {
        var contract = await Contract.LoadAsync(Http);
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Http.BaseAddress!.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST /api/v1/links HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {TestKeys.Admin}\r\nContent-Type: application/json\r\n" +
            "Content-Length: 100\r\n\r\n{\"url\":"));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var raw = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        using var response = ParseResponse(raw, out var body);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestTimeout));
            Assert.That(contract.Undeclared(HttpMethod.Post, Links, response, body), Is.Empty);
        });
    }

    private static HttpResponseMessage ParseResponse(string raw, out string body)
    {
        var headerEnd = raw.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var lines = raw[..headerEnd].Split("\r\n");
        var response = new HttpResponseMessage((HttpStatusCode)int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture));
        var rest = raw[(headerEnd + 4)..];
        var chunked = lines.Any(line => line.Equals("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase));
        body = chunked ? Unchunk(rest) : rest;
        response.Content = new StringContent(body);
        response.Content.Headers.ContentType = lines.FirstOrDefault(line => line.StartsWith("Content-Type:", StringComparison.OrdinalIgnoreCase)) is { } type
            ? MediaTypeHeaderValue.Parse(type["Content-Type:".Length..].Trim())
            : null;
        return response;
    }

    private static string Unchunk(string chunked)
    {
        var body = new StringBuilder();
        for (var position = 0; ;)
        {
            var lineEnd = chunked.IndexOf("\r\n", position, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[position..lineEnd], 16);
            if (size == 0)
            {
                return body.ToString();
            }
            body.Append(chunked, lineEnd + 2, size);
            position = lineEnd + 2 + size + 2;
        }
    }
}

/// <summary>With the database down, every operation still answers only what the document declares (503 with Retry-After).</summary>
public sealed class ContractWithoutDatabaseTests
{
    [Test]
    public async Task Every_operation_declares_the_503_it_answers_when_the_database_is_down()
    {
        await using var app = new ShortlinkApp("Server=127.0.0.1;Port=1;User ID=nobody;Password=x;Database=none;Connection Timeout=1",
            new Dictionary<string, string?> { ["Shortlink:Database:MigrateOnStartup"] = "false" });
        var port = Ports.FreeLoopbackPort();
        app.UseKestrel(port);
        app.StartServer();
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var contract = await Contract.LoadAsync(http);
        var probes = new Probe[]
        {
            new("POST", "/api/v1/links", "/api/v1/links", """{"url":"https://example.com"}"""),
            new("POST", "/api/v1/links", "/api/v1/links", """{"url":"https://example.com"}""", IdempotencyKey: "down"),
            new("POST", "/api/v1/links/bulk", "/api/v1/links/bulk", """{"items":[{"url":"https://example.com"}]}"""),
            new("GET", "/api/v1/links", "/api/v1/links"),
            new("GET", "/api/v1/links/{code}", "/api/v1/links/abc"),
            new("PATCH", "/api/v1/links/{code}", "/api/v1/links/abc", """{"title":"x"}"""),
            new("DELETE", "/api/v1/links/{code}", "/api/v1/links/abc"),
            new("GET", "/api/v1/links/{code}/qr", "/api/v1/links/abc/qr"),
            new("GET", "/api/v1/links/{code}/stats", "/api/v1/links/abc/stats"),
            new("GET", "/api/v1/links/{code}/visits", "/api/v1/links/abc/visits", Accept: "text/csv"),
            new("GET", "/api/v1/stats", "/api/v1/stats"),
            new("GET", "/{code}", "/abc"),
            new("HEAD", "/{code}", "/abc"),
            new("GET", "/api/v1/keys", "/api/v1/keys"),
            new("GET", "/api/v1/keys/me", "/api/v1/keys/me"),
        };
        var answers = new List<(int Status, List<string> Violations)>();
        foreach (var probe in probes)
        {
            using var request = probe.ToRequest();
            using var response = await http.SendAsync(request);
            answers.Add(((int)response.StatusCode,
                contract.Undeclared(request.Method, probe.Template, response, await response.Content.ReadAsStringAsync()).ToList()));
        }
        using var withoutKey = new Probe("GET", "/api/v1/links", "/api/v1/links", Key: Probe.NoKey).ToRequest();
        using var unauthorized = await http.SendAsync(withoutKey);
        Assert.Multiple(async () =>
        {
            Assert.That(answers.Select(answer => answer.Status), Is.All.EqualTo(503));
            Assert.That(answers.SelectMany(answer => answer.Violations), Is.Empty);
            Assert.That(unauthorized.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "no key needs no database to be refused");
            Assert.That(contract.Undeclared(HttpMethod.Get, "/api/v1/links", unauthorized, await unauthorized.Content.ReadAsStringAsync()), Is.Empty);
        });
    }
}
