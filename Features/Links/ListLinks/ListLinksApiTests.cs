using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Infrastructure.Data;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Links;

public sealed class ListLinksApiTests : ApiTestBase
{
    private async Task<JsonElement> PageAsync(string query)
    {
        using var response = await Http.GetAsync($"/api/v1/links?{query}");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<List<string>> AllCodesAsync(string filters, int limit)
    {
        var codes = new List<string>();
        string? cursor = null;
        do
        {
            var page = await PageAsync($"{filters}&limit={limit}" + (cursor is null ? "" : $"&cursor={cursor}"));
            codes.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("code").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        return codes;
    }

    [Test]
    public async Task Pages_walk_every_link_once_newest_first_while_links_are_inserted()
    {
        var tag = "paging";
        var created = new List<string>();
        for (var i = 0; i < 25; i++)
        {
            created.Add((await CreateLinkAsync(new { url = $"https://example.com/{i}", tags = new[] { tag } })).GetProperty("code").GetString()!);
        }
        var seen = new List<string>();
        var insertedDuringPaging = new List<string>();
        string? cursor = null;
        do
        {
            var page = await PageAsync($"tag={tag}&limit=7" + (cursor is null ? "" : $"&cursor={cursor}"));
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("code").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
            var during = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ =>
                CreateLinkAsync(new { url = "https://example.com/during", tags = new[] { tag } })));
            insertedDuringPaging.AddRange(during.Select(link => link.GetProperty("code").GetString()!));
        }
        while (cursor is not null);
        // The links inserted meanwhile are listed from a fresh first page on: the walk above skipped them
        // because of the cursor, not because they were not there.
        var fresh = await AllCodesAsync($"tag={tag}", 100);
        Assert.Multiple(() =>
        {
            Assert.That(seen, Is.EqualTo(Enumerable.Reverse(created).ToList()));
            Assert.That(fresh, Is.EquivalentTo(created.Concat(insertedDuringPaging)));
            Assert.That(fresh.Take(insertedDuringPaging.Count), Is.EquivalentTo(insertedDuringPaging));
        });
    }

    [Test]
    public async Task Default_limit_is_20_and_filters_combine()
    {
        for (var i = 0; i < 22; i++)
        {
            await CreateLinkAsync(new { url = $"https://example.com/default/{i}", tags = new[] { "default-limit" } });
        }
        var page = await PageAsync("tag=default-limit");
        Assert.Multiple(() =>
        {
            Assert.That(page.GetProperty("items").GetArrayLength(), Is.EqualTo(20));
            Assert.That(page.GetProperty("nextCursor").GetString(), Is.Not.Null);
        });
    }

    [Test]
    public async Task Q_matches_url_or_title_ignoring_case_and_treats_wildcards_literally()
    {
        await CreateLinkAsync(new { url = "https://example.com/Search-Target", tags = new[] { "q" } });
        await CreateLinkAsync(new { url = "https://example.com/other", title = "A SEARCH-target title", tags = new[] { "q" } });
        await CreateLinkAsync(new { url = "https://example.com/100%_off", tags = new[] { "q" } });
        await CreateLinkAsync(new { url = "https://example.com/100xyoff", tags = new[] { "q" } });
        var matches = await AllCodesAsync("tag=q&q=search-target", 10);
        var literal = await AllCodesAsync($"tag=q&q={Uri.EscapeDataString("100%_")}", 10);
        Assert.Multiple(() =>
        {
            Assert.That(matches, Has.Count.EqualTo(2));
            Assert.That(literal, Has.Count.EqualTo(1));
        });
    }

    [Test]
    public async Task A_forged_cursor_returns_400_not_a_page()
    {
        for (var i = 0; i < 3; i++)
        {
            await CreateLinkAsync(new { url = "https://example.com/forge", tags = new[] { "forge" } });
        }
        var cursor = (await PageAsync("tag=forge&limit=1")).GetProperty("nextCursor").GetString()!;
        var forged = (cursor[..10] + (cursor[10] == 'A' ? 'B' : 'A') + cursor[11..]);
        foreach (var query in new[] { $"tag=forge&cursor={forged}", "tag=forge&cursor=garbage", $"tag=other&cursor={cursor}", $"cursor={cursor}" })
        {
            using var response = await Http.GetAsync($"/api/v1/links?{query}");
            await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:shortlink:problem:invalid-cursor");
        }
    }

