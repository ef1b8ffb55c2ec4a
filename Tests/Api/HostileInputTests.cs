using System.Net;
using System.Text;
using Dapper;
using MySqlConnector;
using NUnit.Framework;
using Serilog.Events;
using Shortlink.Features.Links;
using Shortlink.Tests.Support;

namespace Shortlink.Tests.Api;

/// <summary>
/// Thousands of malformed and hostile requests: every answer is below 500, is one the OpenAPI document
/// declares for its operation, and is logged below Error; afterwards the database holds only rows
/// that pass the link rules.
/// </summary>
public sealed class HostileInputTests : ApiTestBase
{
    private const int Requests = 3000;

    private static readonly string[] Nasty =
    [
        "' OR '1'='1", "'; DROP TABLE links; --", "\" OR \"\"=\"", "%' AND 1=1 --", "\\", "\\'", "`", "0x27", "%00", "\u0000",
        "\u0007", "\r\n", "\t", "😀", "\uD83D", "\u202E", "\u200B", "\uFEFF", "ſ", "Ａ", "İ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "<script>alert(1)</script>",
        "{{7*7}}", "${jndi:ldap://x}", "../../etc/passwd", "%2e%2e%2f", "null", "true", "-1", "1e309", "NaN", "",
        new string('A', 70_000), new string('é', 3000),
    ];

    private static readonly string[] Schemes =
    [
        "javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html;base64,PHNjcmlwdD4=", "file:///etc/passwd",
        "ftp://example.com/", "mailto:a@b.c", "vbscript:msgbox", "about:blank", "chrome://settings", "//example.com",
        "/relative", "example.com", "http:/example.com", "https:example.com", "ws://example.com", "gopher://x",
    ];

    [Test]
    public async Task Hostile_requests_never_get_a_5xx_and_leave_only_valid_rows()
    {
        var random = new Random(20261125);
        await CreateLinkAsync(new { url = "https://example.com/target", slug = "hostile-target" });
        var failures = new List<string>();
        var statuses = new Dictionary<int, int>();
        var contract = await Contract.LoadAsync(Http);
        using var gate = new SemaphoreSlim(4);
        var requests = Enumerable.Range(0, Requests).Select(_ => NextRequest(random)).ToList();
        await Task.WhenAll(requests.Select(async request =>
        {
            await gate.WaitAsync();
            try
            {
                var (status, problem, description, undeclared) = await SendAsync(request, contract);
                lock (statuses)
                {
                    statuses[status] = statuses.GetValueOrDefault(status) + 1;
                    if (status >= 500 || (status >= 400 && !problem && request.ExpectsProblem && !RefusedByKestrel(status, request)))
                    {
                        failures.Add($"{status} {description}");
                    }
                    if (!RefusedByKestrel(status, request))
                    {
                        failures.AddRange(undeclared.Select(violation => $"{violation}: {description}"));
                    }
                }
            }
            finally
            {
                gate.Release();
            }
        }));
        TestContext.Out.WriteLine($"{Requests} hostile requests: " +
            string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}")));
        Assert.That(failures, Is.Empty, string.Join('\n', failures.Take(20)));
        Assert.That(App.Logs.Events.Where(e => e.Level >= LogEventLevel.Error).Select(e => e.RenderMessage()).Distinct(), Is.Empty,
            "a client's request wrote to the error log");
        await AssertOnlyValidRowsAsync();
    }

    /// <summary>
    /// Kestrel refuses a request line over 8 KiB (414) or a NUL in the path (400) before any
    /// middleware runs, so those answers carry the status alone; the README says so.
    /// </summary>
    private static bool RefusedByKestrel(int status, HostileRequest request) =>
        status == 414 || (status == 400 && request.Path.Contains("%00", StringComparison.Ordinal));

    private sealed record HostileRequest(HttpMethod Method, string Template, string Path, byte[]? Body, string? ContentType, bool ExpectsProblem);

