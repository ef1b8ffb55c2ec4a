using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Stats;

/// <summary>A link's stats, read from the rollups that the visit writer made, against counts worked out by hand.</summary>
public sealed class GetLinkStatsApiTests : TwoOwnersApiTestBase
{
    private HttpClient aliceReadOnly = null!;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Shortlink:Visits:Enabled"] = "true" };

    [OneTimeSetUp]
    public async Task CreateReadOnlyKey() =>
        aliceReadOnly = NewClient((await TestKeys.CreateAsync(Http, "readonly", AliceOwnerId)).Key);

    [OneTimeTearDown]
    public void DisposeReadOnlyClient() => aliceReadOnly.Dispose();

    private static Task<JsonElement> StatsAsync(HttpClient client, string code, string query) =>
        OkJsonAsync(client, $"/api/v1/links/{code}/stats?{query}");

    private static (string Start, long Visits)[] Series(JsonElement stats) =>
        [.. stats.GetProperty("series").EnumerateArray().Select(bucket => (bucket.GetProperty("start").GetString()!, bucket.GetProperty("visits").GetInt64()))];

    private static (string? Value, long Visits)[] Top(JsonElement stats, string list) =>
        [.. stats.GetProperty(list).EnumerateArray().Select(count => (count.GetProperty("value").GetString(), count.GetProperty("visits").GetInt64()))];

    [Test]
    public async Task Hours_are_counted_with_empty_ones_filled_and_the_top_values_of_each_dimension()
    {
        var link = await LinkOfAsync(Alice);
        await TestVisits.WriteAsync(App,
        [
            link.Visit("2026-05-04T08:59:59.999Z", visitor: 9),
            link.Visit("2026-05-04T10:05:00Z", "news.example.org", TestVisits.Chrome, "DE", visitor: 1),
            link.Visit("2026-05-04T10:40:00Z", "news.example.org", TestVisits.Chrome, "DE", visitor: 1),
            link.Visit("2026-05-04T10:59:59.999Z", null, TestVisits.Firefox, "FR", visitor: 2),
            link.Visit("2026-05-04T12:30:00Z", "blog.example.com", TestVisits.IPhone, "DE", visitor: 3),
            link.Visit("2026-05-04T15:00:00Z", visitor: 9),
        ]);
        var stats = await StatsAsync(Alice, link.Code, "from=2026-05-04T09:00:00Z&to=2026-05-04T15:00:00Z&interval=hour");
        Assert.Multiple(() =>
        {
            Assert.That(stats.GetProperty("code").GetString(), Is.EqualTo(link.Code));
            Assert.That(stats.GetProperty("from").GetString(), Is.EqualTo("2026-05-04T09:00:00+00:00"));
            Assert.That(stats.GetProperty("to").GetString(), Is.EqualTo("2026-05-04T15:00:00+00:00"));
            Assert.That(stats.GetProperty("interval").GetString(), Is.EqualTo("hour"));
            Assert.That(stats.GetProperty("tz").GetString(), Is.EqualTo("UTC"));
            Assert.That(stats.GetProperty("visits").GetInt64(), Is.EqualTo(4));
            Assert.That(stats.GetProperty("uniqueVisitors").GetInt64(), Is.EqualTo(3));
            Assert.That(Series(stats), Is.EqualTo(new[]
            {
                ("2026-05-04T09:00:00+00:00", 0L), ("2026-05-04T10:00:00+00:00", 3L), ("2026-05-04T11:00:00+00:00", 0L),
                ("2026-05-04T12:00:00+00:00", 1L), ("2026-05-04T13:00:00+00:00", 0L), ("2026-05-04T14:00:00+00:00", 0L),
            }));
            // Ties are listed by value; a visit without a referrer counts under null.
            Assert.That(Top(stats, "referrers"), Is.EqualTo(new[] { ("news.example.org", 2L), ((string?)null, 1L), ("blog.example.com", 1L) }));
            Assert.That(Top(stats, "countries"), Is.EqualTo(new[] { ("DE", 3L), ("FR", 1L) }));
            Assert.That(Top(stats, "browsers"), Is.EqualTo(new[] { ("Chrome", 2L), ("Firefox", 1L), ("Mobile Safari", 1L) }));
            Assert.That(Top(stats, "operatingSystems"), Is.EqualTo(new[] { ("Windows", 2L), ("Linux", 1L), ("iOS", 1L) }));
            Assert.That(Top(stats, "deviceTypes"), Is.EqualTo(new[] { ("desktop", 3L), ("mobile", 1L) }));
        });
    }

