using System.Net;
using System.Net.Http.Headers;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Tests.Api;

/// <summary>Each key has its own quota of API requests: beyond it 429 with Retry-After, and after waiting that long, 200 again.</summary>
public sealed class ApiQuotaTests : ApiTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        // One token a second, so that the wait the test makes is short.
        ["Shortlink:RateLimits:ApiRequestsPerKeyPerMinute"] = "60",
    };

    [Test]
    public async Task A_key_beyond_its_quota_gets_429_another_key_does_not_and_waiting_helps()
    {
        var member = await TestKeys.CreateAsync(Http, "member");
        using var client = NewClient(member.Key);
        var statuses = new List<int>();
        for (var i = 0; i < 60; i++)
        {
            using var response = await client.GetAsync("/api/v1/links");
            statuses.Add((int)response.StatusCode);
        }
        using var refused = await client.GetAsync("/api/v1/links");
        using var otherKey = await Http.GetAsync("/api/v1/keys/me");
        var problem = await AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, "urn:shortlink:problem:too-many-requests");
        var retryAfter = refused.Headers.RetryAfter!.Delta!.Value;
        await Task.Delay(retryAfter);
        using var afterWaiting = await client.GetAsync("/api/v1/links");
        Assert.Multiple(() =>
        {
            Assert.That(statuses, Is.All.EqualTo(200));
            Assert.That(retryAfter, Is.InRange(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60)));
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("Retry-After"));
            Assert.That(otherKey.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(afterWaiting.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }
}

/// <summary>
/// Visitors have a quota of redirects per address. Without trusted proxies, X-Forwarded-For is a client's
/// own word and changes nothing: forged addresses all count against the connection's.
/// </summary>
public sealed class RedirectQuotaTests : ApiTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:RateLimits:RedirectsPerClientPerMinute"] = "4",
        ["Shortlink:Network:MetricsNetworks:0"] = "10.0.0.0/8",
    };

    [Test]
    public async Task Forged_forwarded_addresses_share_the_connections_quota_and_the_fifth_redirect_gets_429()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/limited-visits" })).GetProperty("code").GetString();
        using var visitor = NewClient(key: null);
        var statuses = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/{code}");
            request.Headers.Add("X-Forwarded-For", $"203.0.113.{i}");
            using var response = await visitor.SendAsync(request);
            statuses.Add((int)response.StatusCode);
        }
        using var forged = new HttpRequestMessage(HttpMethod.Get, $"/{code}");
        forged.Headers.Add("X-Forwarded-For", "203.0.113.99");
        using var refused = await visitor.SendAsync(forged);
        using var browser = new HttpRequestMessage(HttpMethod.Get, $"/{code}");
        browser.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
        using var page = await visitor.SendAsync(browser);
        Assert.Multiple(() =>
        {
            Assert.That(statuses, Is.All.EqualTo(302));
            Assert.That(refused.Headers.RetryAfter?.Delta, Is.Not.Null);
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(page.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
        });
        await AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, "urn:shortlink:problem:too-many-requests");
    }

    [Test]
    public async Task Metrics_restricted_to_a_network_refuse_others_and_a_forged_forwarded_address()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Add("X-Forwarded-For", "10.1.2.3");
        using var forged = await Http.SendAsync(request);
        await AssertProblemAsync(forged, HttpStatusCode.Forbidden, "urn:shortlink:problem:forbidden");
    }
}

/// <summary>Behind a trusted proxy, X-Forwarded-For names the client: each visitor has a quota of its own.</summary>
public sealed class TrustedProxyTests : ApiTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:RateLimits:RedirectsPerClientPerMinute"] = "2",
        ["Shortlink:Network:TrustedProxies:0"] = "127.0.0.1/32",
        ["Shortlink:Network:MetricsNetworks:0"] = "10.0.0.0/8",
    };

    private async Task<int> VisitAsync(string code, string from)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/{code}");
        request.Headers.Add("X-Forwarded-For", from);
        using var response = await Http.SendAsync(request);
        return (int)response.StatusCode;
    }

    [Test]
    public async Task Each_forwarded_client_has_its_own_redirect_quota()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/behind-a-proxy" })).GetProperty("code").GetString()!;
        var first = new[] { await VisitAsync(code, "198.51.100.1"), await VisitAsync(code, "198.51.100.1"), await VisitAsync(code, "198.51.100.1") };
        var second = await VisitAsync(code, "198.51.100.2");
        var sameIpv6Network = new[] { await VisitAsync(code, "2001:db8::1"), await VisitAsync(code, "2001:db8::2"), await VisitAsync(code, "2001:db8::3") };
        Assert.Multiple(() =>
        {
            Assert.That(first, Is.EqualTo(new[] { 302, 302, 429 }));
            Assert.That(second, Is.EqualTo(302));
            Assert.That(sameIpv6Network, Is.EqualTo(new[] { 302, 302, 429 }), "an IPv6 /64 is one client");
        });
    }

    [Test]
    public async Task Metrics_answer_a_forwarded_client_in_the_allowed_network()
    {
        using var allowed = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        allowed.Headers.Add("X-Forwarded-For", "10.1.2.3");
        using var inside = await Http.SendAsync(allowed);
        using var outside = await Http.GetAsync("/metrics");
        Assert.That(inside.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await AssertProblemAsync(outside, HttpStatusCode.Forbidden, "urn:shortlink:problem:forbidden");
    }
}

