using System.Net;
using System.Net.Http.Headers;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Redirects;

public sealed class FollowLinkApiTests : ApiTestBase
{
    [TestCase(301, HttpStatusCode.MovedPermanently)]
    [TestCase(302, HttpStatusCode.Found)]
    [TestCase(307, HttpStatusCode.TemporaryRedirect)]
    [TestCase(308, HttpStatusCode.PermanentRedirect)]
    public async Task Redirect_answers_the_links_status_with_the_exact_location(int type, HttpStatusCode expected)
    {
        var url = $"https://example.com/path/{type}?keep=1&x=%2F#section";
        var code = (await CreateLinkAsync(new { url, redirectType = type, forwardQuery = false })).GetProperty("code").GetString();
        using var response = await Http.GetAsync($"/{code}");
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(expected));
            Assert.That(response.Headers.Location?.OriginalString, Is.EqualTo(url));
        });
    }

    [Test]
    public async Task Redirect_with_forwardQuery_merges_incoming_parameters()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/p?a=1#frag" })).GetProperty("code").GetString();
        using var response = await Http.GetAsync($"/{code}?b=2&a=3&q=caf%C3%A9+au+lait");
        Assert.That(response.Headers.Location?.OriginalString,
            Is.EqualTo("https://example.com/p?a=1&b=2&a=3&q=caf%C3%A9%20au%20lait#frag"));
    }

    [Test]
    public async Task Redirect_passes_escapes_that_are_not_utf8_through_unchanged()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/latin1" })).GetProperty("code").GetString();
        using var response = await Http.GetAsync($"/{code}?q=caf%E9&name=Fran%E7ois+X");
        Assert.That(response.Headers.Location?.OriginalString, Is.EqualTo("https://example.com/latin1?q=caf%E9&name=Fran%E7ois%20X"));
    }

    [Test]
    public async Task Redirect_without_forwardQuery_ignores_incoming_parameters()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/p?a=1", forwardQuery = false })).GetProperty("code").GetString();
        using var response = await Http.GetAsync($"/{code}?b=2");
        Assert.That(response.Headers.Location?.OriginalString, Is.EqualTo("https://example.com/p?a=1"));
    }

    [Test]
    public async Task Head_redirects_like_get_without_a_body()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/head" })).GetProperty("code").GetString();
        using var response = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/{code}"));
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found));
            Assert.That(response.Headers.Location?.OriginalString, Is.EqualTo("https://example.com/head"));
            Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.Empty);
        });
    }

    [Test]
    public async Task Temporary_redirects_are_private_and_permanent_ones_public()
    {
        var temporary = (await CreateLinkAsync(new { url = "https://example.com/t" })).GetProperty("code").GetString();
        var permanent = (await CreateLinkAsync(new { url = "https://example.com/p", redirectType = 301 })).GetProperty("code").GetString();
        using var temporaryResponse = await Http.GetAsync($"/{temporary}");
        using var permanentResponse = await Http.GetAsync($"/{permanent}");
        Assert.Multiple(() =>
        {
            Assert.That(temporaryResponse.Headers.NonValidated["Cache-Control"].ToString(), Is.EqualTo("private, max-age=0"));
            Assert.That(permanentResponse.Headers.NonValidated["Cache-Control"].ToString(), Is.EqualTo("public, max-age=3600"));
        });
    }

    [Test]
    public async Task Unknown_code_answers_404_problem_json_to_api_clients()
    {
        using var response = await Http.GetAsync("/NoSuchCode");
        await AssertProblemAsync(response, HttpStatusCode.NotFound, "urn:shortlink:problem:link-not-found");
    }

    [Test]
    public async Task Unknown_code_answers_a_small_html_page_to_browsers()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/NoSuchCode");
        request.Headers.Accept.ParseAdd("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        using var response = await Http.SendAsync(request);
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("<h1>Link not found</h1>"));
        });
    }

    [Test]
    public async Task Not_found_and_gone_answers_vary_by_accept_and_are_never_cached()
    {
        var gone = (await CreateLinkAsync(new { url = "https://example.com/used-up", maxVisits = 1 })).GetProperty("code").GetString();
        (await Http.GetAsync($"/{gone}")).Dispose();
        foreach (var path in new[] { "/NoSuchCode", $"/{gone}" })
        {
            foreach (var accept in new[] { "text/html", "application/json" })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                request.Headers.Accept.ParseAdd(accept);
                using var response = await Http.SendAsync(request);
                Assert.Multiple(() =>
                {
                    Assert.That((int)response.StatusCode, Is.AnyOf(404, 410), $"{path} {accept}");
                    Assert.That(response.Headers.Vary, Is.EqualTo(new[] { "Accept" }), $"{path} {accept}");
                    Assert.That(response.Headers.CacheControl?.NoStore, Is.True, $"{path} {accept}");
                });
            }
        }
    }

    [Test]
    public async Task Codes_are_case_sensitive_on_redirect()
    {
        await CreateLinkAsync(new { url = "https://example.com/lower", slug = "redir-case" });
        using var exact = await Http.GetAsync("/redir-case");
        using var otherCase = await Http.GetAsync("/REDIR-CASE");
        Assert.Multiple(() =>
        {
            Assert.That(exact.StatusCode, Is.EqualTo(HttpStatusCode.Found));
            Assert.That(otherCase.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        });
    }

    [TestCase("GET", "/favicon.ico")]
    [TestCase("GET", "/a%20b")]
    [TestCase("HEAD", "/%E2%98%83")]
    [TestCase("GET", "/api/v1/links/has.dot")]
    [TestCase("GET", "/api/v1/links/a%20b/qr")]
    [TestCase("DELETE", "/api/v1/links/%E2%98%83")]
    [TestCase("PATCH", "/api/v1/links/much-too-long-for-any-code-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")]
    public async Task Codes_that_cannot_exist_answer_404_without_asking_the_database(string method, string path)
    {
        using var commands = new DatabaseCommands(ConnectionString);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "PATCH")
        {
            request.Content = new StringContent("""{"title":"x"}""", System.Text.Encoding.UTF8, "application/merge-patch+json");
        }
        using var response = await Http.SendAsync(request);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(commands.Executed, Is.Zero, "SQL commands run for a code that cannot exist");
        });
    }

    [Test]
    public async Task A_possible_code_is_looked_up_once()
    {
        // Only the lookups: the visit writer may be writing the fixture's earlier visits meanwhile.
        using var commands = new DatabaseCommands(ConnectionString, containing: "FROM links");
        using var response = await Http.GetAsync("/PossibleButUnknown");
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(commands.Executed, Is.EqualTo(1), "the counter itself must see the lookup");
        });
    }

    [Test]
    public async Task A_link_not_valid_yet_answers_404_until_its_time()
    {
        var now = App.Clock.GetUtcNow();
        var code = (await CreateLinkAsync(new { url = "https://example.com/later", validFrom = now.AddHours(1) })).GetProperty("code").GetString();
        using var early = await Http.GetAsync($"/{code}");
        App.Clock.Advance(TimeSpan.FromHours(1));
        using var onTime = await Http.GetAsync($"/{code}");
        Assert.Multiple(() =>
        {
            Assert.That(early.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(onTime.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        });
    }

    [Test]
    public async Task An_expired_link_answers_410()
    {
        var now = App.Clock.GetUtcNow();
        var code = (await CreateLinkAsync(new { url = "https://example.com/soon", expiresAt = now.AddMinutes(5) })).GetProperty("code").GetString();
        using var before = await Http.GetAsync($"/{code}");
        App.Clock.Advance(TimeSpan.FromMinutes(5));
        using var after = await Http.GetAsync($"/{code}");
        Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        await AssertProblemAsync(after, HttpStatusCode.Gone, "urn:shortlink:problem:link-expired");
    }

    [Test]
    public async Task A_link_answers_410_once_its_visit_limit_is_used_and_head_never_uses_a_visit()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/limited", maxVisits = 3 })).GetProperty("code").GetString();
        for (var i = 0; i < 5; i++)
        {
            using var head = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/{code}"));
            Assert.That(head.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        }
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var visit = await Http.GetAsync($"/{code}");
            statuses.Add(visit.StatusCode);
        }
        Assert.That(statuses, Is.EqualTo(new[] { HttpStatusCode.Found, HttpStatusCode.Found, HttpStatusCode.Found, HttpStatusCode.Gone }));
        using var last = await Http.GetAsync($"/{code}");
        await AssertProblemAsync(last, HttpStatusCode.Gone, "urn:shortlink:problem:visit-limit-reached");
    }

    /// <summary>Without Redis, the database's conditional update counts; LinkCacheApiTests hold the same with Redis.</summary>
    [Test]
    public async Task Three_hundred_concurrent_visitors_never_pass_the_visit_limit()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/race", maxVisits = 50 })).GetProperty("code").GetString();
        using var visitor = NewClient(key: null);
        var responses = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => visitor.GetAsync($"/{code}")));
        Assert.Multiple(async () =>
        {
            Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.Found), Is.EqualTo(50));
            Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.Gone), Is.EqualTo(250));
            Assert.That(await QueryScalarAsync<long>("SELECT visit_count FROM links WHERE code = @code", new { code }), Is.EqualTo(50));
        });
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Test]
    public async Task A_browser_gets_an_html_page_for_a_gone_link()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/once", maxVisits = 1 })).GetProperty("code").GetString();
        (await Http.GetAsync($"/{code}")).Dispose();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/{code}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
        using var response = await Http.SendAsync(request);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Gone));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
        });
    }
}