    [Test]
    public async Task Top_lists_hold_the_ten_most_frequent_values()
    {
        var link = await LinkOfAsync(Alice);
        // Referrer r01 brings 12 visits, r02 11 and so on down to r12 with one.
        await TestVisits.WriteAsync(App, Enumerable.Range(1, 12)
            .SelectMany(rank => Enumerable.Repeat($"r{rank:00}.example", 13 - rank))
            .Select((host, i) => link.Visit($"2026-05-05T10:{i % 60:00}:00Z", host)));
        var stats = await StatsAsync(Alice, link.Code, "from=2026-05-05&to=2026-05-06");
        Assert.Multiple(() =>
        {
            Assert.That(stats.GetProperty("visits").GetInt64(), Is.EqualTo(78));
            Assert.That(Top(stats, "referrers"), Is.EqualTo(Enumerable.Range(1, 10).Select(rank => ((string?)$"r{rank:00}.example", 13L - rank))));
        });
    }

    [Test]
    public async Task Unique_visitors_count_each_visitor_once_a_utc_day_in_the_hour_of_their_first_visit()
    {
        var link = await LinkOfAsync(Alice);
        await TestVisits.WriteAsync(App,
        [
            link.Visit("2026-05-06T09:00:00Z", visitor: 0xA),
            link.Visit("2026-05-06T10:00:00Z", visitor: 0xB),
            link.Visit("2026-05-06T20:00:00Z", visitor: 0xA),
            link.Visit("2026-05-07T09:00:00Z", visitor: 0xA),
        ]);
        var bothDays = await StatsAsync(Alice, link.Code, "from=2026-05-06&to=2026-05-08");
        var firstDay = await StatsAsync(Alice, link.Code, "from=2026-05-06&to=2026-05-07");
        var fromNoon = await StatsAsync(Alice, link.Code, "from=2026-05-06T12:00:00Z&to=2026-05-08&interval=hour");
        Assert.Multiple(() =>
        {
            Assert.That(bothDays.GetProperty("visits").GetInt64(), Is.EqualTo(4));
            Assert.That(bothDays.GetProperty("uniqueVisitors").GetInt64(), Is.EqualTo(3), "A counts once on each of two days");
            Assert.That(Series(bothDays), Is.EqualTo(new[] { ("2026-05-06T00:00:00+00:00", 3L), ("2026-05-07T00:00:00+00:00", 1L) }));
            Assert.That(firstDay.GetProperty("uniqueVisitors").GetInt64(), Is.EqualTo(2));
            Assert.That(fromNoon.GetProperty("visits").GetInt64(), Is.EqualTo(2));
            Assert.That(fromNoon.GetProperty("uniqueVisitors").GetInt64(), Is.EqualTo(1),
                "A's first visit of 2026-05-06 came before noon, so only its visit of the next day counts");
        });
    }