/// <summary>Guessing keys from one address is slowed to 429; a valid key from the same address is not.</summary>
public sealed class FailedAuthenticationLimitTests : ApiTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:RateLimits:FailedAuthenticationsPerClientPerMinute"] = "3",
    };

    [Test]
    public async Task A_burst_of_bad_keys_gets_429_while_a_valid_key_goes_on()
    {
        (await Http.GetAsync("/api/v1/keys/me")).Dispose();
        using var guesser = NewClient(key: null);
        var statuses = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/links");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestKeys.Fixed($"Guess{i}"));
            using var response = await guesser.SendAsync(request);
            statuses.Add((int)response.StatusCode);
        }
        using var valid = await Http.GetAsync("/api/v1/links");
        Assert.Multiple(() =>
        {
            Assert.That(statuses, Is.EqualTo(new[] { 401, 401, 401, 429 }));
            Assert.That(valid.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }
}

/// <summary>Each limit a visitor or a key guesser runs into lifts again once the Retry-After it was given has passed.</summary>
public sealed class WaitingOutTheLimitsTests : ApiTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        // 60 a minute is one a second: the waits stay short.
        ["Shortlink:RateLimits:RedirectsPerClientPerMinute"] = "60",
        ["Shortlink:RateLimits:FailedAuthenticationsPerClientPerMinute"] = "60",
        // Each test stands for a client of its own, named by the trusted proxy.
        ["Shortlink:Network:TrustedProxies:0"] = "127.0.0.1/32",
    };

    /// <summary>Sends until the answer is 429 (at most a minute's quota and one more) and returns the seconds it says to wait.</summary>
    internal static async Task<TimeSpan> UntilRefusedAsync(Func<Task<HttpResponseMessage>> send, int quota)
    {
        for (var i = 0; i <= quota; i++)
        {
            using var response = await send();
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                return response.Headers.RetryAfter?.Delta ?? throw new AssertionException("429 without Retry-After");
            }
        }
        throw new AssertionException($"no 429 after {quota + 1} requests");
    }

    private HttpClient visitor = null!;

    [OneTimeSetUp]
    public void CreateVisitor() => visitor = NewClient(key: null);

    [OneTimeTearDown]
    public void DisposeVisitor() => visitor.Dispose();

    private Task<HttpResponseMessage> FromAsync(string path, string client, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("X-Forwarded-For", client);
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return visitor.SendAsync(request);
    }

    [Test]
    public async Task A_visitor_past_the_redirect_quota_is_redirected_again_after_retry_after()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/patient" })).GetProperty("code").GetString();
        var wait = await UntilRefusedAsync(() => FromAsync($"/{code}", "198.51.100.31"), quota: 60);
        await Task.Delay(wait);
        using var again = await FromAsync($"/{code}", "198.51.100.31");
        Assert.Multiple(() =>
        {
            Assert.That(wait, Is.InRange(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)), "a token a second, and a second to spare");
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        });
    }

    [Test]
    public async Task A_key_guesser_past_the_refusal_quota_is_answered_again_after_retry_after()
    {
        var guess = 0;
        var wait = await UntilRefusedAsync(() => FromAsync("/api/v1/links", "198.51.100.32", TestKeys.Fixed($"Guess{guess++}")), quota: 60);
        await Task.Delay(wait);
        using var again = await FromAsync("/api/v1/links", "198.51.100.32", TestKeys.Fixed("GuessAfterWaiting"));
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }
}

/// <summary>Past the wrong-password quota, the right password goes through again once Retry-After has passed.</summary>
public sealed class WaitingOutTheWrongPasswordLimitTests : ApiTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:RateLimits:WrongPasswordsPerClientPerMinute"] = "60",
    };

    [Test]
    public async Task The_right_password_is_accepted_again_after_retry_after()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/patient-lock", password = "finally right" })).GetProperty("code").GetString();
        using var visitor = NewClient(key: null);
        Task<HttpResponseMessage> TryAsync(string password)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"/{code}");
            request.Headers.Add("X-Link-Password", password);
            return visitor.SendAsync(request);
        }
        var wait = await WaitingOutTheLimitsTests.UntilRefusedAsync(() => TryAsync("wrong"), quota: 60);
        using var tooSoon = await TryAsync("finally right");
        await Task.Delay(wait);
        using var afterWaiting = await TryAsync("finally right");
        Assert.Multiple(() =>
        {
            Assert.That(tooSoon.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(afterWaiting.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        });
    }
}
