using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Links;

public sealed class CreateLinkApiTests : ApiTestBase
{
    private const string ValidationFailed = "urn:shortlink:problem:validation-failed";
    private const string Malformed = "urn:shortlink:problem:malformed-request";

    [Test]
    public async Task Post_creates_a_link_with_a_generated_code_and_answers_201_with_location()
    {
        using var response = await Http.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/a?b=1#c" });
        var link = await response.Content.ReadFromJsonAsync<JsonElement>();
        var code = link.GetProperty("code").GetString()!;
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(response.Headers.Location?.OriginalString, Is.EqualTo($"/api/v1/links/{code}"));
            Assert.That(code, Does.Match("^[0-9A-Za-z]{7}$"));
            Assert.That(link.GetProperty("shortUrl").GetString(), Is.EqualTo($"{ShortlinkApp.PublicBaseUrl}/{code}"));
            Assert.That(link.GetProperty("url").GetString(), Is.EqualTo("https://example.com/a?b=1#c"));
            Assert.That(link.GetProperty("redirectType").GetInt32(), Is.EqualTo(302));
            Assert.That(link.GetProperty("forwardQuery").GetBoolean(), Is.True);
            Assert.That(link.GetProperty("tags").GetArrayLength(), Is.Zero);
            Assert.That(link.GetProperty("title").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(link.GetProperty("createdAt").GetDateTimeOffset(), Is.EqualTo(App.Clock.GetUtcNow()).Within(TimeSpan.FromSeconds(1)));
        });
    }

    [Test]
    public async Task Post_with_every_field_stores_and_returns_them()
    {
        var now = App.Clock.GetUtcNow();
        var link = await CreateLinkAsync(new
        {
            url = "https://example.com/full",
            slug = "Full_Fields-1",
            title = "Every field ✓",
            tags = new[] { "b", "a", "a" },
            validFrom = now.AddHours(-1),
            expiresAt = now.AddDays(1),
            maxVisits = 5,
            redirectType = 308,
            forwardQuery = false,
        });
        var read = await Http.GetFromJsonAsync<JsonElement>("/api/v1/links/Full_Fields-1");
        Assert.Multiple(() =>
        {
            Assert.That(read.ToString(), Is.EqualTo(link.ToString()));
            Assert.That(read.GetProperty("tags").EnumerateArray().Select(t => t.GetString()), Is.EqualTo(new[] { "a", "b" }));
            Assert.That(read.GetProperty("title").GetString(), Is.EqualTo("Every field ✓"));
            Assert.That(read.GetProperty("maxVisits").GetInt32(), Is.EqualTo(5));
            Assert.That(read.GetProperty("redirectType").GetInt32(), Is.EqualTo(308));
            Assert.That(read.GetProperty("forwardQuery").GetBoolean(), Is.False);
        });
    }

    [Test]
    public async Task Post_with_taken_slug_returns_409()
    {
        await CreateLinkAsync(new { url = "https://example.com/1", slug = "taken-slug" });
        using var response = await Http.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/2", slug = "taken-slug" });
        var problem = await AssertProblemAsync(response, HttpStatusCode.Conflict, "urn:shortlink:problem:slug-taken");
        Assert.That(problem.GetProperty("slug").GetString(), Is.EqualTo("taken-slug"));
    }

    [Test]
    public async Task Slugs_are_case_sensitive()
    {
        await CreateLinkAsync(new { url = "https://example.com/lower", slug = "casey" });
        await CreateLinkAsync(new { url = "https://example.com/upper", slug = "CASEY" });
        var lower = await Http.GetFromJsonAsync<JsonElement>("/api/v1/links/casey");
        var upper = await Http.GetFromJsonAsync<JsonElement>("/api/v1/links/CASEY");
        Assert.Multiple(() =>
        {
            Assert.That(lower.GetProperty("url").GetString(), Is.EqualTo("https://example.com/lower"));
            Assert.That(upper.GetProperty("url").GetString(), Is.EqualTo("https://example.com/upper"));
        });
    }

    [Test]
    public async Task Internationalised_urls_are_stored_in_ascii_form()
    {
        var link = await CreateLinkAsync(new { url = "https://bücher.example/straße" });
        var stored = await QueryScalarAsync<string>("SELECT url FROM links WHERE code = @code", new { code = link.GetProperty("code").GetString() });
        Assert.Multiple(() =>
        {
            Assert.That(stored, Is.EqualTo("https://xn--bcher-kva.example/stra%C3%9Fe"));
            Assert.That(link.GetProperty("url").GetString(), Is.EqualTo(stored));
        });
    }

    private static IEnumerable<TestCaseData> InvalidBodies()
    {
        yield return new TestCaseData("{}", "url").SetName("Post_without_url_returns_400");
        yield return new TestCaseData("""{"url":""}""", "url").SetName("Post_with_empty_url_returns_400");
        yield return new TestCaseData("""{"url":"/relative"}""", "url").SetName("Post_with_relative_url_returns_400");
        yield return new TestCaseData("""{"url":"javascript:alert(1)"}""", "url").SetName("Post_with_javascript_url_returns_400");
        yield return new TestCaseData("""{"url":"data:text/html,hi"}""", "url").SetName("Post_with_data_url_returns_400");
        yield return new TestCaseData("""{"url":"file:///etc/passwd"}""", "url").SetName("Post_with_file_url_returns_400");
        yield return new TestCaseData("""{"url":"ftp://example.com/x"}""", "url").SetName("Post_with_ftp_url_returns_400");
        yield return new TestCaseData("""{"url":"https://"}""", "url").SetName("Post_with_hostless_url_returns_400");
        yield return new TestCaseData($$"""{"url":"https://example.com/{{new string('a', 2100)}}"}""", "url").SetName("Post_with_too_long_url_returns_400");
        yield return new TestCaseData("""{"url":"https://example.com/\u0000"}""", "url").SetName("Post_with_control_character_url_returns_400");
        yield return new TestCaseData("""{"url":"https://example.com","slug":"ab"}""", "slug").SetName("Post_with_short_slug_returns_400");
        yield return new TestCaseData($$"""{"url":"https://example.com","slug":"{{new string('s', 65)}}"}""", "slug").SetName("Post_with_long_slug_returns_400");
        yield return new TestCaseData("""{"url":"https://example.com","slug":"has space"}""", "slug").SetName("Post_with_bad_slug_characters_returns_400");
        yield return new TestCaseData("""{"url":"https://example.com","slug":"swagger"}""", "slug").SetName("Post_with_reserved_slug_returns_400");
        yield return new TestCaseData("""{"url":"https://example.com","slug":"Metrics"}""", "slug").SetName("Post_with_reserved_slug_in_other_case_returns_400");
        yield return new TestCaseData("""{"url":"https://example.com","redirectType":303}""", "redirectType").SetName("Post_with_redirect_type_303_returns_400");
        yield return new TestCaseData("""{"url":"https://example.com","maxVisits":0}""", "maxVisits").SetName("Post_with_zero_max_visits_returns_400");
        yield return new TestCaseData("""{"url":"https://example.com","expiresAt":"2001-01-01T00:00:00Z"}""", "expiresAt").SetName("Post_with_past_expiry_returns_400");
        yield return new TestCaseData("""{"url":"https://example.com","expiresAt":"2999-01-01T00:00:00Z","validFrom":"2999-02-01T00:00:00Z"}""", "expiresAt").SetName("Post_with_expiry_before_valid_from_returns_400");
        yield return new TestCaseData($$"""{"url":"https://example.com","tags":[{{string.Join(',', Enumerable.Range(0, 21).Select(i => $"\"t{i}\""))}}]}""", "tags").SetName("Post_with_21_tags_returns_400");
        yield return new TestCaseData($$"""{"url":"https://example.com","tags":["{{new string('t', 51)}}"]}""", "tags").SetName("Post_with_long_tag_returns_400");
        yield return new TestCaseData("""{"url":"https://example.com","tags":[""]}""", "tags").SetName("Post_with_empty_tag_returns_400");
        yield return new TestCaseData($$"""{"url":"https://example.com","title":"{{new string('t', 513)}}"}""", "title").SetName("Post_with_long_title_returns_400");
    }

    [TestCaseSource(nameof(InvalidBodies))]
    public async Task Invalid_fields_return_400_naming_the_field_and_store_nothing(string body, string field)
    {
        var before = await QueryScalarAsync<long>("SELECT COUNT(*) FROM links");
        using var response = await PostJsonAsync("/api/v1/links", body);
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, ValidationFailed);
        Assert.Multiple(async () =>
        {
            Assert.That(problem.GetProperty("errors").EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { field }));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM links"), Is.EqualTo(before));
        });
    }

    [TestCase("{\"url\":", TestName = "Post_with_truncated_json_returns_400")]
    [TestCase("not json", TestName = "Post_with_text_body_returns_400")]
    [TestCase("[1,2,3]", TestName = "Post_with_array_body_returns_400")]
    [TestCase("{\"url\":42}", TestName = "Post_with_number_url_returns_400")]
    [TestCase("{\"url\":\"https://example.com\",\"maxVisits\":\"ten\"}", TestName = "Post_with_string_max_visits_returns_400")]
    [TestCase("{\"url\":\"https://example.com\",\"maxVisits\":99999999999}", TestName = "Post_with_overflowing_max_visits_returns_400")]
    [TestCase("{\"url\":\"https://example.com\",\"forwardQuery\":\"yes\"}", TestName = "Post_with_string_boolean_returns_400")]
    [TestCase("{\"url\":\"https://example.com\",\"expiresAt\":\"tomorrow\"}", TestName = "Post_with_unparseable_date_returns_400")]
    [TestCase("{\"url\":\"https://example.com\",\"expiresIn\":60}", TestName = "Post_with_unknown_field_returns_400")]
    [TestCase("", TestName = "Post_with_empty_body_returns_400")]
    public async Task Malformed_bodies_return_400(string body)
    {
        using var response = await PostJsonAsync("/api/v1/links", body);
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, Malformed);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Not.Contain("System."));
    }

    [TestCase("{\"url\":\"https://example.com\",\"maxVisits\":\"5\"}", "$.maxVisits", "wrong type", TestName = "Post_with_a_number_sent_as_a_string_returns_400")]
    [TestCase("{\"url\":\"https://example.com\",\"forwardQuery\":\"true\"}", "$.forwardQuery", "wrong type", TestName = "Post_with_a_boolean_sent_as_a_string_returns_400")]
    [TestCase("{\"URL\":\"https://example.com\"}", "$.URL", "Unknown field", TestName = "Post_with_a_field_name_in_another_letter_case_returns_400")]
    [TestCase("{\"url\":\"https://example.com\",\"slug\":\"first-slug\",\"slug\":\"second-slug\"}", "$.slug", "more than once", TestName = "Post_with_a_field_given_twice_returns_400")]
    [TestCase("{\"url\":\"https://example.com\",\"expiresAt\":\"2099-01-01T00:00:00\"}", "$.expiresAt", "needs its offset", TestName = "Post_with_a_date_time_without_offset_returns_400")]
    [TestCase("{\"url\":\"https://example.com\",\"validFrom\":\"2099-01-01\"}", "$.validFrom", "needs its offset", TestName = "Post_with_a_date_without_time_and_offset_returns_400")]
    [TestCase("{\"url\":\"https://example.com\",\"tags\":[\"a\",1]}", "$.tags[1]", "wrong type", TestName = "Post_with_a_wrong_type_inside_an_array_names_its_index")]
    public async Task Bodies_are_read_strictly_and_the_problem_names_the_path(string body, string path, string detail)
    {
        var before = await QueryScalarAsync<long>("SELECT COUNT(*) FROM links");
        using var response = await PostJsonAsync("/api/v1/links", body);
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, Malformed);
        Assert.Multiple(async () =>
        {
            Assert.That(problem.GetProperty("path").GetString(), Is.EqualTo(path));
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain(detail).And.Contain(path));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM links"), Is.EqualTo(before));
        });
    }

    [Test]
    public async Task Date_times_with_an_offset_are_stored_as_the_instant_they_name()
    {
        var link = await CreateLinkAsync(new { url = "https://example.com/offset", expiresAt = "2099-01-01T02:00:00+02:00" });
        var stored = await QueryScalarAsync<DateTime>("SELECT expires_at FROM links WHERE code = @code",
            new { code = link.GetProperty("code").GetString() });
        Assert.Multiple(() =>
        {
            Assert.That(link.GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero)));
            Assert.That(stored, Is.EqualTo(new DateTime(2099, 1, 1, 0, 0, 0)));
        });
    }

    [Test]
    public async Task A_start_and_an_expiry_within_one_stored_millisecond_are_refused()
    {
        // Apart by less than the millisecond a DATETIME(3) keeps: stored, they would be equal, and the link never valid.
        using var response = await PostJsonAsync("/api/v1/links",
            """{"url":"https://example.com/never","validFrom":"2099-01-01T00:00:00.0001Z","expiresAt":"2099-01-01T00:00:00.0009Z"}""");
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, ValidationFailed);
        Assert.That(problem.GetProperty("errors").EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "expiresAt" }));
    }

    [Test]
    public async Task Post_with_wrong_content_type_returns_415()
    {
        using var response = await PostJsonAsync("/api/v1/links", """{"url":"https://example.com"}""", "text/plain");
        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "urn:shortlink:problem:unsupported-media-type");
    }

    [Test]
    public async Task Post_over_64_KiB_returns_413()
    {
        var body = $$"""{"url":"https://example.com","title":"{{new string('t', 70_000)}}"}""";
        using var response = await PostJsonAsync("/api/v1/links", body);
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "urn:shortlink:problem:payload-too-large");
    }

    [Test]
    public async Task Same_idempotency_key_and_body_replays_the_first_response_without_creating()
    {
        var before = await QueryScalarAsync<long>("SELECT COUNT(*) FROM links");
        using var first = await PostWithKeyAsync("key-replay-1", """{"url":"https://example.com/idem"}""");
        using var second = await PostWithKeyAsync("key-replay-1", """{ "url" : "https://example.com/idem" }""");
        Assert.Multiple(async () =>
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(second.Headers.Location, Is.EqualTo(first.Headers.Location));
            Assert.That(await second.Content.ReadAsStringAsync(), Is.EqualTo(await first.Content.ReadAsStringAsync()));
            Assert.That(second.Headers.GetValues("Idempotent-Replayed"), Is.EqualTo(new[] { "true" }));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM links"), Is.EqualTo(before + 1));
        });
    }

    [Test]
    public async Task Same_idempotency_key_with_another_body_returns_422()
    {
        using var first = await PostWithKeyAsync("key-reuse-1", """{"url":"https://example.com/one"}""");
        using var second = await PostWithKeyAsync("key-reuse-1", """{"url":"https://example.com/two"}""");
        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        await AssertProblemAsync(second, HttpStatusCode.UnprocessableEntity, "urn:shortlink:problem:idempotency-key-reused");
    }

    [Test]
    public async Task An_idempotency_key_is_forgotten_after_24_hours()
    {
        using var first = await PostWithKeyAsync("key-expiry-1", """{"url":"https://example.com/exp"}""");
        App.Clock.Advance(TimeSpan.FromHours(24) + TimeSpan.FromMinutes(1));
        using var second = await PostWithKeyAsync("key-expiry-1", """{"url":"https://example.com/exp"}""");
        var firstCode = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString();
        var secondCode = (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString();
        Assert.Multiple(() =>
        {
            Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(second.Headers.Contains("Idempotent-Replayed"), Is.False);
            Assert.That(secondCode, Is.Not.EqualTo(firstCode));
        });
    }

    [Test]
    public async Task A_failed_request_does_not_bind_its_idempotency_key()
    {
        using var invalid = await PostWithKeyAsync("key-failed-1", """{"url":"ftp://example.com"}""");
        using var corrected = await PostWithKeyAsync("key-failed-1", """{"url":"https://example.com/fixed"}""");
        Assert.Multiple(() =>
        {
            Assert.That(invalid.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(corrected.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        });
    }

    [TestCase("has space")]
    [TestCase("a-key-that-is-far-too-long-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")]
    public async Task Invalid_idempotency_keys_return_400(string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/links")
        {
            Content = JsonContent.Create(new { url = "https://example.com" }),
        };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        using var response = await Http.SendAsync(request);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, ValidationFailed);
    }

    [Test]
    public async Task Concurrent_creates_with_one_idempotency_key_create_one_link()
    {
        var before = await QueryScalarAsync<long>("SELECT COUNT(*) FROM links");
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            PostWithKeyAsync("key-race-1", """{"url":"https://example.com/race"}""")));
        var statuses = responses.Select(r => (int)r.StatusCode).ToList();
        Assert.Multiple(async () =>
        {
            Assert.That(statuses, Is.All.AnyOf(201, 409));
            Assert.That(statuses, Does.Contain(201));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM links"), Is.EqualTo(before + 1));
        });
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    private Task<HttpResponseMessage> PostWithKeyAsync(string key, string json)
    {
        var content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/links") { Content = content };
        request.Headers.Add("Idempotency-Key", key);
        return Http.SendAsync(request);
    }
}
