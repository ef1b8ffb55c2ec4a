using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Tests.Api;

/// <summary>
/// Every answer forbids sniffing, framing and referrers; the service's pages may load and run nothing but their
/// own stylesheet; Swagger UI gets a policy of its own; HSTS goes with HTTPS only.
/// </summary>
public sealed partial class SecurityHeadersTests : ApiTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        // Stands for the TLS-terminating load balancer, whose X-Forwarded-Proto says the visitor used HTTPS.
        ["Shortlink:Network:TrustedProxies:0"] = "127.0.0.1/32",
    };

    private async Task<HttpResponseMessage> GetAsync(string path, string? accept = null, string? proto = null)
    {
        using var visitor = NewClient(key: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (accept is not null)
        {
            request.Headers.Accept.ParseAdd(accept);
        }
        if (proto is not null)
        {
            request.Headers.Add("X-Forwarded-Proto", proto);
        }
        return await visitor.SendAsync(request);
    }

    [TestCase("/no-such-link", "text/html")]
    [TestCase("/no-such-link", null)]
    [TestCase("/api/v1/links", null)]
    [TestCase("/health/live", null)]
    public async Task Every_answer_forbids_sniffing_framing_and_referrers(string path, string? accept)
    {
        using var response = await GetAsync(path, accept);
        Assert.Multiple(() =>
        {
            Assert.That(Header(response, "X-Content-Type-Options"), Is.EqualTo("nosniff"));
            Assert.That(Header(response, "X-Frame-Options"), Is.EqualTo("DENY"));
            Assert.That(Header(response, "Referrer-Policy"), Is.EqualTo("no-referrer"));
            Assert.That(Header(response, "Content-Security-Policy"), Does.StartWith("default-src 'none'"));
        });
    }

    [Test]
    public async Task A_page_may_use_its_own_stylesheet_and_nothing_else()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/protected", password = "page secret" })).GetProperty("code").GetString();
        foreach (var path in new[] { "/no-such-link", $"/{code}" })
        {
            using var response = await GetAsync(path, "text/html");
            var page = await response.Content.ReadAsStringAsync();
            var policy = Header(response, "Content-Security-Policy");
            var stylesheet = StyleElement().Match(page).Groups[1].Value;
            var hash = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(stylesheet)));
            Assert.Multiple(() =>
            {
                Assert.That(policy, Is.EqualTo($"default-src 'none'; style-src 'sha256-{hash}'; base-uri 'none'; frame-ancestors 'none'"), path);
                Assert.That(page, Does.Not.Contain("<script"), path);
            });
        }
    }

    [Test]
    public async Task Swagger_ui_runs_only_its_own_scripts_and_talks_only_to_this_service()
    {
        using var response = await GetAsync("/swagger/index.html", "text/html");
        var page = await response.Content.ReadAsStringAsync();
        var policy = Header(response, "Content-Security-Policy");
        var inline = InlineScript().Matches(page)
            .Select(m => Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(m.Groups[1].Value.ReplaceLineEndings("\n"))))).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(inline, Is.Not.Empty);
            Assert.That(policy, Does.Contain("script-src 'self' " + string.Join(' ', inline.Select(h => $"'sha256-{h}'")) + ";"));
            Assert.That(policy, Does.Contain("connect-src 'self'"));
            Assert.That(policy, Does.Not.Contain("unsafe-eval"));
            Assert.That(policy, Does.Contain("frame-ancestors 'none'"));
            Assert.That(response.Content.Headers.ContentLength, Is.EqualTo(Encoding.UTF8.GetByteCount(page)));
        });
    }

    [Test]
    public async Task Hsts_is_sent_over_https_only()
    {
        using var overHttps = await GetAsync("/health/live", proto: "https");
        using var overHttp = await GetAsync("/health/live");
        Assert.Multiple(() =>
        {
            Assert.That(Header(overHttps, "Strict-Transport-Security"), Is.EqualTo("max-age=31536000"));
            Assert.That(Header(overHttp, "Strict-Transport-Security"), Is.Empty);
        });
    }

    [GeneratedRegex("<style>(.*?)</style>", RegexOptions.Singleline)]
    private static partial Regex StyleElement();

    [GeneratedRegex("<script>(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex InlineScript();
}

/// <summary>HSTS can be turned off, for a deployment whose proxy sends it already.</summary>
public sealed class HstsOffTests : ApiTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:Network:TrustedProxies:0"] = "127.0.0.1/32",
        ["Shortlink:Security:HstsMaxAgeSeconds"] = "0",
    };

    [Test]
    public async Task No_hsts_when_its_max_age_is_zero()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        request.Headers.Add("X-Forwarded-Proto", "https");
        using var response = await Http.SendAsync(request);
        Assert.That(response.Headers.Contains("Strict-Transport-Security"), Is.False);
    }
}
