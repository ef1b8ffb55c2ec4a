using System.Net;
using NUnit.Framework;
using Shortlink.Tests.Support;
using StackExchange.Redis;

namespace Shortlink.Features.Links;

/// <summary>
/// With Redis, a visit limit is counted in one atomic script per visit and written to the link's row in the
/// background; a counter Redis lost starts again from the stored count, and counters left in Redis by a crashed
/// instance are written back when an instance starts.
/// </summary>
public sealed class VisitCountersApiTests : ApiTestBase
{
    protected override bool UsesRedis => true;

    private HttpClient visitor = null!;
    private ConnectionMultiplexer redis = null!;

    [OneTimeSetUp]
    public async Task Connect()
    {
        visitor = NewClient(key: null);
        redis = await ConnectionMultiplexer.ConnectAsync(RedisConfiguration!);
    }

    [OneTimeTearDown]
    public async Task Disconnect()
    {
        visitor.Dispose();
        await redis.DisposeAsync();
    }

    private string CounterKey(string code) => $"{ServiceSettings["Shortlink:Redis:Prefix"]}:visits:sho.rt:{code}";

    private Task<long> StoredAsync(string code) => QueryScalarAsync<long>("SELECT visit_count FROM links WHERE code = @code", new { code });

    private async Task<HttpStatusCode[]> VisitAsync(string code, int times) =>
        await Task.WhenAll(Enumerable.Range(0, times).Select(async _ =>
        {
            using var response = await visitor.GetAsync($"/{code}");
            return response.StatusCode;
        }));

    [Test]
    public async Task A_visit_costs_no_query_once_the_link_is_cached_and_counted()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/counted", maxVisits = 100 })).GetProperty("code").GetString()!;
        await VisitAsync(code, 2);
        using var commands = new DatabaseCommands(ConnectionString, "links");
        var statuses = await VisitAsync(code, 20);
        Assert.Multiple(async () =>
        {
            Assert.That(statuses, Is.All.EqualTo(HttpStatusCode.Found));
            Assert.That(commands.Executed, Is.LessThanOrEqualTo(2), "only the background write-back, once a second, touches the row");
            Assert.That((long)await redis.GetDatabase().StringGetAsync(CounterKey(code)), Is.EqualTo(22));
        });
    }

    [Test]
    public async Task A_counter_redis_lost_starts_again_from_the_stored_count()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/lost", maxVisits = 20 })).GetProperty("code").GetString()!;
        Assert.That(await VisitAsync(code, 10), Is.All.EqualTo(HttpStatusCode.Found));
        await Eventually.TrueAsync(async () => await StoredAsync(code) == 10, TimeSpan.FromSeconds(3));
        await redis.GetDatabase().KeyDeleteAsync(CounterKey(code));
        var statuses = await VisitAsync(code, 15);
        Assert.Multiple(() =>
        {
            Assert.That(statuses.Count(s => s == HttpStatusCode.Found), Is.EqualTo(10));
            Assert.That(statuses.Count(s => s == HttpStatusCode.Gone), Is.EqualTo(5));
        });
    }

    [Test]
    public async Task An_instance_writes_back_at_start_the_counts_another_left_in_redis()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/crashed", maxVisits = 100 })).GetProperty("code").GetString()!;
        // As an instance that counted 42 visits and died before writing them.
        await redis.GetDatabase().StringSetAsync(CounterKey(code), 42);
        await using var restarted = new ShortlinkApp(ServiceConnectionString(ConnectionString), ServiceSettings);
        using var client = restarted.CreateClient();
        (await client.GetAsync("/health/live")).Dispose();
        await Eventually.TrueAsync(async () => await StoredAsync(code) == 42, TimeSpan.FromSeconds(5));
    }

    [Test]
    public async Task Deleting_a_link_deletes_its_counter()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/deleted", maxVisits = 5 })).GetProperty("code").GetString()!;
        await VisitAsync(code, 1);
        (await Http.DeleteAsync($"/api/v1/links/{code}")).Dispose();
        await Eventually.TrueAsync(async () => !await redis.GetDatabase().KeyExistsAsync(CounterKey(code)), TimeSpan.FromSeconds(3));
    }
}
