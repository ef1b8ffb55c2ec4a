using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Redirects;

/// <summary>
/// A link with a password: the password is write-only and stored as a hash; API clients send it in a header,
/// browsers through a form with an anti-forgery token; no answer about such a link may be cached.
/// </summary>
public sealed class LinkPasswordApiTests : ApiTestBase
{
    private const string Password = "correct horse battery staple";
    private const string Html = "text/html";

    private async Task<string> ProtectedLinkAsync(object? extra = null)
    {
        var body = JsonSerializer.SerializeToElement(extra ?? new { });
        var fields = body.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value);
        fields.TryAdd("url", "https://example.com/secret-page?a=1");
        fields["password"] = Password;
        return (await CreateLinkAsync(fields)).GetProperty("code").GetString()!;
    }

    private static HttpRequestMessage Visit(string path, string? password = null, string? accept = null, HttpMethod? method = null)
    {
        var request = new HttpRequestMessage(method ?? HttpMethod.Get, path);
        if (password is not null)
        {
            request.Headers.Add("X-Link-Password", Uri.EscapeDataString(password));
        }
        if (accept is not null)
        {
            request.Headers.Accept.ParseAdd(accept);
        }
        return request;
    }

    private static HttpRequestMessage Post(string path, string? token, string? cookie, string? password, string? accept = null)
    {
        var fields = new List<KeyValuePair<string, string>>();
        if (token is not null)
        {
            fields.Add(new("token", token));
        }
        if (password is not null)
        {
            fields.Add(new("password", password));
        }
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(fields) };
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }
        if (accept is not null)
        {
            request.Headers.Accept.ParseAdd(accept);
        }
        return request;
    }

    private static HttpClient Browserless(ShortlinkApp app) => app.CreateClient(new() { AllowAutoRedirect = false, HandleCookies = false });

    [Test]
    public async Task The_password_is_write_only_and_kept_as_a_salted_slow_hash()
    {
        var code = await ProtectedLinkAsync();
        var second = await ProtectedLinkAsync();
        var shown = await Http.GetFromJsonAsync<JsonElement>($"/api/v1/links/{code}");
        var listed = await Http.GetStringAsync("/api/v1/links");
        var hashes = new[]
        {
            await QueryScalarAsync<string>($"SELECT password_hash FROM links WHERE code = '{code}'"),
            await QueryScalarAsync<string>($"SELECT password_hash FROM links WHERE code = '{second}'"),
        };
        Assert.Multiple(async () =>
        {
            Assert.That(shown.GetProperty("hasPassword").GetBoolean(), Is.True);
            Assert.That(shown.TryGetProperty("password", out _), Is.False);
            Assert.That(listed, Does.Not.Contain(Password));
            // ASP.NET Core's format 3: PBKDF2 with HMAC-SHA512; the same password gets another salt, so another hash.
            Assert.That(Convert.FromBase64String(hashes[0])[0], Is.EqualTo(1), "PasswordHasher format 3 marker");
            Assert.That(hashes[0], Is.Not.EqualTo(hashes[1]));
            Assert.That(await TextColumnsContainingAsync(Password), Is.Empty, "the password is stored somewhere");
        });
    }

    [Test]
    public async Task An_api_client_sends_the_password_in_a_header_and_nothing_about_the_link_is_cached()
    {
        var code = await ProtectedLinkAsync(new { redirectType = 301, maxVisits = 5 });
        using var visitor = NewClient(key: null);
        using var missing = await visitor.SendAsync(Visit($"/{code}"));
        using var wrong = await visitor.SendAsync(Visit($"/{code}", "not the password"));
        using var head = await visitor.SendAsync(Visit($"/{code}", Password, method: HttpMethod.Head));
        using var right = await visitor.SendAsync(Visit($"/{code}?b=2", Password));
        Assert.Multiple(async () =>
        {
            Assert.That(missing.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Link-Password"));
            Assert.That(head.StatusCode, Is.EqualTo(HttpStatusCode.MovedPermanently));
            Assert.That(right.StatusCode, Is.EqualTo(HttpStatusCode.MovedPermanently));
            Assert.That(right.Headers.Location?.ToString(), Is.EqualTo("https://example.com/secret-page?a=1&b=2"));
            foreach (var response in new[] { missing, wrong, head, right })
            {
                Assert.That(response.Headers.CacheControl?.NoStore, Is.True, $"{response.StatusCode}: {response.Headers.CacheControl}");
                Assert.That(response.Headers.CacheControl?.Public, Is.False);
            }
            Assert.That(await QueryScalarAsync<long>($"SELECT visit_count FROM links WHERE code = '{code}'"), Is.EqualTo(1),
                "only the GET with the right password used a visit");
        });
        await AssertProblemAsync(missing, HttpStatusCode.Unauthorized, "urn:shortlink:problem:link-password-required");
        await AssertProblemAsync(wrong, HttpStatusCode.Unauthorized, "urn:shortlink:problem:link-password-wrong");
    }

    [Test]
    public async Task A_password_outside_ascii_is_sent_percent_encoded()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/unicode", password = "pässwörd 🔑" })).GetProperty("code").GetString();
        using var visitor = NewClient(key: null);
        using var right = await visitor.SendAsync(Visit($"/{code}", "pässwörd 🔑"));
        Assert.That(right.StatusCode, Is.EqualTo(HttpStatusCode.Found));
    }

    [Test]
    public async Task A_browser_gets_a_form_posts_the_password_with_its_token_and_is_sent_on_with_303()
    {
        var code = await ProtectedLinkAsync(new { redirectType = 308 });
        using var browser = NewClient(key: null);
        var (token, cookie, page) = await PasswordFormAsync($"/{code}?utm=mail");
        using var wrong = await browser.SendAsync(Post($"/{code}?utm=mail", token, cookie, "wrong guess", Html));
        var wrongPage = await wrong.Content.ReadAsStringAsync();
        using var right = await browser.SendAsync(Post($"/{code}?utm=mail", token, cookie, Password, Html));
        Assert.Multiple(() =>
        {
            Assert.That(page, Does.Contain("<form method=\"post\">").And.Contain("type=\"password\""));
            Assert.That(page, Does.Not.Contain("action="), "the form posts back to the URL it came from, query included");
            Assert.That(cookie, Does.StartWith("shortlink-form="));
            Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(wrongPage, Does.Contain("not right"));
            Assert.That(wrong.Headers.CacheControl?.NoStore, Is.True);
            // A 308 would make the browser post the password on to the target.
            Assert.That(right.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther));
            Assert.That(right.Headers.Location?.ToString(), Is.EqualTo("https://example.com/secret-page?a=1&utm=mail"));
            Assert.That(right.Headers.CacheControl?.NoStore, Is.True);
            Assert.That(right.Headers.GetValues("Referrer-Policy"), Is.EqualTo(new[] { "no-referrer" }));
        });
    }

    [Test]
    public async Task A_form_without_its_token_or_cookie_is_refused_and_uses_nothing()
    {
        var code = await ProtectedLinkAsync(new { maxVisits = 1 });
        using var browser = NewClient(key: null);
        var (token, cookie, _) = await PasswordFormAsync($"/{code}");
        var (_, otherCookie, _) = await PasswordFormAsync($"/{code}");
        using var noToken = await browser.SendAsync(Post($"/{code}", null, cookie, Password));
        using var noCookie = await browser.SendAsync(Post($"/{code}", token, null, Password));
        using var foreignCookie = await browser.SendAsync(Post($"/{code}", token, otherCookie, Password, Html));
        using var json = await browser.PostAsJsonAsync($"/{code}", new { password = Password, token });
        Assert.Multiple(async () =>
        {
            Assert.That(foreignCookie.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(foreignCookie.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(json.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
            Assert.That(await QueryScalarAsync<long>($"SELECT visit_count FROM links WHERE code = '{code}'"), Is.Zero);
        });
        await AssertProblemAsync(noToken, HttpStatusCode.BadRequest, "urn:shortlink:problem:form-rejected");
        await AssertProblemAsync(noCookie, HttpStatusCode.BadRequest, "urn:shortlink:problem:form-rejected");
    }

    [Test]
    public async Task A_form_served_by_one_instance_is_accepted_by_another()
    {
        var code = await ProtectedLinkAsync();
        using var browser = NewClient(key: null);
        var (token, cookie, _) = await PasswordFormAsync($"/{code}");
        await using var other = new ShortlinkApp(ConnectionString);
        using var otherBrowser = Browserless(other);
        using var posted = await otherBrowser.SendAsync(Post($"/{code}", token, cookie, Password));
        Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther), await posted.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task Patch_sets_changes_and_removes_the_password_and_other_changes_keep_it()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/later-protected" })).GetProperty("code").GetString();
        using var visitor = NewClient(key: null);
        async Task<(bool HasPassword, HttpStatusCode Visit)> PatchAsync(string json)
        {
            using var patched = await Http.PatchAsync($"/api/v1/links/{code}", new StringContent(json, Encoding.UTF8, "application/merge-patch+json"));
            var link = await patched.Content.ReadFromJsonAsync<JsonElement>();
            using var visit = await visitor.SendAsync(Visit($"/{code}"));
            return (link.GetProperty("hasPassword").GetBoolean(), visit.StatusCode);
        }
        var set = await PatchAsync("""{"password":"first secret"}""");
        var kept = await PatchAsync("""{"title":"still protected"}""");
        using var oldPassword = await visitor.SendAsync(Visit($"/{code}", "first secret"));
        var changed = await PatchAsync("""{"password":"second secret"}""");
        using var stale = await visitor.SendAsync(Visit($"/{code}", "first secret"));
        var removed = await PatchAsync("""{"password":null}""");
        Assert.Multiple(() =>
        {
            Assert.That(set, Is.EqualTo((true, HttpStatusCode.Unauthorized)));
            Assert.That(kept, Is.EqualTo((true, HttpStatusCode.Unauthorized)));
            Assert.That(oldPassword.StatusCode, Is.EqualTo(HttpStatusCode.Found));
            Assert.That(changed, Is.EqualTo((true, HttpStatusCode.Unauthorized)));
            Assert.That(stale.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(removed, Is.EqualTo((false, HttpStatusCode.Found)));
        });
    }

    [TestCase("abc")]
    [TestCase("tab\there")]
    public async Task A_password_that_breaks_the_rules_is_refused_on_create_patch_and_bulk(string password)
    {
        var before = await QueryScalarAsync<long>("SELECT COUNT(*) FROM links");
        using var created = await Http.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/p", password });
        var code = (await CreateLinkAsync(new { url = "https://example.com/p2" })).GetProperty("code").GetString();
        using var patched = await Http.PatchAsync($"/api/v1/links/{code}",
            new StringContent(JsonSerializer.Serialize(new { password }), Encoding.UTF8, "application/json"));
        using var bulk = await Http.PostAsJsonAsync("/api/v1/links/bulk", new { items = new[] { new { url = "https://example.com/p3", password } } });
        var item = (await bulk.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items")[0];
        var createdProblem = await AssertProblemAsync(created, HttpStatusCode.BadRequest, "urn:shortlink:problem:validation-failed");
        await AssertProblemAsync(patched, HttpStatusCode.BadRequest, "urn:shortlink:problem:validation-failed");
        Assert.Multiple(async () =>
        {
            Assert.That(createdProblem.GetProperty("errors").EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "password" }));
            Assert.That(item.GetProperty("status").GetInt32(), Is.EqualTo(400));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM links"), Is.EqualTo(before + 1));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM links WHERE password_hash IS NOT NULL AND code = @code", new { code }), Is.Zero);
        });
    }

    [Test]
    public async Task A_bulk_may_protect_up_to_a_hundred_items()
    {
        var items = Enumerable.Range(0, 101).Select(i => new { url = $"https://example.com/bulk-{i}", password = "bulk secret" }).ToArray();
        using var tooMany = await Http.PostAsJsonAsync("/api/v1/links/bulk", new { items });
        using var some = await Http.PostAsJsonAsync("/api/v1/links/bulk", new { items = items.Take(2).Append(new { url = "https://example.com/open", password = (string)null! }) });
        var answer = await some.Content.ReadFromJsonAsync<JsonElement>();
        await AssertProblemAsync(tooMany, HttpStatusCode.BadRequest, "urn:shortlink:problem:validation-failed");
        Assert.Multiple(() =>
        {
            Assert.That(answer.GetProperty("created").GetInt32(), Is.EqualTo(3));
            Assert.That(answer.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("link").GetProperty("hasPassword").GetBoolean()),
                Is.EqualTo(new[] { true, true, false }));
        });
    }

    [Test]
    public async Task A_retry_under_the_same_idempotency_key_replays_without_the_password_being_kept()
    {
        async Task<HttpResponseMessage> CreateAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/links")
            {
                Content = JsonContent.Create(new { url = "https://example.com/idempotent-secret", password = Password }),
            };
            request.Headers.Add("Idempotency-Key", "password-retry");
            return await Http.SendAsync(request);
        }
        using var first = await CreateAsync();
        using var retry = await CreateAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(retry.Headers.GetValues("Idempotent-Replayed"), Is.EqualTo(new[] { "true" }));
            Assert.That(await retry.Content.ReadAsStringAsync(), Is.EqualTo(await first.Content.ReadAsStringAsync()));
        });
    }
}

