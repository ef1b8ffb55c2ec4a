using System.Net;
using System.Text;
using NUnit.Framework;
using StackExchange.Redis;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Links;

/// <summary>
/// The redirect's lookups go through the two-level cache, counted in the queries MariaDB was sent: a hit costs
/// none, a made-up code one, a stampede one; and a change through one instance reaches the other within a second.
/// </summary>
public sealed class LinkCacheApiTests : ApiTestBase
{
    /// <summary>Text of the lookup by code, and of nothing else the service sends.</summary>
    private const string Lookup = "AND code = @Code AND deleted_at IS NULL";

    protected override bool UsesRedis => true;

    private HttpClient visitor = null!;

    [OneTimeSetUp]
    public void CreateVisitor() => visitor = NewClient(key: null);

    [OneTimeTearDown]
    public void DisposeVisitor() => visitor.Dispose();

    private async Task<string> NewLinkAsync(string url = "https://example.com/cached") =>
        (await CreateLinkAsync(new { url })).GetProperty("code").GetString()!;

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return response.StatusCode;
    }

    private static async Task<string?> LocationAsync(HttpClient client, string code)
    {
        using var response = await client.GetAsync($"/{code}");
        return response.Headers.Location?.ToString();
    }

    [Test]
    public async Task A_second_redirect_of_a_code_costs_no_query()
    {
        var code = await NewLinkAsync();
        using var first = new DatabaseCommands(ConnectionString, Lookup);
        var firstStatus = await StatusAsync(visitor, $"/{code}");
        var firstQueries = first.Executed;
        using var second = new DatabaseCommands(ConnectionString, Lookup);
        var again = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => StatusAsync(visitor, $"/{code}")));
        Assert.Multiple(() =>
        {
            Assert.That(firstStatus, Is.EqualTo(HttpStatusCode.Found));
            Assert.That(firstQueries, Is.EqualTo(1));
            Assert.That(again, Is.All.EqualTo(HttpStatusCode.Found));
            Assert.That(second.Executed, Is.Zero);
        });
    }

    [Test]
    public async Task Unknown_codes_cost_one_query_each_and_a_repeat_costs_none()
    {
        var codes = Enumerable.Range(0, 1000).Select(_ => Guid.NewGuid().ToString("N")[..10]).ToArray();
        using var first = new DatabaseCommands(ConnectionString, Lookup);
        foreach (var chunk in codes.Chunk(50))
        {
            await Task.WhenAll(chunk.Select(code => StatusAsync(visitor, $"/{code}")));
        }
        var firstQueries = first.Executed;
        using var repeat = new DatabaseCommands(ConnectionString, Lookup);
        var repeated = new List<HttpStatusCode>();
        foreach (var chunk in codes.Chunk(50))
        {
            repeated.AddRange(await Task.WhenAll(chunk.Select(code => StatusAsync(visitor, $"/{code}"))));
        }
        Assert.Multiple(() =>
        {
            Assert.That(firstQueries, Is.LessThanOrEqualTo(codes.Length));
            Assert.That(repeated, Is.All.EqualTo(HttpStatusCode.NotFound));
            Assert.That(repeat.Executed, Is.Zero);
        });
    }

    [Test]
    public async Task Two_hundred_concurrent_misses_on_one_code_cost_one_query()
    {
        var code = await NewLinkAsync("https://example.com/stampede");
        using var commands = new DatabaseCommands(ConnectionString, Lookup);
        using var start = new ManualResetEventSlim();
        var statuses = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            return await StatusAsync(visitor, $"/{code}");
        })).Append(Task.Run(() => { start.Set(); return HttpStatusCode.Found; })));
        Assert.Multiple(() =>
        {
            Assert.That(statuses, Is.All.EqualTo(HttpStatusCode.Found));
            Assert.That(commands.Executed, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_change_or_a_delete_through_one_instance_reaches_the_other_within_a_second()
    {
        var code = await NewLinkAsync("https://example.com/before");
        await using var other = new ShortlinkApp(ServiceConnectionString(ConnectionString), ServiceSettings);
        using var otherVisitor = other.CreateClient(new() { AllowAutoRedirect = false });
        var before = await LocationAsync(otherVisitor, code);
        using var patched = await Http.PatchAsync($"/api/v1/links/{code}",
            new StringContent("""{"url":"https://example.com/after"}""", Encoding.UTF8, "application/merge-patch+json"));
        var changedAt = DateTime.UtcNow;
        await Eventually.TrueAsync(async () => await LocationAsync(otherVisitor, code) == "https://example.com/after", TimeSpan.FromSeconds(5));
        var changeTook = DateTime.UtcNow - changedAt;
        (await Http.DeleteAsync($"/api/v1/links/{code}")).Dispose();
        var deletedAt = DateTime.UtcNow;
        await Eventually.TrueAsync(async () => await StatusAsync(otherVisitor, $"/{code}") == HttpStatusCode.NotFound, TimeSpan.FromSeconds(5));
        var deleteTook = DateTime.UtcNow - deletedAt;
        Assert.Multiple(() =>
        {
            Assert.That(before, Is.EqualTo("https://example.com/before"));
            Assert.That(patched.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(changeTook, Is.LessThan(TimeSpan.FromSeconds(1)));
            Assert.That(deleteTook, Is.LessThan(TimeSpan.FromSeconds(1)));
        });
    }

    [Test]
    public async Task A_code_tried_before_it_existed_redirects_everywhere_once_it_is_created()
    {
        await using var other = new ShortlinkApp(ServiceConnectionString(ConnectionString), ServiceSettings);
        using var otherVisitor = other.CreateClient(new() { AllowAutoRedirect = false });
        var triedHere = await StatusAsync(visitor, "/not-yet-made");
        var triedThere = await StatusAsync(otherVisitor, "/not-yet-made");
        await CreateLinkAsync(new { url = "https://example.com/made", slug = "not-yet-made" });
        var createdAt = DateTime.UtcNow;
        var here = await StatusAsync(visitor, "/not-yet-made");
        await Eventually.TrueAsync(async () => await StatusAsync(otherVisitor, "/not-yet-made") == HttpStatusCode.Found, TimeSpan.FromSeconds(5));
        Assert.Multiple(() =>
        {
            Assert.That((triedHere, triedThere), Is.EqualTo((HttpStatusCode.NotFound, HttpStatusCode.NotFound)));
            Assert.That(here, Is.EqualTo(HttpStatusCode.Found), "the instance that created it redirects at once");
            Assert.That(DateTime.UtcNow - createdAt, Is.LessThan(TimeSpan.FromSeconds(1)));
        });
    }

    [Test]
    public async Task Another_instance_finds_a_link_in_redis_without_a_query()
    {
        var code = await NewLinkAsync("https://example.com/shared");
        Assert.That(await StatusAsync(visitor, $"/{code}"), Is.EqualTo(HttpStatusCode.Found));
        // Written to Redis in the background: wait until it is there.
        await using (var redis = await ConnectionMultiplexer.ConnectAsync(RedisConfiguration!))
        {
            var server = redis.GetServers().Single();
            await Eventually.TrueAsync(() => Task.FromResult(server.Keys(pattern: $"*link:*:{code}").Any()), TimeSpan.FromSeconds(5));
        }
        await using var other = new ShortlinkApp(ServiceConnectionString(ConnectionString), ServiceSettings);
        using var otherVisitor = other.CreateClient(new() { AllowAutoRedirect = false });
        (await otherVisitor.GetAsync("/health/live")).Dispose();
        using var commands = new DatabaseCommands(ConnectionString, Lookup);
        var status = await StatusAsync(otherVisitor, $"/{code}");
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.Found));
            Assert.That(commands.Executed, Is.Zero, "the other instance's L1 was empty: the link came from Redis");
        });
    }

    [Test]
    public async Task A_visit_limit_stays_exact_under_three_hundred_concurrent_visitors_through_the_cache()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/limited", maxVisits = 50 })).GetProperty("code").GetString();
        Assert.That(await StatusAsync(visitor, $"/{code}"), Is.EqualTo(HttpStatusCode.Found), "the first visit caches the link");
        using var start = new ManualResetEventSlim();
        var visits = Enumerable.Range(0, 300).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            return await StatusAsync(visitor, $"/{code}");
        })).ToList();
        start.Set();
        var statuses = await Task.WhenAll(visits);
        using var head = await visitor.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/{code}"));
        Assert.Multiple(async () =>
        {
            Assert.That(statuses.Count(s => s == HttpStatusCode.Found), Is.EqualTo(49));
            Assert.That(statuses.Count(s => s == HttpStatusCode.Gone), Is.EqualTo(251));
            Assert.That(head.StatusCode, Is.EqualTo(HttpStatusCode.Gone), "HEAD sees the count, not the cached link's");
        });
        // Counted in Redis, written to the row within a second.
        await Eventually.TrueAsync(async () => await QueryScalarAsync<long>($"SELECT visit_count FROM links WHERE code = '{code}'") == 50,
            TimeSpan.FromSeconds(3));
    }
}
