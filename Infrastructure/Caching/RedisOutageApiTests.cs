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
            Assert.That(RedisLogLines().Count(line => line.StartsWith("Warning", StringComparison.Ordinal)), Is.InRange(1, 2),
                "once when it went (and once at start, before it was there)");
            Assert.That(RedisLogLines().Count(line => line.StartsWith("Information", StringComparison.Ordinal)), Is.EqualTo(2),
                "once each time it came back");
        });
    }
}