    [Test]
    public async Task Bots_are_left_out_unless_asked_for()
    {
        var link = await LinkOfAsync(Alice);
        await TestVisits.WriteAsync(App,
        [
            link.Visit("2026-05-08T10:00:00Z", visitor: 1),
            link.Visit("2026-05-08T10:10:00Z", visitor: 2),
            link.Visit("2026-05-08T10:20:00Z", agent: TestVisits.Googlebot, visitor: 3),
            link.Visit("2026-05-08T11:20:00Z", agent: TestVisits.Googlebot, visitor: 3),
            link.Visit("2026-05-08T11:30:00Z", agent: TestVisits.Googlebot, visitor: 4),
        ]);
        var people = await StatsAsync(Alice, link.Code, "from=2026-05-08T10:00:00Z&to=2026-05-08T12:00:00Z&interval=hour");
        var everyone = await StatsAsync(Alice, link.Code, "from=2026-05-08T10:00:00Z&to=2026-05-08T12:00:00Z&interval=hour&includeBots=true");
        Assert.Multiple(() =>
        {
            Assert.That(people.GetProperty("includeBots").GetBoolean(), Is.False);
            Assert.That(people.GetProperty("visits").GetInt64(), Is.EqualTo(2));
            Assert.That(people.GetProperty("uniqueVisitors").GetInt64(), Is.EqualTo(2));
            Assert.That(Series(people).Select(bucket => bucket.Visits), Is.EqualTo(new[] { 2L, 0L }));
            Assert.That(Top(people, "deviceTypes"), Is.EqualTo(new[] { ("desktop", 2L) }));
            Assert.That(everyone.GetProperty("includeBots").GetBoolean(), Is.True);
            Assert.That(everyone.GetProperty("visits").GetInt64(), Is.EqualTo(5));
            Assert.That(everyone.GetProperty("uniqueVisitors").GetInt64(), Is.EqualTo(4));
            Assert.That(Series(everyone).Select(bucket => bucket.Visits), Is.EqualTo(new[] { 3L, 2L }));
            Assert.That(Top(everyone, "deviceTypes"), Is.EqualTo(new[] { ("bot", 3L), ("desktop", 2L) }));
        });
    }

    [Test]
    public async Task Berlin_days_last_23_hours_in_march_and_25_in_october()
    {
        var link = await LinkOfAsync(Alice);
        await TestVisits.WriteAsync(App,
        [
            link.Visit("2026-03-28T22:30:00Z"), // 23:30 CET on the 28th
            link.Visit("2026-03-28T23:30:00Z"), // 00:30 CET on the 29th
            link.Visit("2026-03-29T21:30:00Z"), // 23:30 CEST on the 29th
            link.Visit("2026-03-29T22:30:00Z"), // 00:30 CEST on the 30th
            link.Visit("2026-10-24T22:30:00Z"), // 00:30 CEST on the 25th
            link.Visit("2026-10-25T22:30:00Z"), // 23:30 CET on the 25th
            link.Visit("2026-10-25T23:30:00Z"), // 00:30 CET on the 26th
        ]);
        var march = await StatsAsync(Alice, link.Code, "from=2026-03-28&to=2026-03-31&tz=Europe/Berlin");
        var october = await StatsAsync(Alice, link.Code, "from=2026-10-25&to=2026-10-27&interval=day&tz=Europe/Berlin");
        Assert.Multiple(() =>
        {
            Assert.That(march.GetProperty("from").GetString(), Is.EqualTo("2026-03-28T00:00:00+01:00"));
            Assert.That(march.GetProperty("to").GetString(), Is.EqualTo("2026-03-31T00:00:00+02:00"));
            Assert.That(march.GetProperty("tz").GetString(), Is.EqualTo("Europe/Berlin"));
            Assert.That(Series(march), Is.EqualTo(new[]
            {
                ("2026-03-28T00:00:00+01:00", 1L), ("2026-03-29T00:00:00+01:00", 2L), ("2026-03-30T00:00:00+02:00", 1L),
            }));
            Assert.That(Series(october), Is.EqualTo(new[] { ("2026-10-25T00:00:00+02:00", 2L), ("2026-10-26T00:00:00+01:00", 1L) }));
        });
    }