    private static HostileRequest NextRequest(Random random)
    {
        string Pick(string[] values) => values[random.Next(values.Length)];
        string JsonString(string value) => System.Text.Json.JsonSerializer.Serialize(value);
        string AnyUrl() => random.Next(3) switch
        {
            0 => JsonString(Pick(Schemes)),
            1 => JsonString("https://example.com/" + Pick(Nasty)),
            _ => JsonString(Pick(Nasty)),
        };
        string AnyValue() => random.Next(6) switch
        {
            0 => JsonString(Pick(Nasty)),
            1 => random.Next(-2, 5000).ToString(System.Globalization.CultureInfo.InvariantCulture),
            2 => "null",
            3 => "[" + JsonString(Pick(Nasty)) + "]",
            4 => "{\"x\":" + JsonString(Pick(Nasty)) + "}",
            _ => "true",
        };
        string Field() => Pick(["url", "slug", "title", "tags", "expiresAt", "validFrom", "maxVisits", "redirectType", "forwardQuery", "unknown", "code", "URL"]);
        string LinkBody()
        {
            var fields = new List<string> { $"\"url\":{AnyUrl()}" };
            for (var i = random.Next(4); i > 0; i--)
            {
                fields.Add($"\"{Field()}\":{AnyValue()}");
            }
            return "{" + string.Join(',', fields) + "}";
        }
        string BrokenJson() => random.Next(6) switch
        {
            0 => LinkBody() is var body ? body[..Math.Max(1, random.Next(body.Length))] : "",
            1 => new string('[', 5000) + new string(']', 5000),
            2 => Pick(Nasty),
            3 => "{\"url\":\"https://example.com\"" + new string(',', 10),
            4 => "\uFEFF{\"url\":\"https://example.com\"}",
            _ => Encoding.Latin1.GetString(Enumerable.Range(0, 64).Select(_ => (byte)random.Next(256)).ToArray()),
        };
        string StatsValue() => Uri.EscapeDataString(random.Next(3) == 0
            ? Pick(["2026-03-29", "2026-03-29T10:00:00Z", "Europe/Berlin", "Asia/Kolkata", "hour", "day", "true", "9999-12-31", "1970-01-01"])
            : Pick(Nasty));
        var nastyCode = Pick(Nasty);
        var code = Uri.EscapeDataString(nastyCode[..Math.Min(80, nastyCode.Length)]);
        return random.Next(12) switch
        {
            0 or 1 => new(HttpMethod.Post, "/api/v1/links", "/api/v1/links", Encoding.UTF8.GetBytes(LinkBody()), "application/json", true),
            2 => new(HttpMethod.Post, "/api/v1/links", "/api/v1/links", Encoding.UTF8.GetBytes(BrokenJson()), Pick(["application/json", "text/plain", "application/x-www-form-urlencoded", "application/xml"]), true),
            3 => new(HttpMethod.Post, "/api/v1/links/bulk", "/api/v1/links/bulk", Encoding.UTF8.GetBytes("{\"items\":[" + string.Join(',', Enumerable.Range(0, random.Next(1, 6)).Select(_ => random.Next(4) == 0 ? AnyValue() : LinkBody())) + "]}"), "application/json", true),
            4 => new(HttpMethod.Patch, "/api/v1/links/{code}", "/api/v1/links/hostile-target", Encoding.UTF8.GetBytes("{" + $"\"{Field()}\":{AnyValue()}" + "}"), "application/merge-patch+json", true),
            5 => new(HttpMethod.Get, "/api/v1/links", $"/api/v1/links?limit={Uri.EscapeDataString(Pick(Nasty))}&cursor={Uri.EscapeDataString(Pick(Nasty))}&tag={Uri.EscapeDataString(Pick(Nasty))}&q={Uri.EscapeDataString(Pick(Nasty))}", null, null, true),
            6 => new(HttpMethod.Get, "/api/v1/links", $"/api/v1/links?q={Uri.EscapeDataString(Pick(Nasty))}&tag={Uri.EscapeDataString(Pick(Nasty))}", null, null, true),
            // No code, or a dot segment that a path is resolved past, is the web page at /: no operation of the API's.
            7 => new(HttpMethod.Get, "/{code}", $"/{(code is "" or "." or ".." ? "hostile-target" : code)}?{Uri.EscapeDataString(Pick(Nasty))}={Uri.EscapeDataString(Pick(Nasty))}", null, null, false),
            8 => new(HttpMethod.Get, "/api/v1/links/{code}/qr", $"/api/v1/links/{code}/qr?size={Uri.EscapeDataString(Pick(Nasty))}&format={Uri.EscapeDataString(Pick(Nasty))}", null, null, true),
            9 => new(HttpMethod.Get, "/api/v1/links/{code}/stats", $"/api/v1/links/hostile-target/stats?from={StatsValue()}&to={StatsValue()}&interval={StatsValue()}&tz={StatsValue()}&includeBots={StatsValue()}", null, null, true),
            10 => new(HttpMethod.Get, "/api/v1/links/{code}/visits", $"/api/v1/links/{code}/visits?limit={StatsValue()}&cursor={StatsValue()}&from={StatsValue()}&to={StatsValue()}", null, null, true),
            _ => new(HttpMethod.Delete, "/api/v1/links/{code}", $"/api/v1/links/{code}", null, null, true),
        };
    }

    private async Task<(int Status, bool Problem, string Description, List<string> Undeclared)> SendAsync(HostileRequest hostile, Contract contract)
    {
        using var request = new HttpRequestMessage(hostile.Method, hostile.Path);
        if (hostile.Body is not null)
        {
            request.Content = new ByteArrayContent(hostile.Body);
            request.Content.Headers.TryAddWithoutValidation("Content-Type", hostile.ContentType);
            request.Headers.ExpectContinue = hostile.Body.Length > 32 * 1024;
        }
        using var response = await Http.SendAsync(request);
        var isProblem = response.Content.Headers.ContentType?.MediaType == "application/problem+json";
        var answer = await response.Content.ReadAsStringAsync();
        var body = hostile.Body is null ? "" : Encoding.UTF8.GetString(hostile.Body.AsSpan(0, Math.Min(200, hostile.Body.Length)));
        return ((int)response.StatusCode, isProblem, $"{hostile.Method} {hostile.Path[..Math.Min(120, hostile.Path.Length)]} {body}",
            contract.Undeclared(hostile.Method, hostile.Template, response, answer).ToList());
    }

    private async Task AssertOnlyValidRowsAsync()
    {
        await using var connection = new MySqlConnection(ConnectionString);
        var rows = (await connection.QueryAsync<(string Code, string Url, string? Title, int RedirectType, int? MaxVisits)>(
            "SELECT code, url, title, redirect_type, max_visits FROM links")).ToList();
        var tags = (await connection.QueryAsync<string>("SELECT tag FROM link_tags")).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(rows, Is.Not.Empty);
            foreach (var row in rows)
            {
                Assert.That(LinkRules.IsPossibleCode(row.Code), row.Code);
                Assert.That(LinkRules.TryNormalizeUrl(row.Url, out var normalized, out _) && normalized == row.Url, row.Url);
                Assert.That(LinkRules.RedirectTypes, Does.Contain(row.RedirectType));
                Assert.That(row.MaxVisits is null or >= 1);
                Assert.That(row.Title is null || row.Title.Length <= LinkRules.MaxTitleLength);
            }
            Assert.That(tags.All(LinkRules.IsValidTag));
        });
    }
}