/// <summary>Wrong passwords are limited per client address and per link; past either, even the right one waits.</summary>
public sealed class WrongPasswordLimitTests : ApiTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:RateLimits:WrongPasswordsPerClientPerMinute"] = "2",
        ["Shortlink:RateLimits:WrongPasswordsPerLinkPerMinute"] = "3",
        ["Shortlink:Network:TrustedProxies:0"] = "127.0.0.1/32",
    };

    private async Task<HttpResponseMessage> TryAsync(string code, string from, string password)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/{code}");
        request.Headers.Add("X-Forwarded-For", from);
        request.Headers.Add("X-Link-Password", password);
        return await Http.SendAsync(request);
    }

    private async Task<string> ProtectedAsync() =>
        (await CreateLinkAsync(new { url = "https://example.com/guarded", password = "the right one" })).GetProperty("code").GetString()!;

    [Test]
    public async Task A_client_past_its_wrong_passwords_waits_even_with_the_right_one_and_other_clients_do_not()
    {
        var code = await ProtectedAsync();
        var other = await ProtectedAsync();
        var guesses = new List<int>();
        for (var i = 0; i < 2; i++)
        {
            using var guess = await TryAsync(code, "198.51.100.7", $"guess {i}");
            guesses.Add((int)guess.StatusCode);
        }
        using var rightButLate = await TryAsync(code, "198.51.100.7", "the right one");
        using var elsewhere = await TryAsync(other, "198.51.100.7", "the right one");
        using var anotherClient = await TryAsync(code, "198.51.100.8", "the right one");
        Assert.Multiple(() =>
        {
            Assert.That(guesses, Is.EqualTo(new[] { 401, 401 }));
            Assert.That(rightButLate.Headers.RetryAfter?.Delta, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(1)));
            Assert.That(elsewhere.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), "the address's quota covers every link");
            Assert.That(anotherClient.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        });
        await AssertProblemAsync(rightButLate, HttpStatusCode.TooManyRequests, "urn:shortlink:problem:too-many-requests");
    }

    [Test]
    public async Task Guesses_at_one_link_from_many_addresses_hold_that_link_only()
    {
        var code = await ProtectedAsync();
        var other = await ProtectedAsync();
        var guesses = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            using var guess = await TryAsync(code, $"203.0.113.{i + 1}", "wrong");
            guesses.Add((int)guess.StatusCode);
        }
        using var fresh = await TryAsync(code, "203.0.113.50", "the right one");
        using var otherLink = await TryAsync(other, "203.0.113.50", "the right one");
        Assert.Multiple(() =>
        {
            Assert.That(guesses, Is.EqualTo(new[] { 401, 401, 401 }));
            Assert.That(fresh.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(fresh.Headers.RetryAfter?.Delta, Is.Not.Null);
            Assert.That(otherLink.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        });
    }
}