    [Test]
    public async Task Utc_days_and_london_winter_days_count_each_visit_on_its_day_from_midnight_to_midnight()
    {
        var link = await LinkOfAsync(Alice);
        await TestVisits.WriteAsync(App,
        [
            link.Visit("2026-01-11T23:59:59.999Z"),
            link.Visit("2026-01-12T00:00:00Z"),
            link.Visit("2026-01-12T23:59:59.999Z"),
            link.Visit("2026-01-13T12:00:00Z", agent: TestVisits.Googlebot),
            link.Visit("2026-01-15T00:00:00Z"),
            link.Visit("2026-07-12T22:30:00Z"), // 23:30 BST on the 12th
            link.Visit("2026-07-12T23:30:00Z"), // 00:30 BST on the 13th
        ]);
        var utc = await StatsAsync(Alice, link.Code, "from=2026-01-12&to=2026-01-15");
        var utcWithBots = await StatsAsync(Alice, link.Code, "from=2026-01-12&to=2026-01-15&includeBots=true");
        var londonWinter = await StatsAsync(Alice, link.Code, "from=2026-01-11&to=2026-01-16&tz=Europe/London");
        var londonSummer = await StatsAsync(Alice, link.Code, "from=2026-07-12&to=2026-07-14&tz=Europe/London");
        Assert.Multiple(() =>
        {
            Assert.That(Series(utc), Is.EqualTo(new[]
            {
                ("2026-01-12T00:00:00+00:00", 2L), ("2026-01-13T00:00:00+00:00", 0L), ("2026-01-14T00:00:00+00:00", 0L),
            }));
            Assert.That(Series(utcWithBots).Select(bucket => bucket.Visits), Is.EqualTo(new[] { 2L, 1L, 0L }));
            Assert.That(utcWithBots.GetProperty("visits").GetInt64(), Is.EqualTo(3));
            Assert.That(Series(londonWinter).Select(bucket => bucket.Visits), Is.EqualTo(new[] { 1L, 2L, 0L, 0L, 1L }));
            Assert.That(Series(londonSummer), Is.EqualTo(new[] { ("2026-07-12T00:00:00+01:00", 1L), ("2026-07-13T00:00:00+01:00", 1L) }));
        });
    }

    [Test]
    public async Task Berlin_hours_show_the_hour_clocks_go_back_twice()
    {
        var link = await LinkOfAsync(Alice);
        await TestVisits.WriteAsync(App,
        [
            link.Visit("2026-10-24T22:30:00Z"), // 00:30 CEST
            link.Visit("2026-10-25T00:15:00Z"), // 02:15 CEST, the first time
            link.Visit("2026-10-25T01:15:00Z"), // 02:15 CET, the second time
            link.Visit("2026-10-25T01:45:00Z"), // 02:45 CET
        ]);
        var stats = await StatsAsync(Alice, link.Code,
            "from=2026-10-25T00:00:00%2B02:00&to=2026-10-25T04:00:00%2B01:00&interval=hour&tz=Europe/Berlin");
        Assert.That(Series(stats), Is.EqualTo(new[]
        {
            ("2026-10-25T00:00:00+02:00", 1L), ("2026-10-25T01:00:00+02:00", 0L), ("2026-10-25T02:00:00+02:00", 1L),
            ("2026-10-25T02:00:00+01:00", 2L), ("2026-10-25T03:00:00+01:00", 0L),
        }));
    }

    [Test]
    public async Task A_half_hour_zone_gets_hour_buckets_and_a_precise_refusal_of_days()
    {
        var link = await LinkOfAsync(Alice);
        await TestVisits.WriteAsync(App, [link.Visit("2026-05-09T10:45:00Z")]);
        var hours = await StatsAsync(Alice, link.Code, "from=2026-05-09T10:00:00Z&to=2026-05-09T12:00:00Z&interval=hour&tz=Asia/Kolkata");
        using var days = await Alice.GetAsync($"/api/v1/links/{link.Code}/stats?from=2026-05-09&to=2026-05-10&interval=day&tz=Asia/Kolkata");
        var refusal = await AssertProblemAsync(days, HttpStatusCode.BadRequest, "urn:shortlink:problem:validation-failed");
        Assert.Multiple(() =>
        {
            Assert.That(Series(hours), Is.EqualTo(new[] { ("2026-05-09T15:30:00+05:30", 1L), ("2026-05-09T16:30:00+05:30", 0L) }));
            Assert.That(refusal.GetProperty("errors").GetProperty("interval")[0].GetString(), Does.Contain("interval=hour"));
        });
    }

