using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Stats;

/// <summary>A link's raw visits: pages that cover each visit once, signed cursors, and the CSV export.</summary>
public sealed class ListLinkVisitsApiTests : TwoOwnersApiTestBase
{

    private static async Task<HttpResponseMessage> CsvAsync(HttpClient client, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/csv");
        return await client.SendAsync(request);
    }

    [Test]
    public async Task Pages_cover_every_visit_once_newest_first_even_when_visits_share_a_millisecond()
    {
        var link = await LinkOfAsync(Alice);
        // Five visits in each of five milliseconds: the cursor must tell visits of one millisecond apart.
        var visits = Enumerable.Range(0, 25).Select(i => link.Visit($"2026-06-01T10:00:00.00{i / 5}Z", visitor: (ulong)i)).ToList();
        await TestVisits.WriteAsync(App, visits);
        var expected = visits.OrderByDescending(visit => visit.OccurredAt)
            .ThenByDescending(visit => Convert.ToHexString(visit.VisitId.ToByteArray(bigEndian: true)), StringComparer.Ordinal)
            .Select(visit => visit.VisitId).ToList();
        var seen = new List<Guid>();
        var pages = 0;
        for (string? cursor = null; ; pages++)
        {
            var page = await OkJsonAsync(Alice, $"/api/v1/links/{link.Code}/visits?limit=7" + (cursor is null ? "" : $"&cursor={cursor}"));
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("id").GetGuid()));
            cursor = page.GetProperty("nextCursor").GetString();
            if (cursor is null)
            {
                break;
            }
        }
        Assert.Multiple(() =>
        {
            Assert.That(seen, Is.EqualTo(expected));
            Assert.That(pages + 1, Is.EqualTo(4));
        });
    }

    [Test]
    public async Task A_visit_shows_what_was_recorded_and_never_its_visitors_hash()
    {
        var link = await LinkOfAsync(Alice);
        var visit = link.Visit("2026-06-02T08:15:42.123Z", "news.example.org", TestVisits.IPhone, "DE", visitor: 0x0102030405060708, region: "eu-west-1");
        var anonymous = link.Visit("2026-06-02T08:00:00Z", agent: null, region: "");
        await TestVisits.WriteAsync(App, [visit, anonymous]);
        var items = (await OkJsonAsync(Alice, $"/api/v1/links/{link.Code}/visits")).GetProperty("items");
        Assert.Multiple(() =>
        {
            Assert.That(items.GetArrayLength(), Is.EqualTo(2));
            Assert.That(JsonElement.DeepEquals(items[0], JsonSerializer.SerializeToElement(new
            {
                id = visit.VisitId,
                occurredAt = "2026-06-02T08:15:42.123+00:00",
                referrerHost = "news.example.org",
                country = "DE",
                browser = "Mobile Safari",
                os = "iOS",
                device = "mobile",
                isBot = false,
                region = "eu-west-1",
            })), Is.True, items[0].ToString());
            Assert.That(JsonElement.DeepEquals(items[1], JsonSerializer.SerializeToElement(new
            {
                id = anonymous.VisitId,
                occurredAt = "2026-06-02T08:00:00+00:00",
                referrerHost = (string?)null,
                country = (string?)null,
                browser = (string?)null,
                os = (string?)null,
                device = (string?)null,
                isBot = false,
                region = (string?)null,
            })), Is.True, items[1].ToString());
        });
    }

    [Test]
    public async Task From_and_to_choose_the_visits_and_bind_the_cursor()
    {
        var link = await LinkOfAsync(Alice);
        var visits = Enumerable.Range(0, 6).Select(hour => link.Visit($"2026-06-03T{10 + hour:00}:00:00Z")).ToList();
        await TestVisits.WriteAsync(App, visits);
        var path = $"/api/v1/links/{link.Code}/visits?from=2026-06-03T11:00:00Z&to=2026-06-03T14:00:00Z&limit=2";
        var first = await OkJsonAsync(Alice, path);
        var cursor = first.GetProperty("nextCursor").GetString();
        var second = await OkJsonAsync(Alice, $"{path}&cursor={cursor}");
        using var otherRange = await Alice.GetAsync($"/api/v1/links/{link.Code}/visits?from=2026-06-03T10:00:00Z&limit=2&cursor={cursor}");
        Assert.Multiple(async () =>
        {
            Assert.That(first.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("id").GetGuid()),
                Is.EqualTo(new[] { visits[3].VisitId, visits[2].VisitId }));
            Assert.That(second.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("id").GetGuid()),
                Is.EqualTo(new[] { visits[1].VisitId }));
            Assert.That(second.GetProperty("nextCursor").ValueKind, Is.EqualTo(JsonValueKind.Null));
            await AssertProblemAsync(otherRange, HttpStatusCode.BadRequest, "urn:shortlink:problem:invalid-cursor");
        });
    }

    [Test]
    public async Task An_edited_cursor_or_one_of_another_link_is_refused()
    {
        var link = await LinkOfAsync(Alice);
        var other = await LinkOfAsync(Alice);
        await TestVisits.WriteAsync(App, [link.Visit("2026-06-04T10:00:00Z"), link.Visit("2026-06-04T11:00:00Z"), other.Visit("2026-06-04T10:00:00Z")]);
        var cursor = (await OkJsonAsync(Alice, $"/api/v1/links/{link.Code}/visits?limit=1")).GetProperty("nextCursor").GetString()!;
        var edited = cursor[..^2] + (cursor[^2] == 'A' ? 'B' : 'A') + cursor[^1];
        using var tampered = await Alice.GetAsync($"/api/v1/links/{link.Code}/visits?limit=1&cursor={edited}");
        using var elsewhere = await Alice.GetAsync($"/api/v1/links/{other.Code}/visits?limit=1&cursor={cursor}");
        using var ofLinks = await Alice.GetAsync($"/api/v1/links?cursor={cursor}");
        using var byAdmin = await Http.GetAsync($"/api/v1/links/{link.Code}/visits?limit=1&cursor={cursor}");
        await AssertProblemAsync(tampered, HttpStatusCode.BadRequest, "urn:shortlink:problem:invalid-cursor");
        await AssertProblemAsync(elsewhere, HttpStatusCode.BadRequest, "urn:shortlink:problem:invalid-cursor");
        await AssertProblemAsync(ofLinks, HttpStatusCode.BadRequest, "urn:shortlink:problem:invalid-cursor");
        await AssertProblemAsync(byAdmin, HttpStatusCode.BadRequest, "urn:shortlink:problem:invalid-cursor");
    }

    [Test]
    public async Task Csv_streams_every_visit_as_an_attachment()
    {
        var link = await LinkOfAsync(Alice);
        await TestVisits.WriteAsync(App,
        [
            link.Visit("2026-06-05T09:00:00Z", "news.example.org", TestVisits.Chrome, "DE", region: "eu-west-1"),
            link.Visit("2026-06-05T09:30:00.250Z", null, TestVisits.Googlebot, null, region: ""),
            // uap-core names the browser after what comes before "/1 CFNetwork" (here, text a spreadsheet would run); isbot takes it for a bot.
            link.Visit("2026-06-05T10:00:00Z", "a,b.example", "=HYPERLINK(\"https://evil.example\")/1 CFNetwork/1", "FR", region: "eu-west-1"),
        ]);
        using var response = await CsvAsync(Alice, $"/api/v1/links/{link.Code}/visits");
        var body = await response.Content.ReadAsStringAsync();
        var ids = (await OkJsonAsync(Alice, $"/api/v1/links/{link.Code}/visits")).GetProperty("items").EnumerateArray()
            .Select(item => item.GetProperty("id").GetGuid()).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
            Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("text/csv; charset=utf-8"));
            Assert.That(response.Content.Headers.ContentDisposition?.DispositionType, Is.EqualTo("attachment"));
            Assert.That(response.Content.Headers.ContentDisposition?.FileName, Is.EqualTo($"{link.Code}-visits.csv"));
            Assert.That(body, Is.EqualTo(
                "id,occurred_at,referrer_host,country,browser,os,device,is_bot,region\r\n" +
                $"{ids[0]},2026-06-05T10:00:00.000Z,\"a,b.example\",FR,\"'=HYPERLINK(\"\"https://evil.example\"\")\",Other,bot,true,eu-west-1\r\n" +
                $"{ids[1]},2026-06-05T09:30:00.250Z,,,Googlebot,Other,bot,true,\r\n" +
                $"{ids[2]},2026-06-05T09:00:00.000Z,news.example.org,DE,Chrome,Windows,desktop,false,eu-west-1\r\n"));
        });
    }

    [Test]
    public async Task A_large_csv_is_sent_while_it_is_read()
    {
        var link = await LinkOfAsync(Alice);
        await TestVisits.WriteAsync(App, Enumerable.Range(0, 3000).Select(i => link.Visit($"2026-06-06T{i / 3600:00}:{i / 60 % 60:00}:{i % 60:00}Z")));
        using var response = await CsvAsync(Alice, $"/api/v1/links/{link.Code}/visits");
        var lines = (await response.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Multiple(() =>
        {
            // Kestrel gives a length only to an answer written whole before it was sent; this one left in pieces.
            Assert.That(response.Headers.TransferEncodingChunked, Is.True);
            Assert.That(lines, Has.Length.EqualTo(3001));
            Assert.That(lines[1], Does.Contain(",2026-06-06T00:49:59.000Z,"));
            Assert.That(lines[^1], Does.Contain(",2026-06-06T00:00:00.000Z,"));
        });
    }

    [Test]
    public async Task Csv_holds_the_visits_from_to_and_nothing_but_them()
    {
        var link = await LinkOfAsync(Alice);
        var visits = Enumerable.Range(0, 5).Select(day => link.Visit($"2026-06-{10 + day:00}T12:00:00Z")).ToList();
        await TestVisits.WriteAsync(App, visits);
        using var response = await CsvAsync(Alice, $"/api/v1/links/{link.Code}/visits?from=2026-06-11&to=2026-06-13");
        var lines = (await response.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines.Skip(1).Select(line => Guid.Parse(line[..line.IndexOf(',')])), Is.EqualTo(new[] { visits[2].VisitId, visits[1].VisitId }));
    }

    [Test]
    public async Task Csv_wants_no_paging_and_is_no_one_elses()
    {
        var link = await LinkOfAsync(Alice);
        using var paged = await CsvAsync(Alice, $"/api/v1/links/{link.Code}/visits?limit=5");
        using var other = await CsvAsync(Bob, $"/api/v1/links/{link.Code}/visits");
        var problem = await AssertProblemAsync(paged, HttpStatusCode.BadRequest, "urn:shortlink:problem:validation-failed");
        Assert.That(problem.GetProperty("errors").TryGetProperty("limit", out _), Is.True);
        await AssertProblemAsync(other, HttpStatusCode.NotFound, "urn:shortlink:problem:link-not-found");
    }

    [Test]
    public async Task Another_owners_visits_are_not_found()
    {
        var link = await LinkOfAsync(Alice);
        using var other = await Bob.GetAsync($"/api/v1/links/{link.Code}/visits");
        await AssertProblemAsync(other, HttpStatusCode.NotFound, "urn:shortlink:problem:link-not-found");
        Assert.That((await OkJsonAsync(Http, $"/api/v1/links/{link.Code}/visits")).GetProperty("items").GetArrayLength(), Is.Zero);
    }

    [TestCase("limit=0", "limit")]
    [TestCase("limit=1001", "limit")]
    [TestCase("from=2026-06-01T10:00:00", "from")]
    [TestCase("from=2026-06-02&to=2026-06-01", "to")]
    public async Task A_query_it_cannot_answer_gets_a_validation_problem_naming_the_parameter(string query, string parameter)
    {
        var link = await LinkOfAsync(Alice);
        await AssertRefusedParameterAsync(Alice, $"/api/v1/links/{link.Code}/visits?{query}", parameter);
    }
}
