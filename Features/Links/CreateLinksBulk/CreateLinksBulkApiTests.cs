using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Links;

public sealed class CreateLinksBulkApiTests : ApiTestBase
{
    [Test]
    public async Task Each_item_answers_for_itself()
    {
        await CreateLinkAsync(new { url = "https://example.com/existing", slug = "bulk-taken" });
        using var response = await Http.PostAsJsonAsync("/api/v1/links/bulk", new
        {
            items = new object?[]
            {
                new { url = "https://example.com/ok-1" },
                new { url = "ftp://example.com/bad" },
                new { url = "https://example.com/taken", slug = "bulk-taken" },
                new { url = "https://example.com/dup-1", slug = "bulk-dup" },
                new { url = "https://example.com/dup-2", slug = "bulk-dup" },
                null,
                new { url = "https://example.com/ok-2", tags = new[] { "bulk" }, redirectType = 301 },
            },
        });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var items = body.GetProperty("items").EnumerateArray().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(items.Select(i => i.GetProperty("index").GetInt32()), Is.EqualTo(Enumerable.Range(0, 7)));
            Assert.That(items.Select(i => i.GetProperty("status").GetInt32()), Is.EqualTo(new[] { 201, 400, 409, 201, 409, 400, 201 }));
            Assert.That(body.GetProperty("created").GetInt32(), Is.EqualTo(3));
            Assert.That(body.GetProperty("failed").GetInt32(), Is.EqualTo(4));
            Assert.That(items[1].GetProperty("problem").GetProperty("errors").EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "url" }));
            Assert.That(items[2].GetProperty("problem").GetProperty("type").GetString(), Is.EqualTo("urn:shortlink:problem:slug-taken"));
            Assert.That(items[6].GetProperty("link").GetProperty("redirectType").GetInt32(), Is.EqualTo(301));
        });
        using var redirect = await Http.GetAsync($"/{items[6].GetProperty("link").GetProperty("code").GetString()}");
        Assert.That(redirect.Headers.Location?.OriginalString, Is.EqualTo("https://example.com/ok-2"));
    }

    [Test]
    public async Task A_thousand_links_are_created_in_one_call()
    {
        var before = await QueryScalarAsync<long>("SELECT COUNT(*) FROM links");
        using var response = await Http.PostAsJsonAsync("/api/v1/links/bulk",
            new { items = Enumerable.Range(0, 1000).Select(i => new { url = $"https://example.com/bulk/{i}" }) });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Multiple(async () =>
        {
            Assert.That(body.GetProperty("created").GetInt32(), Is.EqualTo(1000));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM links"), Is.EqualTo(before + 1000));
        });
    }

    [Test]
    public async Task Concurrent_bulks_with_overlapping_slugs_answer_each_item_and_store_each_slug_once()
    {
        var random = new Random(20261125);
        var pool = Enumerable.Range(0, 1500).Select(i => $"overlap-{i:D4}").ToArray();
        var bulks = Enumerable.Range(0, 8).Select(_ => pool.OrderBy(_ => random.Next()).Take(1000).ToArray()).ToArray();
        var answers = await Task.WhenAll(bulks.Select(async slugs =>
        {
            using var response = await Http.PostAsJsonAsync("/api/v1/links/bulk",
                new { items = slugs.Select(slug => new { url = $"https://example.com/{slug}", slug }) });
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            return body.GetProperty("items").EnumerateArray()
                .Select(item => (Slug: slugs[item.GetProperty("index").GetInt32()], Status: item.GetProperty("status").GetInt32(),
                    Type: item.GetProperty("problem").ValueKind == JsonValueKind.Null ? "created" : item.GetProperty("problem").GetProperty("type").GetString()))
                .ToList();
        }));
        var items = answers.SelectMany(answer => answer).ToList();
        TestContext.Out.WriteLine(string.Join(", ", items.GroupBy(item => item.Type).Select(g => $"{g.Key}×{g.Count()}")));
        var createdSlugs = items.Where(item => item.Status == 201).Select(item => item.Slug).ToList();
        await using var connection = new MySqlConnector.MySqlConnection(ConnectionString);
        var stored = (await Dapper.SqlMapper.QueryAsync<string>(connection, "SELECT code FROM links WHERE code LIKE 'overlap-%'")).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(items, Has.Count.EqualTo(8000));
            Assert.That(items.Select(item => item.Status), Is.All.AnyOf(201, 409));
            Assert.That(createdSlugs, Is.Not.Empty.And.Unique, "a slug was answered 201 twice");
            Assert.That(stored, Is.EquivalentTo(createdSlugs), "every 201 is stored, and nothing else");
            Assert.That(items.Select(item => item.Type), Is.All.AnyOf("created", "urn:shortlink:problem:slug-taken", "urn:shortlink:problem:write-conflict"));
        });
    }

    [Test]
    public async Task More_than_a_thousand_items_are_refused_and_nothing_is_stored()
    {
        var before = await QueryScalarAsync<long>("SELECT COUNT(*) FROM links");
        using var response = await Http.PostAsJsonAsync("/api/v1/links/bulk",
            new { items = Enumerable.Range(0, 1001).Select(i => new { url = $"https://example.com/{i}" }) });
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:shortlink:problem:validation-failed");
        Assert.Multiple(async () =>
        {
            Assert.That(problem.GetProperty("errors").GetProperty("items")[0].GetString(), Does.Contain("1000"));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM links"), Is.EqualTo(before));
        });
    }

    [TestCase("""{"items":[{"url":"https://example.com/a"},{"url":"https://example.com/b","url":"https://example.com/c"}]}""", "$.items[1].url")]
    [TestCase("""{"items":[{"url":"https://example.com/a","maxVisits":"3"}]}""", "$.items[0].maxVisits")]
    [TestCase("""{"items":[{"url":"https://example.com/a","expiresAt":"2099-01-01T00:00:00"}]}""", "$.items[0].expiresAt")]
    public async Task A_body_that_breaks_the_strict_reading_refuses_the_whole_bulk(string json, string path)
    {
        var before = await QueryScalarAsync<long>("SELECT COUNT(*) FROM links");
        using var response = await PostJsonAsync("/api/v1/links/bulk", json);
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:shortlink:problem:malformed-request");
        Assert.Multiple(async () =>
        {
            Assert.That(problem.GetProperty("path").GetString(), Is.EqualTo(path));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM links"), Is.EqualTo(before));
        });
    }

    [TestCase("{}")]
    [TestCase("""{"items":[]}""")]
    public async Task An_empty_bulk_is_refused(string json)
    {
        using var response = await PostJsonAsync("/api/v1/links/bulk", json);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:shortlink:problem:validation-failed");
    }

    [Test]
    public async Task A_bulk_body_over_its_cap_returns_413()
    {
        var huge = $$"""{"items":[{"url":"https://example.com/{{new string('x', 5 * 1024 * 1024)}}"}]}""";
        using var response = await PostJsonAsync("/api/v1/links/bulk", huge);
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "urn:shortlink:problem:payload-too-large");
    }

    [Test]
    public async Task A_bulk_whose_every_item_failed_does_not_bind_its_idempotency_key()
    {
        async Task<HttpResponseMessage> Send(string json)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/links/bulk")
            {
                Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("Idempotency-Key", "bulk-all-failed");
            return await Http.SendAsync(request);
        }
        using var failed = await Send("""{"items":[{"url":"ftp://example.com/a"},{"url":"nope"}]}""");
        using var corrected = await Send("""{"items":[{"url":"https://example.com/a"},{"url":"https://example.com/b"}]}""");
        var body = await corrected.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Multiple(async () =>
        {
            Assert.That((await failed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("created").GetInt32(), Is.Zero);
            Assert.That(corrected.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
            Assert.That(body.GetProperty("created").GetInt32(), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task A_bulk_retried_with_its_idempotency_key_creates_nothing_more()
    {
        var json = """{"items":[{"url":"https://example.com/i1"},{"url":"https://example.com/i2"}]}""";
        async Task<HttpResponseMessage> Send()
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/links/bulk")
            {
                Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("Idempotency-Key", "bulk-key-1");
            return await Http.SendAsync(request);
        }
        using var first = await Send();
        var count = await QueryScalarAsync<long>("SELECT COUNT(*) FROM links");
        using var second = await Send();
        Assert.Multiple(async () =>
        {
            Assert.That(await second.Content.ReadAsStringAsync(), Is.EqualTo(await first.Content.ReadAsStringAsync()));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM links"), Is.EqualTo(count));
        });
    }
}
