using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Blocklist;

/// <summary>
/// Blocked hosts and the service's own domain: no link may lead there, whatever notation slips a host in,
/// through create, bulk or PATCH; and blocking a domain stops its existing links at once, keeping them.
/// </summary>
public sealed class BlocklistApiTests : ApiTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:Security:BlockedDomains:0"] = "Configured.Example.",
        ["Shortlink:ShortDomainAliases:0"] = "go.sho.rt",
    };

    private async Task BlockAsync(string domain)
    {
        using var response = await Http.PutAsync($"/api/v1/blocklist/{domain}", null);
        Assert.That((int)response.StatusCode, Is.AnyOf(200, 201), await response.Content.ReadAsStringAsync());
    }

    [TestCase("https://evil.example/")]
    [TestCase("https://EVIL.EXAMPLE./x")]
    [TestCase("https://deep.sub.evil.example:8443/x")]
    [TestCase("https://configured.example/")]
    [TestCase("https://www.configured.example/")]
    [TestCase("https://xn--bcher-kva.example/")]
    [TestCase("https://BÜCHER.example./buch")]
    [TestCase("https://www.bücher.example/")]
    [TestCase("http://[2001:db8::1]/")]
    [TestCase("http://[2001:0DB8:0:0:0:0:0:1]:8080/")]
    public async Task A_link_to_a_blocked_host_is_refused_with_422_on_create_bulk_and_patch(string url)
    {
        await BlockAsync("evil.example");
        await BlockAsync("bücher.example");
        await BlockAsync("[2001:db8:0::1]");
        var before = await QueryScalarAsync<long>("SELECT COUNT(*) FROM links");
        using var created = await Http.PostAsJsonAsync("/api/v1/links", new { url });
        var existing = (await CreateLinkAsync(new { url = "https://example.com/fine" })).GetProperty("code").GetString();
        using var patched = await Http.PatchAsync($"/api/v1/links/{existing}",
            new StringContent(JsonSerializer.Serialize(new { url }), Encoding.UTF8, "application/merge-patch+json"));
        using var bulk = await Http.PostAsJsonAsync("/api/v1/links/bulk", new { items = new[] { new { url = "https://example.com/ok" }, new { url } } });
        var items = (await bulk.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items");
        await AssertProblemAsync(created, HttpStatusCode.UnprocessableEntity, "urn:shortlink:problem:url-blocked");
        await AssertProblemAsync(patched, HttpStatusCode.UnprocessableEntity, "urn:shortlink:problem:url-blocked");
        Assert.Multiple(async () =>
        {
            Assert.That(items[0].GetProperty("status").GetInt32(), Is.EqualTo(201));
            Assert.That(items[1].GetProperty("status").GetInt32(), Is.EqualTo(422));
            Assert.That(items[1].GetProperty("problem").GetProperty("type").GetString(), Is.EqualTo("urn:shortlink:problem:url-blocked"));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM links"), Is.EqualTo(before + 2), "only the fine link and the bulk's good item");
            Assert.That(await QueryScalarAsync<string>($"SELECT url FROM links WHERE code = '{existing}'"), Is.EqualTo("https://example.com/fine"));
        });
    }

    [TestCase("http://127.0.0.1/")]
    [TestCase("http://2130706433/")]
    [TestCase("http://0x7f.0.0.1/")]
    [TestCase("http://0177.0.0.1/x")]
    [TestCase("http://127.1/")]
    [TestCase("http://[::ffff:127.0.0.1]/")]
    [TestCase("http://[0:0:0:0:0:ffff:7f00:1]/")]
    public async Task A_blocked_address_is_refused_in_every_notation(string url)
    {
        await BlockAsync("0x7f.1");
        using var created = await Http.PostAsJsonAsync("/api/v1/links", new { url });
        await AssertProblemAsync(created, HttpStatusCode.UnprocessableEntity, "urn:shortlink:problem:url-blocked");
    }

    [TestCase("https://sho.rt/abc")]
    [TestCase("https://SHO.RT./abc")]
    [TestCase("https://sho.rt:443/abc")]
    [TestCase("http://sho.rt:8080/abc")]
    [TestCase("https://go.sho.rt/abc")]
    public async Task A_link_to_this_service_is_refused_as_a_loop_on_create_bulk_and_patch(string url)
    {
        using var created = await Http.PostAsJsonAsync("/api/v1/links", new { url });
        var existing = (await CreateLinkAsync(new { url = "https://example.com/no-loop" })).GetProperty("code").GetString();
        using var patched = await Http.PatchAsync($"/api/v1/links/{existing}",
            new StringContent(JsonSerializer.Serialize(new { url }), Encoding.UTF8, "application/merge-patch+json"));
        using var bulk = await Http.PostAsJsonAsync("/api/v1/links/bulk", new { items = new[] { new { url } } });
        var item = (await bulk.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items")[0];
        await AssertProblemAsync(created, HttpStatusCode.UnprocessableEntity, "urn:shortlink:problem:redirect-loop");
        await AssertProblemAsync(patched, HttpStatusCode.UnprocessableEntity, "urn:shortlink:problem:redirect-loop");
        Assert.That(item.GetProperty("problem").GetProperty("type").GetString(), Is.EqualTo("urn:shortlink:problem:redirect-loop"));
    }

    [TestCase("https://good.example@evil.example/")]
    [TestCase("https://user:secret@example.com/")]
    [TestCase("https://pаypal.example/")]
    [TestCase("https://www.аpple.com/")]
    public async Task Disguised_targets_are_refused_on_create_bulk_and_patch(string url)
    {
        var before = await QueryScalarAsync<long>("SELECT COUNT(*) FROM links");
        using var created = await Http.PostAsJsonAsync("/api/v1/links", new { url });
        var existing = (await CreateLinkAsync(new { url = "https://example.com/undisguised" })).GetProperty("code").GetString();
        using var patched = await Http.PatchAsync($"/api/v1/links/{existing}",
            new StringContent(JsonSerializer.Serialize(new { url }), Encoding.UTF8, "application/merge-patch+json"));
        using var bulk = await Http.PostAsJsonAsync("/api/v1/links/bulk", new { items = new[] { new { url } } });
        var item = (await bulk.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items")[0];
        await AssertProblemAsync(created, HttpStatusCode.BadRequest, "urn:shortlink:problem:validation-failed");
        await AssertProblemAsync(patched, HttpStatusCode.BadRequest, "urn:shortlink:problem:validation-failed");
        Assert.Multiple(async () =>
        {
            Assert.That(item.GetProperty("status").GetInt32(), Is.EqualTo(400));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM links"), Is.EqualTo(before + 1), "only the undisguised link");
            Assert.That(await QueryScalarAsync<string>($"SELECT url FROM links WHERE code = '{existing}'"), Is.EqualTo("https://example.com/undisguised"));
        });
    }

    [Test]
    public async Task A_name_in_one_script_other_than_latin_is_accepted_and_stored_as_punycode()
    {
        var link = await CreateLinkAsync(new { url = "https://пример.испытание/путь" });
        Assert.That(link.GetProperty("url").GetString(), Does.StartWith("https://xn--e1afmkfd.xn--80akhbyknj4f/"));
    }

    [Test]
    public async Task Blocking_a_domain_stops_its_links_at_once_and_unblocking_restores_them()
    {
        var code = (await CreateLinkAsync(new { url = "https://later-bad.example/page" })).GetProperty("code").GetString();
        using var visitor = NewClient(key: null);
        using var before = await visitor.GetAsync($"/{code}");
        await BlockAsync("later-bad.example");
        using var blocked = await visitor.GetAsync($"/{code}");
        using var browser = new HttpRequestMessage(HttpMethod.Get, $"/{code}");
        browser.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
        using var page = await visitor.SendAsync(browser);
        using var unblocked = await Http.DeleteAsync("/api/v1/blocklist/later-bad.example");
        using var after = await visitor.GetAsync($"/{code}");
        Assert.Multiple(async () =>
        {
            Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.Found));
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.Gone));
            Assert.That(page.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(await QueryScalarAsync<long>($"SELECT COUNT(*) FROM links WHERE code = '{code}' AND deleted_at IS NULL"), Is.EqualTo(1));
            Assert.That(unblocked.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        });
        await AssertProblemAsync(blocked, HttpStatusCode.Gone, "urn:shortlink:problem:link-blocked");
    }

    [Test]
    public async Task A_redirect_is_stopped_by_a_block_of_its_host_or_any_domain_above_it_and_nothing_else()
    {
        var cases = new Dictionary<string, HttpStatusCode>
        {
            ["https://deep.sub.parent-bad.example/x"] = HttpStatusCode.Gone,
            ["https://PARENT-BAD.example./y"] = HttpStatusCode.Gone,
            ["http://198.51.100.9/"] = HttpStatusCode.Gone,
            ["http://[::ffff:198.51.100.9]:8080/"] = HttpStatusCode.Gone,
            ["https://notparent-bad.example/"] = HttpStatusCode.Found,
            ["https://parent-bad.example.org/"] = HttpStatusCode.Found,
            ["http://198.51.100.90/"] = HttpStatusCode.Found,
        };
        var codes = new Dictionary<string, string>();
        using var visitor = NewClient(key: null);
        foreach (var url in cases.Keys)
        {
            codes[url] = (await CreateLinkAsync(new { url })).GetProperty("code").GetString()!;
            // Visited once before the block, so that the check runs on the cached link.
            (await visitor.GetAsync($"/{codes[url]}")).Dispose();
        }
        await BlockAsync("parent-bad.example");
        await BlockAsync("198.51.100.9");
        var answers = new Dictionary<string, HttpStatusCode>();
        foreach (var (url, code) in codes)
        {
            using var response = await visitor.GetAsync($"/{code}");
            answers[url] = response.StatusCode;
        }
        Assert.That(answers, Is.EqualTo(cases));
    }

    [Test]
    public async Task Another_instance_stops_the_links_within_a_second()
    {
        var code = (await CreateLinkAsync(new { url = "https://elsewhere-bad.example/" })).GetProperty("code").GetString();
        await using var other = new ShortlinkApp(ConnectionString);
        using var otherVisitor = other.CreateClient(new() { AllowAutoRedirect = false });
        using var before = await otherVisitor.GetAsync($"/{code}");
        await BlockAsync("elsewhere-bad.example");
        var blockedAt = DateTime.UtcNow;
        await Eventually.TrueAsync(async () =>
        {
            using var response = await otherVisitor.GetAsync($"/{code}");
            return response.StatusCode == HttpStatusCode.Gone;
        }, TimeSpan.FromSeconds(5));
        Assert.Multiple(() =>
        {
            Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.Found));
            Assert.That(DateTime.UtcNow - blockedAt, Is.LessThan(TimeSpan.FromSeconds(2)), "the other instance read the list within a second");
        });
    }

    [Test]
    public async Task The_list_shows_both_sources_and_configured_entries_cannot_be_removed_through_the_api()
    {
        await BlockAsync("Listed.Example.");
        using var again = await Http.PutAsync("/api/v1/blocklist/listed.example", null);
        var list = await Http.GetFromJsonAsync<JsonElement>("/api/v1/blocklist");
        var entries = list.GetProperty("items").EnumerateArray()
            .Select(item => (item.GetProperty("domain").GetString(), item.GetProperty("source").GetString())).ToList();
        using var configured = await Http.DeleteAsync("/api/v1/blocklist/configured.example");
        using var missing = await Http.DeleteAsync("/api/v1/blocklist/never-blocked.example");
        using var invalid = await Http.PutAsync("/api/v1/blocklist/user@evil.example", null);
        Assert.Multiple(() =>
        {
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(entries, Does.Contain(("listed.example", "api")));
            Assert.That(entries, Does.Contain(("configured.example", "configuration")));
        });
        await AssertProblemAsync(configured, HttpStatusCode.Conflict, "urn:shortlink:problem:domain-blocked-by-configuration");
        await AssertProblemAsync(missing, HttpStatusCode.NotFound, "urn:shortlink:problem:domain-not-blocked");
        await AssertProblemAsync(invalid, HttpStatusCode.BadRequest, "urn:shortlink:problem:validation-failed");
    }
}
