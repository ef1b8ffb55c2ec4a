using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Stats;

/// <summary>An owner's totals and top links, from the rollups of its links only. Each test counts in hours of its own.</summary>
public sealed class GetOwnerStatsApiTests : TwoOwnersApiTestBase
{
    private static Task<JsonElement> StatsAsync(HttpClient client, string query) => OkJsonAsync(client, $"/api/v1/stats?{query}");

    private static (string Code, long Visits)[] TopLinks(JsonElement stats) =>
        [.. stats.GetProperty("topLinks").EnumerateArray().Select(link => (link.GetProperty("code").GetString()!, link.GetProperty("visits").GetInt64()))];

    [Test]
    public async Task An_owner_sees_the_totals_and_top_links_of_its_own_links_and_an_admin_everyones()
    {
        var popular = await LinkOfAsync(Alice, "owner-popular");
        var quiet = await LinkOfAsync(Alice, "owner-quiet");
        await LinkOfAsync(Alice, "owner-unvisited");
        var bobs = await LinkOfAsync(Bob, "owner-bobs");
        await TestVisits.WriteAsync(App,
        [
            popular.Visit("2026-07-01T10:00:00Z", visitor: 1),
            popular.Visit("2026-07-01T10:30:00Z", visitor: 1),
            popular.Visit("2026-07-01T11:00:00Z", visitor: 2),
            quiet.Visit("2026-07-01T12:00:00Z", visitor: 1),
            quiet.Visit("2026-07-01T12:10:00Z", agent: TestVisits.Googlebot, visitor: 7),
            bobs.Visit("2026-07-01T10:00:00Z", visitor: 3),
            bobs.Visit("2026-07-01T10:05:00Z", visitor: 4),
            popular.Visit("2026-07-02T00:00:00Z", visitor: 1),
        ]);
        const string day = "from=2026-07-01&to=2026-07-02";
        var alices = await StatsAsync(Alice, day);
        var withBots = await StatsAsync(Alice, day + "&includeBots=true");
        var bobsStats = await StatsAsync(Bob, day);
        var everyone = await StatsAsync(Http, day);
        Assert.Multiple(() =>
        {
            Assert.That(alices.GetProperty("from").GetString(), Is.EqualTo("2026-07-01T00:00:00+00:00"));
            Assert.That(alices.GetProperty("to").GetString(), Is.EqualTo("2026-07-02T00:00:00+00:00"));
            Assert.That(alices.GetProperty("visits").GetInt64(), Is.EqualTo(4));
            // Visitor 1 of both links counts once per link.
            Assert.That(alices.GetProperty("uniqueVisitors").GetInt64(), Is.EqualTo(3));
            Assert.That(alices.GetProperty("linksWithVisits").GetInt64(), Is.EqualTo(2));
            Assert.That(TopLinks(alices), Is.EqualTo(new[] { ("owner-popular", 3L), ("owner-quiet", 1L) }));
            Assert.That(alices.GetProperty("topLinks")[0].GetProperty("shortUrl").GetString(), Is.EqualTo($"{ShortlinkApp.PublicBaseUrl}/owner-popular"));
            Assert.That(withBots.GetProperty("visits").GetInt64(), Is.EqualTo(5));
            Assert.That(TopLinks(withBots), Is.EqualTo(new[] { ("owner-popular", 3L), ("owner-quiet", 2L) }));
            Assert.That(bobsStats.GetProperty("visits").GetInt64(), Is.EqualTo(2));
            Assert.That(TopLinks(bobsStats), Is.EqualTo(new[] { ("owner-bobs", 2L) }));
            Assert.That(everyone.GetProperty("visits").GetInt64(), Is.EqualTo(6));
            Assert.That(TopLinks(everyone), Is.EqualTo(new[] { ("owner-popular", 3L), ("owner-bobs", 2L), ("owner-quiet", 1L) }));
        });
    }

    [Test]
    public async Task The_range_widens_to_whole_hours_and_deleted_links_drop_out()
    {
        var kept = await LinkOfAsync(Alice, "owner-kept");
        var deleted = await LinkOfAsync(Alice, "owner-deleted");
        await TestVisits.WriteAsync(App,
        [
            kept.Visit("2026-07-03T10:05:00Z"),
            kept.Visit("2026-07-03T11:55:00Z"),
            kept.Visit("2026-07-03T12:00:00Z"),
            deleted.Visit("2026-07-03T10:30:00Z"),
        ]);
        const string hours = "from=2026-07-03T10:45:00Z&to=2026-07-03T11:15:00Z";
        var before = await StatsAsync(Alice, hours);
        (await Alice.DeleteAsync("/api/v1/links/owner-deleted")).Dispose();
        var after = await StatsAsync(Alice, hours);
        Assert.Multiple(() =>
        {
            Assert.That(before.GetProperty("from").GetString(), Is.EqualTo("2026-07-03T10:00:00+00:00"));
            Assert.That(before.GetProperty("to").GetString(), Is.EqualTo("2026-07-03T12:00:00+00:00"));
            Assert.That(TopLinks(before), Is.EqualTo(new[] { ("owner-kept", 2L), ("owner-deleted", 1L) }));
            Assert.That(after.GetProperty("visits").GetInt64(), Is.EqualTo(2));
            Assert.That(after.GetProperty("linksWithVisits").GetInt64(), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task By_default_the_last_30_days_up_to_the_end_of_this_hour()
    {
        var now = App.Clock.GetUtcNow();
        var stats = await StatsAsync(Bob, "");
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(DateTimeOffset.Parse(stats.GetProperty("to").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
                Is.EqualTo(hour.AddHours(1)));
            Assert.That(DateTimeOffset.Parse(stats.GetProperty("from").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
                Is.EqualTo(hour.AddDays(-30)));
        });
    }

    [TestCase("from=2026-07-01T10:00:00", "from")]
    [TestCase("from=2026-07-02&to=2026-07-01", "to")]
    [TestCase("to=10000-01-01", "to")]
    public Task A_query_it_cannot_answer_gets_a_validation_problem_naming_the_parameter(string query, string parameter) =>
        AssertRefusedParameterAsync(Alice, $"/api/v1/stats?{query}", parameter);
}
