using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Links;

public sealed class UpdateLinkApiTests : ApiTestBase
{
    private Task<HttpResponseMessage> PatchAsync(string code, string json, string contentType = "application/merge-patch+json") =>
        Http.PatchAsync($"/api/v1/links/{code}", new StringContent(json, Encoding.UTF8, contentType));

    [Test]
    public async Task Patch_changes_only_the_fields_it_names()
    {
        var created = await CreateLinkAsync(new { url = "https://example.com/v1", title = "Keep me", tags = new[] { "t" }, maxVisits = 9 });
        var code = created.GetProperty("code").GetString()!;
        App.Clock.Advance(TimeSpan.FromSeconds(5));
        using var response = await PatchAsync(code, """{"url":"https://example.com/v2","redirectType":301}""");
        var updated = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(updated.GetProperty("code").GetString(), Is.EqualTo(code));
            Assert.That(updated.GetProperty("url").GetString(), Is.EqualTo("https://example.com/v2"));
            Assert.That(updated.GetProperty("redirectType").GetInt32(), Is.EqualTo(301));
            Assert.That(updated.GetProperty("title").GetString(), Is.EqualTo("Keep me"));
            Assert.That(updated.GetProperty("tags")[0].GetString(), Is.EqualTo("t"));
            Assert.That(updated.GetProperty("maxVisits").GetInt32(), Is.EqualTo(9));
            Assert.That(updated.GetProperty("updatedAt").GetDateTimeOffset(),
                Is.GreaterThan(created.GetProperty("updatedAt").GetDateTimeOffset()));
        });
        using var redirect = await Http.GetAsync($"/{code}");
        Assert.Multiple(() =>
        {
            Assert.That(redirect.StatusCode, Is.EqualTo(HttpStatusCode.MovedPermanently));
            Assert.That(redirect.Headers.Location?.OriginalString, Is.EqualTo("https://example.com/v2"));
        });
    }

    [Test]
    public async Task Patch_with_null_clears_title_tags_expiry_and_limit()
    {
        var now = App.Clock.GetUtcNow();
        var code = (await CreateLinkAsync(new
        {
            url = "https://example.com/clear", title = "T", tags = new[] { "a", "b" }, expiresAt = now.AddDays(1),
            validFrom = now.AddHours(-1), maxVisits = 3,
        })).GetProperty("code").GetString()!;
        using var response = await PatchAsync(code, """{"title":null,"tags":null,"expiresAt":null,"validFrom":null,"maxVisits":null}""");
        var read = await Http.GetFromJsonAsync<JsonElement>($"/api/v1/links/{code}");
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(read.GetProperty("title").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(read.GetProperty("tags").GetArrayLength(), Is.Zero);
            Assert.That(read.GetProperty("expiresAt").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(read.GetProperty("validFrom").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(read.GetProperty("maxVisits").ValueKind, Is.EqualTo(JsonValueKind.Null));
        });
    }

    [Test]
    public async Task Patch_replaces_tags_and_accepts_plain_json()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/tags", tags = new[] { "old" } })).GetProperty("code").GetString()!;
        using var response = await PatchAsync(code, """{"tags":["new","newer"]}""", "application/json");
        var updated = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(updated.GetProperty("tags").EnumerateArray().Select(t => t.GetString()), Is.EqualTo(new[] { "new", "newer" }));
    }

    [TestCase("""{"url":null}""", "url")]
    [TestCase("""{"url":"javascript:alert(1)"}""", "url")]
    [TestCase("""{"redirectType":null}""", "redirectType")]
    [TestCase("""{"redirectType":300}""", "redirectType")]
    [TestCase("""{"forwardQuery":null}""", "forwardQuery")]
    [TestCase("""{"maxVisits":-1}""", "maxVisits")]
    [TestCase("""{"expiresAt":"2000-01-01T00:00:00Z"}""", "expiresAt")]
    [TestCase("""{"tags":["  padded"]}""", "tags")]
    public async Task Patch_applies_the_create_rules_and_changes_nothing_when_refused(string json, string field)
    {
        var created = await CreateLinkAsync(new { url = "https://example.com/rules" });
        var code = created.GetProperty("code").GetString()!;
        using var response = await PatchAsync(code, json);
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:shortlink:problem:validation-failed");
        var read = await Http.GetFromJsonAsync<JsonElement>($"/api/v1/links/{code}");
        Assert.Multiple(() =>
        {
            Assert.That(problem.GetProperty("errors").EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { field }));
            Assert.That(read.ToString(), Is.EqualTo(created.ToString()));
        });
    }

    [TestCase("""{"tags":"a"}""", "$.tags")]
    [TestCase("""{"tags":["a",1]}""", "$.tags[1]")]
    [TestCase("""{"maxVisits":"5"}""", "$.maxVisits")]
    [TestCase("""{"expiresAt":"2099-01-01T00:00:00"}""", "$.expiresAt")]
    [TestCase("""{"title":"first","title":"second"}""", "$.title")]
    [TestCase("""{"Title":"x"}""", "$.Title")]
    public async Task Patch_reads_its_body_strictly_and_names_the_path(string json, string path)
    {
        var created = await CreateLinkAsync(new { url = "https://example.com/strict-patch", title = "Before" });
        var code = created.GetProperty("code").GetString()!;
        using var response = await PatchAsync(code, json);
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:shortlink:problem:malformed-request");
        var read = await Http.GetFromJsonAsync<JsonElement>($"/api/v1/links/{code}");
        Assert.Multiple(() =>
        {
            Assert.That(problem.GetProperty("path").GetString(), Is.EqualTo(path));
            Assert.That(read.ToString(), Is.EqualTo(created.ToString()));
        });
    }

    [Test]
    public async Task Patch_refuses_an_expiry_before_the_stored_valid_from()
    {
        var now = App.Clock.GetUtcNow();
        var code = (await CreateLinkAsync(new { url = "https://example.com/w", validFrom = now.AddDays(2) })).GetProperty("code").GetString()!;
        using var response = await PatchAsync(code, JsonSerializer.Serialize(new { expiresAt = now.AddDays(1) }));
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:shortlink:problem:validation-failed");
    }

    [Test]
    public async Task The_code_cannot_change()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/code" })).GetProperty("code").GetString()!;
        using var response = await PatchAsync(code, """{"code":"other-code"}""");
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:shortlink:problem:malformed-request");
        using var read = await Http.GetAsync($"/api/v1/links/{code}");
        Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Patch_of_an_unknown_code_returns_404()
    {
        using var response = await PatchAsync("missing-link", """{"title":"x"}""");
        await AssertProblemAsync(response, HttpStatusCode.NotFound, "urn:shortlink:problem:link-not-found");
    }

    [TestCase("application/json-patch+json", 415)]
    [TestCase("application/json; charset=utf-16", 415)]
    [TestCase("application/problem+json", 415)]
    [TestCase("application/merge-patch+json", 200)]
    [TestCase("application/merge-patch+json; charset=utf-8", 200)]
    [TestCase("Application/JSON", 200)]
    public async Task Patch_reads_merge_patch_and_json_only(string contentType, int status)
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/media-types" })).GetProperty("code").GetString()!;
        using var content = new StringContent("""{"title":"x"}""", Encoding.UTF8);
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        using var response = await Http.PatchAsync($"/api/v1/links/{code}", content);
        if (status == 415)
        {
            await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "urn:shortlink:problem:unsupported-media-type");
        }
        Assert.That((int)response.StatusCode, Is.EqualTo(status));
    }

    [Test]
    public async Task Patch_with_text_content_returns_415()
    {
        using var response = await PatchAsync("whatever", """{"title":"x"}""", "text/plain");
        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "urn:shortlink:problem:unsupported-media-type");
    }
}