    [Test]
    public async Task By_default_the_last_30_utc_days_up_to_the_end_of_today()
    {
        var link = await LinkOfAsync(Alice);
        var today = App.Clock.GetUtcNow().UtcDateTime.Date;
        var stats = await StatsAsync(Alice, link.Code, "");
        Assert.Multiple(() =>
        {
            Assert.That(DateTimeOffset.Parse(stats.GetProperty("to").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
                Is.EqualTo(new DateTimeOffset(today.AddDays(1), TimeSpan.Zero)));
            Assert.That(DateTimeOffset.Parse(stats.GetProperty("from").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
                Is.EqualTo(new DateTimeOffset(today.AddDays(-30), TimeSpan.Zero)));
            Assert.That(stats.GetProperty("interval").GetString(), Is.EqualTo("day"));
            Assert.That(Series(stats), Has.Length.EqualTo(31));
            Assert.That(stats.GetProperty("visits").GetInt64(), Is.Zero);
            Assert.That(Top(stats, "referrers"), Is.Empty);
        });
    }

    [Test]
    public async Task Redirected_visits_show_up_in_the_stats()
    {
        var link = await LinkOfAsync(Alice);
        using var visitor = NewClient(key: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/{link.Code}");
        request.Headers.Referrer = new Uri("https://news.example.org/article?id=1");
        request.Headers.TryAddWithoutValidation("User-Agent", TestVisits.Firefox);
        using (var redirect = await visitor.SendAsync(request))
        {
            Assert.That(redirect.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        }
        var stats = default(JsonElement);
        await Eventually.TrueAsync(async () =>
        {
            stats = await StatsAsync(Alice, link.Code, "interval=hour&from=" + Uri.EscapeDataString(App.Clock.GetUtcNow().AddHours(-1).ToString("O")));
            return stats.GetProperty("visits").GetInt64() == 1;
        });
        Assert.Multiple(() =>
        {
            Assert.That(stats.GetProperty("uniqueVisitors").GetInt64(), Is.EqualTo(1));
            Assert.That(Top(stats, "referrers"), Is.EqualTo(new[] { ("news.example.org", 1L) }));
            Assert.That(Top(stats, "browsers"), Is.EqualTo(new[] { ("Firefox", 1L) }));
        });
    }

    [Test]
    public async Task Another_owners_link_has_no_stats_to_show()
    {
        var link = await LinkOfAsync(Alice);
        using var other = await Bob.GetAsync($"/api/v1/links/{link.Code}/stats");
        using var unknown = await Alice.GetAsync("/api/v1/links/NoSuchLink/stats");
        using var impossible = await Alice.GetAsync("/api/v1/links/not%20a%20code/stats");
        await AssertProblemAsync(other, HttpStatusCode.NotFound, "urn:shortlink:problem:link-not-found");
        await AssertProblemAsync(unknown, HttpStatusCode.NotFound, "urn:shortlink:problem:link-not-found");
        await AssertProblemAsync(impossible, HttpStatusCode.NotFound, "urn:shortlink:problem:link-not-found");
        Assert.Multiple(async () =>
        {
            Assert.That((await StatsAsync(aliceReadOnly, link.Code, "")).GetProperty("code").GetString(), Is.EqualTo(link.Code));
            Assert.That((await StatsAsync(Http, link.Code, "")).GetProperty("code").GetString(), Is.EqualTo(link.Code), "an admin sees every owner's");
        });
    }

    [TestCase("tz=Mars/Olympus_Mons", "tz")]
    [TestCase("tz=", "tz")]
    [TestCase("interval=week", "interval")]
    [TestCase("from=2026-03-29T10:00:00", "from")]
    [TestCase("from=2026-03-29T12:00:00+02:00", "from")]
    [TestCase("from=yesterday", "from")]
    [TestCase("to=1969-12-31", "to")]
    [TestCase("from=2026-04-02&to=2026-04-01", "to")]
    [TestCase("from=2099-01-01", "from")]
    [TestCase("from=2020-01-01&to=2026-01-01&interval=hour", "interval")]
    public async Task A_query_it_cannot_answer_gets_a_validation_problem_naming_the_parameter(string query, string parameter)
    {
        var link = await LinkOfAsync(Alice);
        await AssertRefusedParameterAsync(Alice, $"/api/v1/links/{link.Code}/stats?{query}", parameter);
    }

    [TestCase("includeBots=maybe")]
    [TestCase("tz=UTC&tz=Europe/Berlin")]
    [TestCase("interval=hour&interval=day")]
    public async Task A_malformed_query_gets_a_malformed_request_problem(string query)
    {
        var link = await LinkOfAsync(Alice);
        using var response = await Alice.GetAsync($"/api/v1/links/{link.Code}/stats?{query}");
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:shortlink:problem:malformed-request");
    }
}
