using System.Net;
using NUnit.Framework;
using Serilog.Events;
using Shortlink.Tests.Support;

namespace Shortlink.Infrastructure.Caching;

/// <summary>
/// Redis is a help, never a dependency: the service starts without it, every redirect succeeds while it is gone
/// (from memory and the database), readiness says "degraded", the outage is logged once each way and shows in
/// the metrics, and once Redis is back the cache uses it again without a restart.
/// </summary>
public sealed class RedisOutageApiTests : ApiTestBase
{
    private readonly DisposableRedis redis = new();
    private HttpClient visitor = null!;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:Redis:Configuration"] = redis.Configuration,
        ["Serilog:MinimumLevel:Override:Shortlink"] = "Information",
    };

    [OneTimeSetUp]
    public void CreateVisitor() => visitor = NewClient(key: null);

    [OneTimeTearDown]
    public async Task StopRedis()
    {
        visitor.Dispose();
        await redis.DisposeAsync();
    }

    private async Task<HttpStatusCode> StatusAsync(string path)
    {
        using var response = await visitor.GetAsync(path);
        return response.StatusCode;
    }

    private async Task<string> ReadinessAsync()
    {
        using var response = await visitor.GetAsync("/health/ready");
        return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
    }

    private async Task<string?> RedisGaugeAsync()
    {
        var metrics = await visitor.GetStringAsync("/metrics");
        return metrics.Split('\n').FirstOrDefault(line => line.StartsWith("shortlink_redis_connected", StringComparison.Ordinal));
    }

    private List<string> RedisLogLines() => App.Logs.Events
        .Where(e => e.Level >= LogEventLevel.Information && e.MessageTemplate.Text.StartsWith("Redis is", StringComparison.Ordinal))
        .Select(e => $"{e.Level} {e.RenderMessage()}")
        .ToList();

    [Test]
    public async Task Redirects_go_on_without_redis_and_the_cache_uses_it_again_when_it_returns()
    {
        // The service started before this Redis did: it must connect by itself.
        await redis.StartAsync();
        await Eventually.TrueAsync(async () => (await ReadinessAsync()).StartsWith("200 Healthy", StringComparison.Ordinal));
        var linesBefore = RedisLogLines().Count;
        var before = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            before.Add((await CreateLinkAsync(new { url = $"https://example.com/before-{i}" })).GetProperty("code").GetString()!);
        }
        Assert.That(await Task.WhenAll(before.Select(code => StatusAsync($"/{code}"))), Is.All.EqualTo(HttpStatusCode.Found));

        await redis.StopAsync();
        var during = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            during.Add((await CreateLinkAsync(new { url = $"https://example.com/during-{i}" })).GetProperty("code").GetString()!);
        }
        var started = DateTime.UtcNow;
        var statusesDuring = new List<HttpStatusCode>();
        for (var round = 0; round < 5; round++)
        {
            statusesDuring.AddRange(await Task.WhenAll(before.Concat(during).Select(code => StatusAsync($"/{code}"))));
        }
        var tookDuring = DateTime.UtcNow - started;
        await Eventually.TrueAsync(async () => (await ReadinessAsync()).StartsWith("200 Degraded", StringComparison.Ordinal));
        var gaugeDuring = await RedisGaugeAsync();

        await redis.StartAsync();
        await Eventually.TrueAsync(async () => (await ReadinessAsync()).StartsWith("200 Healthy", StringComparison.Ordinal));
        var after = (await CreateLinkAsync(new { url = "https://example.com/after" })).GetProperty("code").GetString()!;
        Assert.That(await StatusAsync($"/{after}"), Is.EqualTo(HttpStatusCode.Found));
        // Used again: another instance, with nothing in memory, gets the link from Redis, not from the database.
        await using var other = new ShortlinkApp(ServiceConnectionString(ConnectionString), ServiceSettings);
        using var otherVisitor = other.CreateClient(new() { AllowAutoRedirect = false });
        (await otherVisitor.GetAsync("/health/live")).Dispose();
        await Eventually.TrueAsync(async () =>
        {
            using var commands = new DatabaseCommands(ConnectionString, "AND code = @Code AND deleted_at IS NULL");
            using var response = await otherVisitor.GetAsync($"/{after}");
            return response.StatusCode == HttpStatusCode.Found && commands.Executed == 0;
        }, TimeSpan.FromSeconds(10));

        Assert.Multiple(() =>
        {
            Assert.That(statusesDuring, Is.All.EqualTo(HttpStatusCode.Found), "every redirect succeeded while Redis was gone");
            Assert.That(tookDuring, Is.LessThan(TimeSpan.FromSeconds(10)), "200 redirects did not wait on Redis each time");
            Assert.That(gaugeDuring, Does.EndWith(" 0"));
            Assert.That(RedisLogLines().Skip(linesBefore).Select(line => line.Split(' ')[0]), Is.EqualTo(new[] { "Warning", "Information" }),
                "once when it went, once when it came back");
        });
    }

    [Test]
    public async Task A_visit_limit_counted_by_the_database_while_redis_is_gone_holds_when_it_returns()
    {
        await redis.StartAsync();
        await Eventually.TrueAsync(async () => (await ReadinessAsync()).StartsWith("200 Healthy", StringComparison.Ordinal));
        var code = (await CreateLinkAsync(new { url = "https://example.com/limited-across-an-outage", maxVisits = 10 })).GetProperty("code").GetString()!;
        var withRedis = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            withRedis.Add(await StatusAsync($"/{code}"));
        }
        await Eventually.TrueAsync(async () =>
            await QueryScalarAsync<long>("SELECT visit_count FROM links WHERE code = @code", new { code }) == 4, TimeSpan.FromSeconds(3));
        await redis.StopAsync();
        var withoutRedis = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            withoutRedis.Add(await StatusAsync($"/{code}"));
        }
        await redis.StartAsync();
        await Eventually.TrueAsync(async () => (await ReadinessAsync()).StartsWith("200 Healthy", StringComparison.Ordinal));
        var after = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            after.Add(await StatusAsync($"/{code}"));
        }
        Assert.Multiple(() =>
        {
            Assert.That(withRedis, Is.All.EqualTo(HttpStatusCode.Found));
            Assert.That(withoutRedis, Is.All.EqualTo(HttpStatusCode.Found));
            Assert.That(after, Is.EqualTo(new[] { HttpStatusCode.Found, HttpStatusCode.Found, HttpStatusCode.Found,
                HttpStatusCode.Gone, HttpStatusCode.Gone, HttpStatusCode.Gone }), "10 in all: 4 in Redis, 3 in the database, 3 more");
        });
    }
}
