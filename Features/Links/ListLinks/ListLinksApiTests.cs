using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NUnit.Framework;
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
        string? cursor = null;
        var inserted = 0;
        do
        {
            var page = await PageAsync($"tag={tag}&limit=7" + (cursor is null ? "" : $"&cursor={cursor}"));
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("code").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
            await Task.WhenAll(Enumerable.Range(0, 3).Select(_ =>
                CreateLinkAsync(new { url = "https://example.com/during", tags = new[] { tag } })));
            inserted += 3;
        }
        while (cursor is not null);
        Assert.Multiple(() =>
        {
            Assert.That(seen, Is.EqualTo(Enumerable.Reverse(created).ToList()));
            Assert.That(seen, Is.Unique);
            Assert.That(inserted, Is.GreaterThan(0));
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

    [Test]
    public async Task A_non_numeric_limit_returns_400()
    {
        using var response = await Http.GetAsync("/api/v1/links?limit=ten");
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:shortlink:problem:malformed-request");
    }
}