    [TestCase("limit=0", "limit")]
    [TestCase("limit=101", "limit")]
    [TestCase("tag=%20padded", "tag")]
    [TestCase("q=", "q")]
    public async Task List_parameters_are_validated(string query, string field)
    {
        using var response = await Http.GetAsync($"/api/v1/links?{query}");
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:shortlink:problem:validation-failed");
        Assert.That(problem.GetProperty("errors").EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { field }));
    }

    [TestCase("tag=a&tag=b", "tag")]
    [TestCase("tag=a&TAG=b", "tag")]
    [TestCase("q=x&q=y", "q")]
    [TestCase("cursor=a&cursor=b", "cursor")]
    public async Task A_repeated_parameter_returns_400_naming_it(string query, string name)
    {
        using var response = await Http.GetAsync($"/api/v1/links?{query}");
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:shortlink:problem:malformed-request");
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain($"'{name}'"));
    }

    [Test]
    public async Task A_tag_of_old_links_is_found_through_the_tag_index_without_walking_the_newer_ones()
    {
        foreach (var (tag, batches) in new[] { ("old-campaign", 2), ("newer", 2) })
        {
            for (var batch = 0; batch < batches; batch++)
            {
                using var bulk = await Http.PostAsJsonAsync("/api/v1/links/bulk",
                    new { items = Enumerable.Range(0, 1000).Select(i => new { url = $"https://example.com/{tag}/{batch}/{i}", tags = new[] { tag } }) });
                Assert.That(bulk.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            }
        }
        await using var connection = await OpenAsync();
        await connection.ExecuteAsync("ANALYZE TABLE links, link_tags");
        var newest = await connection.QueryAsync<string>(
            "SELECT l.code FROM links l JOIN link_tags t ON t.link_id = l.id WHERE t.tag = 'old-campaign' ORDER BY l.id DESC LIMIT 20");
        var before = await IndexReadsAsync(connection);
        var page = await ListLinks.PageAsync(connection, "sho.rt", owner: null, after: null, tag: "old-campaign", q: null, take: 20, CancellationToken.None);
        var reads = await IndexReadsAsync(connection) - before;
        Assert.Multiple(() =>
        {
            Assert.That(page.Select(row => row.Code), Is.EqualTo(newest));
            // Walking links newest first and checking each for the tag reads the 2,000 newer links before the first match.
            Assert.That(reads, Is.LessThan(200), "rows read through indexes");
        });
    }

    [Test]
    public async Task Q_escapes_like_wildcards_even_when_the_server_takes_backslashes_literally()
    {
        await CreateLinkAsync(new { url = "https://example.com/100%_off!", tags = new[] { "nbe" } });
        await CreateLinkAsync(new { url = "https://example.com/100xyoff", tags = new[] { "nbe" } });
        await CreateLinkAsync(new { url = "https://example.com/a%5Cb", tags = new[] { "nbe" } });
        await using var connection = await OpenAsync(noBackslashEscapes: true);
        await connection.ExecuteAsync("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')");
        async Task<List<string>> Urls(string q) =>
            (await ListLinks.PageAsync(connection, "sho.rt", null, null, "nbe", q, 10, CancellationToken.None)).ConvertAll(row => row.Url);
        Assert.Multiple(async () =>
        {
            Assert.That(await Urls("100%_"), Is.EqualTo(new[] { "https://example.com/100%25_off!" }));
            Assert.That(await Urls("_off!"), Is.EqualTo(new[] { "https://example.com/100%25_off!" }));
            Assert.That(await Urls("a\\b"), Is.EqualTo(new[] { "https://example.com/a%5Cb" }));
        });
    }

    [Test]
    public async Task Q_ignores_case_and_accents_in_titles_and_finds_non_ascii_text_in_urls()
    {
        var cafe = (await CreateLinkAsync(new { url = "https://example.com/menu", title = "Café Crème", tags = new[] { "acc" } })).GetProperty("code").GetString();
        var street = (await CreateLinkAsync(new { url = "https://example.com/straße", tags = new[] { "acc" } })).GetProperty("code").GetString();
        await CreateLinkAsync(new { url = "https://example.com/other", title = "Tea", tags = new[] { "acc" } });
        Assert.Multiple(async () =>
        {
            Assert.That(await AllCodesAsync("tag=acc&q=cafe creme", 10), Is.EqualTo(new[] { cafe }));
            Assert.That(await AllCodesAsync("tag=acc&q=CAFÉ", 10), Is.EqualTo(new[] { cafe }));
            Assert.That(await AllCodesAsync($"tag=acc&q={Uri.EscapeDataString("straße")}", 10), Is.EqualTo(new[] { street }));
        });
    }

    private async Task<MySqlConnection> OpenAsync(bool noBackslashEscapes = false)
    {
        var connection = new MySqlConnection(new MySqlConnectionStringBuilder(DataServiceCollectionExtensions.WithRequiredSettings(ConnectionString))
        {
            NoBackslashEscapes = noBackslashEscapes,
        }.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Rows this session read through an index (a table scan by primary key counts here too).</summary>
    private static async Task<long> IndexReadsAsync(MySqlConnection connection) =>
        (await connection.QueryAsync<(string Name, string Value)>("SHOW SESSION STATUS LIKE 'Handler_read%'"))
            .Where(status => status.Name is "Handler_read_key" or "Handler_read_next" or "Handler_read_prev" or "Handler_read_first" or "Handler_read_last")
            .Sum(status => long.Parse(status.Value, System.Globalization.CultureInfo.InvariantCulture));

    [Test]
    public async Task A_non_numeric_limit_returns_400()
    {
        using var response = await Http.GetAsync("/api/v1/links?limit=ten");
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:shortlink:problem:malformed-request");
    }
}
