using System.Net;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Analytics;

/// <summary>
/// The pipeline, through RabbitMQ and embedded: redirects become visits, written once each with their rollups, and
/// nothing else does.
/// </summary>
[TestFixture(Transport.Embedded)]
[TestFixture(Transport.RabbitMq)]
public sealed class VisitPipelineApiTests(Transport transport) : ApiTestBase
{
    private const string Browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:Visits:Enabled"] = "true",
        ["Shortlink:Visits:CountryHeader"] = "CF-IPCountry",
        ["Shortlink:Visits:Region"] = "test-1",
    };

    protected override bool UsesRabbitMq => transport == Transport.RabbitMq;

    private Task<long> CountAsync(string sql, object? parameters = null) => QueryScalarAsync<long>(sql, parameters);

    private Task<long> RollupAsync(string code, string dimension, bool isBot = false, string value = "") => CountAsync("""
        SELECT COALESCE(SUM(r.visits), 0) FROM visit_rollups r JOIN links l ON l.id = r.link_id
        WHERE l.code = @code AND r.dimension = @dimension AND r.is_bot = @isBot AND r.value = @value
        """, new { code, dimension, isBot, value });

    [Test]
    public async Task Ten_thousand_redirects_over_two_hundred_links_are_ten_thousand_visits()
    {
        var created = await PostJsonAsync("/api/v1/links/bulk", System.Text.Json.JsonSerializer.Serialize(new
        {
            items = Enumerable.Range(0, 200).Select(i => new { url = $"https://example.com/pipeline/{i}" }),
        }));
        var codes = System.Text.Json.JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("items")
            .EnumerateArray().Select(item => item.GetProperty("link").GetProperty("code").GetString()!).ToArray();
        Assert.That(codes, Has.Length.EqualTo(200));
        using var visitor = NewClient(key: null);
        visitor.DefaultRequestHeaders.UserAgent.ParseAdd(Browser);
        await Parallel.ForEachAsync(Enumerable.Range(0, 10_000), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
        {
            using var response = await visitor.GetAsync($"/{codes[i % codes.Length]}", ct);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        });
        // Only this test's links: the fixture's other tests visit links of their own.
        const string mine = "JOIN links l ON l.id = v.link_id WHERE l.url LIKE 'https://example.com/pipeline/%'";
        await Eventually.TrueAsync(async () => await CountAsync($"SELECT COUNT(*) FROM visits v {mine}") >= 10_000, TimeSpan.FromSeconds(30));
        Assert.Multiple(async () =>
        {
            Assert.That(await CountAsync($"SELECT COUNT(DISTINCT v.id) FROM visits v {mine}"), Is.EqualTo(10_000));
            Assert.That(await CountAsync($"SELECT COALESCE(SUM(v.visits), 0) FROM visit_rollups v {mine} AND v.dimension = 'total' AND v.is_bot = 0"),
                Is.EqualTo(10_000));
            Assert.That(await CountAsync($"SELECT COALESCE(SUM(v.visits), 0) FROM visit_rollups v {mine} AND v.dimension = 'browser' AND v.value = 'Chrome'"),
                Is.EqualTo(10_000));
            // One visitor (one address, one browser) per link and day.
            Assert.That(await CountAsync($"SELECT COALESCE(SUM(v.visits), 0) FROM visit_rollups v {mine} AND v.dimension = 'visitors'"),
                Is.EqualTo(200));
            Assert.That(await RollupAsync(codes[0], VisitRollups.Total), Is.EqualTo(50));
        });
        // And the stats API, which reads the daily and hourly rollups, reports the same.
        var reported = 0L;
        foreach (var code in codes)
        {
            using var stats = await Http.GetAsync($"/api/v1/links/{code}/stats?interval=hour");
            Assert.That(stats.StatusCode, Is.EqualTo(HttpStatusCode.OK), await stats.Content.ReadAsStringAsync());
            reported += System.Text.Json.JsonDocument.Parse(await stats.Content.ReadAsStringAsync()).RootElement.GetProperty("visits").GetInt64();
        }
        Assert.That(reported, Is.EqualTo(10_000));
    }

    [Test]
    public async Task Nothing_is_recorded_unless_visits_are_enabled()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/unrecorded" })).GetProperty("code").GetString()!;
        // The default configuration: the fixture's own setting taken away.
        var settings = new Dictionary<string, string?>(ServiceSettings);
        settings.Remove("Shortlink:Visits:Enabled");
        await using (var app = new ShortlinkApp(ConnectionString, settings))
        {
            using var visitor = app.CreateClient(new() { AllowAutoRedirect = false });
            using var response = await visitor.GetAsync($"/{code}");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        }
        // Stopped, that instance has written whatever it recorded; this fixture's own instance records.
        (await Http.GetAsync($"/{code}")).Dispose();
        await Eventually.TrueAsync(async () => await RollupAsync(code, VisitRollups.Total) > 0, TimeSpan.FromSeconds(10));
        Assert.That(await RollupAsync(code, VisitRollups.Total), Is.EqualTo(1));
    }

    [Test]
    public async Task Head_requests_refusals_and_unknown_codes_never_become_visits()
    {
        var counted = (await CreateLinkAsync(new { url = "https://example.com/counted" })).GetProperty("code").GetString()!;
        var limited = (await CreateLinkAsync(new { url = "https://example.com/limited", maxVisits = 1 })).GetProperty("code").GetString()!;
        using var visitor = NewClient(key: null);
        (await visitor.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/{counted}"))).Dispose();
        (await visitor.GetAsync($"/{limited}")).Dispose();
        using (var gone = await visitor.GetAsync($"/{limited}"))
        {
            Assert.That(gone.StatusCode, Is.EqualTo(HttpStatusCode.Gone));
        }
        (await visitor.GetAsync("/noSuchCode1")).Dispose();
        (await visitor.GetAsync($"/{counted}")).Dispose();
        await Eventually.TrueAsync(async () => await RollupAsync(counted, VisitRollups.Total) == 1, TimeSpan.FromSeconds(10));
        Assert.Multiple(async () =>
        {
            Assert.That(await RollupAsync(limited, VisitRollups.Total), Is.EqualTo(1), "the 410 after the one visit is no visit");
            Assert.That(await CountAsync("SELECT COUNT(*) FROM visits v JOIN links l ON l.id = v.link_id WHERE l.code IN (@counted, @limited)",
                new { counted, limited }), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task Bots_and_link_preview_fetchers_are_counted_apart_from_people()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/shared" })).GetProperty("code").GetString()!;
        foreach (var agent in new[] { "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "Twitterbot/1.0", Browser })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/{code}");
            request.Headers.TryAddWithoutValidation("User-Agent", agent);
            (await Http.SendAsync(request)).Dispose();
        }
        await Eventually.TrueAsync(async () => await RollupAsync(code, VisitRollups.Total, isBot: true) + await RollupAsync(code, VisitRollups.Total) == 3,
            TimeSpan.FromSeconds(10));
        Assert.Multiple(async () =>
        {
            Assert.That(await RollupAsync(code, VisitRollups.Total), Is.EqualTo(1));
            Assert.That(await RollupAsync(code, VisitRollups.Total, isBot: true), Is.EqualTo(2));
            Assert.That(await RollupAsync(code, VisitRollups.Device, isBot: true, value: Devices.Bot), Is.EqualTo(2));
            Assert.That(await RollupAsync(code, VisitRollups.Device, value: Devices.Desktop), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_visit_keeps_the_referrers_host_and_a_hash_of_its_visitor_and_nothing_more()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/private" })).GetProperty("code").GetString()!;
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/{code}");
        request.Headers.Referrer = new Uri("https://User:secret@News.Example.ORG:8443/some/path?token=abc#frag");
        request.Headers.TryAddWithoutValidation("CF-IPCountry", "DE");
        (await Http.SendAsync(request)).Dispose();
        await Eventually.TrueAsync(async () => await RollupAsync(code, VisitRollups.Total) == 1, TimeSpan.FromSeconds(10));
        Assert.Multiple(async () =>
        {
            Assert.That(await RollupAsync(code, VisitRollups.Referrer, value: "news.example.org"), Is.EqualTo(1));
            Assert.That(await RollupAsync(code, VisitRollups.Country, value: ""), Is.EqualTo(1),
                "a country header from a client that is no trusted proxy is not believed");
            Assert.That(await TextColumnsContainingAsync("secret"), Is.Empty);
            Assert.That(await TextColumnsContainingAsync("token=abc"), Is.Empty);
            Assert.That(await TextColumnsContainingAsync("127.0.0.1"), Is.Empty);
            Assert.That(await QueryScalarAsync<string>("SELECT v.region FROM visits v JOIN links l ON l.id = v.link_id WHERE l.code = @code",
                new { code }), Is.EqualTo("test-1"));
        });
    }
}

public enum Transport
{
    Embedded,
    RabbitMq,
}
