using System.Net;
using NUnit.Framework;
using Shortlink.Tests.Support;
using static Shortlink.Tests.Support.PrometheusText;

namespace Shortlink.Features.Redirects;

/// <summary>
/// shortlink_redirects_total counts every answer to a visitor by outcome and status, after real requests of each kind.
/// Each request comes from an address of its own (through the trusted loopback proxy), so that only the requests meant
/// to meet the per-address quota do.
/// </summary>
public sealed class RedirectOutcomesApiTests : ApiTestBase
{
    private const int QuotaPerClient = 3;
    private int clients;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:RateLimits:RedirectsPerClientPerMinute"] = $"{QuotaPerClient}",
        ["Shortlink:Network:TrustedProxies:0"] = "127.0.0.1/32",
    };

    [Test]
    public async Task Each_answer_is_counted_under_its_outcome_and_status()
    {
        var plain = await CodeOfAsync(new { url = "https://example.com/outcomes" });
        var permanent = await CodeOfAsync(new { url = "https://example.com/moved", redirectType = 301 });
        var expiring = await CodeOfAsync(new { url = "https://example.com/soon", expiresAt = App.Clock.GetUtcNow().AddMinutes(5) });
        var limited = await CodeOfAsync(new { url = "https://example.com/once", maxVisits = 1 });
        var blocked = await CodeOfAsync(new { url = "https://outcomes-blocked.example/page" });
        var guarded = await CodeOfAsync(new { url = "https://example.com/guarded", password = "open sesame" });
        using (var block = await Http.PutAsync("/api/v1/blocklist/outcomes-blocked.example", null))
        {
            Assert.That(block.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        }
        var before = await Http.GetStringAsync("/metrics");

        await VisitAsync(HttpMethod.Get, plain, HttpStatusCode.Found);
        await VisitAsync(HttpMethod.Head, plain, HttpStatusCode.Found);
        await VisitAsync(HttpMethod.Get, permanent, HttpStatusCode.MovedPermanently);
        await VisitAsync(HttpMethod.Get, "noSuchCode7", HttpStatusCode.NotFound);
        await VisitAsync(HttpMethod.Get, blocked, HttpStatusCode.Gone);
        await VisitAsync(HttpMethod.Get, limited, HttpStatusCode.Found);
        await VisitAsync(HttpMethod.Get, limited, HttpStatusCode.Gone);
        await VisitAsync(HttpMethod.Get, guarded, HttpStatusCode.Unauthorized);
        await VisitAsync(HttpMethod.Get, guarded, HttpStatusCode.Unauthorized, password: "wrong guess");
        await PostFormAsync(guarded, "open sesame", withToken: true, HttpStatusCode.SeeOther);
        await PostFormAsync(guarded, "open sesame", withToken: false, HttpStatusCode.BadRequest);
        var busy = NextClient();
        for (var i = 0; i < QuotaPerClient; i++)
        {
            await VisitAsync(HttpMethod.Get, plain, HttpStatusCode.Found, client: busy);
        }
        await VisitAsync(HttpMethod.Get, plain, HttpStatusCode.TooManyRequests, client: busy);
        App.Clock.Advance(TimeSpan.FromMinutes(5));
        await VisitAsync(HttpMethod.Get, expiring, HttpStatusCode.Gone);

        var expected = new Dictionary<(string Outcome, int Status), int>
        {
            [("redirected", 302)] = 3 + QuotaPerClient,
            [("redirected", 301)] = 1,
            [("redirected", 303)] = 1,
            [("redirected", 307)] = 0,
            [("redirected", 308)] = 0,
            [("not-found", 404)] = 1,
            [("blocked", 410)] = 1,
            [("expired", 410)] = 1,
            [("limit-reached", 410)] = 1,
            [("password-required", 401)] = 2,
            [("password-wrong", 401)] = 1,
            [("rate-limited", 429)] = 1,
            [("form-rejected", 400)] = 1,
        };
        // The exporter keeps a scrape for a moment: wait for one taken after every request above.
        var after = before;
        await Eventually.TrueAsync(async () =>
        {
            after = await Http.GetStringAsync("/metrics");
            return expected.Keys.Sum(series => Counted(after, series) - Counted(before, series)) >= expected.Values.Sum();
        });
        Assert.Multiple(() =>
        {
            foreach (var (series, count) in expected)
            {
                Assert.That(Counted(after, series) - Counted(before, series), Is.EqualTo(count), $"{series}");
            }
        });
    }

    private static double Counted(string metrics, (string Outcome, int Status) series) =>
        Sample(metrics, "shortlink_redirects_total", $"outcome=\"{series.Outcome}\"", $"http_response_status_code=\"{series.Status}\"");

    private async Task<string> CodeOfAsync(object link) => (await CreateLinkAsync(link)).GetProperty("code").GetString()!;

    private string NextClient() => $"203.0.113.{++clients}";

    /// <summary>One visitor's request, from an address of its own unless one is given.</summary>
    private async Task VisitAsync(HttpMethod method, string code, HttpStatusCode status, string? password = null, string? client = null)
    {
        using var request = new HttpRequestMessage(method, $"/{code}");
        request.Headers.Add("X-Forwarded-For", client ?? NextClient());
        if (password is not null)
        {
            request.Headers.Add("X-Link-Password", password);
        }
        await SendAsync(request, status);
    }

    /// <summary>A browser posting the password form: with its token (the form's own GET is a password-required answer too), or without.</summary>
    private async Task PostFormAsync(string code, string password, bool withToken, HttpStatusCode status)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/{code}");
        request.Headers.Add("X-Forwarded-For", NextClient());
        var fields = new Dictionary<string, string> { ["password"] = password };
        if (withToken)
        {
            var (token, cookie, _) = await PasswordFormAsync($"/{code}");
            fields["token"] = token;
            request.Headers.Add("Cookie", cookie);
        }
        request.Content = new FormUrlEncodedContent(fields);
        await SendAsync(request, status);
    }

    private async Task SendAsync(HttpRequestMessage request, HttpStatusCode status)
    {
        using var visitor = NewClient(key: null);
        using var response = await visitor.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(status), $"{request.Method} {request.RequestUri}");
    }
}
