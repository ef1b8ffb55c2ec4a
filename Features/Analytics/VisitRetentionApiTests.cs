using System.Text.Json;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Analytics;

/// <summary>Raw visits older than Visits:RetentionDays are deleted in batches; newer ones and every rollup stay.</summary>
public sealed class VisitRetentionApiTests : ApiTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:Visits:Enabled"] = "true",
        ["Shortlink:Visits:RetentionDays"] = "400",
    };

    private Task<long> CountAsync(string sql, object parameters) => QueryScalarAsync<long>(sql, parameters);

    [Test]
    public async Task Raw_visits_older_than_the_retention_go_while_newer_ones_and_every_rollup_stay()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/kept-for-a-while" })).GetProperty("code").GetString()!;
        var link = await TestVisits.LinkAsync(ConnectionString, code);
        var now = App.Clock.GetUtcNow().UtcDateTime;
        var old = now.AddDays(-500);
        var recent = now.AddDays(-300);
        // More old visits than one statement deletes.
        var oldVisits = Enumerable.Range(0, VisitRetention.BatchSize + 500)
            .Select(i => link.Visit(old.AddSeconds(i).ToString("O"), visitor: (ulong)(i % 7))).ToList();
        var recentVisits = Enumerable.Range(0, 3).Select(i => link.Visit(recent.AddSeconds(i).ToString("O"), visitor: 1)).ToList();
        await TestVisits.WriteAsync(App, [.. oldVisits, .. recentVisits]);
        const string visitsOf = "SELECT COUNT(*) FROM visits WHERE link_id = @Id AND occurred_at < @Before";
        const string visitorsOf = "SELECT COUNT(*) FROM visit_visitors WHERE link_id = @Id AND day < @Before";
        var cutoff = now.AddDays(-400);
        Assert.That(await CountAsync(visitsOf, new { link.Id, Before = cutoff }), Is.EqualTo(oldVisits.Count));

        // The retention runs every hour of the service's clock.
        await Eventually.TrueAsync(async () =>
        {
            App.Clock.Advance(TimeSpan.FromHours(1));
            return await CountAsync(visitsOf, new { link.Id, Before = cutoff }) == 0;
        });
        var stats = JsonDocument.Parse(await Http.GetStringAsync(
            $"/api/v1/links/{code}/stats?from={old.Date:yyyy-MM-dd}&to={now.AddDays(1):yyyy-MM-dd}")).RootElement;
        Assert.Multiple(async () =>
        {
            Assert.That(await CountAsync(visitsOf, new { link.Id, Before = now }), Is.EqualTo(recentVisits.Count));
            Assert.That(await CountAsync(visitorsOf, new { link.Id, Before = cutoff }), Is.Zero, "the visitors of deleted days go too");
            Assert.That(await CountAsync(visitorsOf, new { link.Id, Before = now }), Is.EqualTo(1));
            Assert.That(await CountAsync("SELECT SUM(visits) FROM visit_rollups WHERE link_id = @Id AND dimension = 'total'", new { link.Id }),
                Is.EqualTo(oldVisits.Count + recentVisits.Count));
            Assert.That(stats.GetProperty("visits").GetInt64(), Is.EqualTo(oldVisits.Count + recentVisits.Count), "stats outlive raw visits");
            Assert.That(stats.GetProperty("uniqueVisitors").GetInt64(), Is.EqualTo(7 + 1));
        });
    }
}
