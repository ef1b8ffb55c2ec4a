using System.Diagnostics;
using System.Net;
using System.Text;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Tests.Api;

/// <summary>
/// Bursts of creates many times larger than the database pool, with and without Idempotency-Key, while
/// visitors are redirected: every create waits its turn or is answered 503 with Retry-After, none gets a
/// 500, and the redirects keep flowing because the API can never take the whole pool.
/// </summary>
public abstract class BurstTestBase : ApiTestBase
{
    protected const int PoolSize = 12;
    protected const int ApiPermits = 6;

    /// <summary>A redirect is never queued behind the API; a lookup that waited for a pooled connection would show here.</summary>
    private static readonly TimeSpan RedirectBound = TimeSpan.FromSeconds(2);

    protected abstract int QueueLimit { get; }

    protected override string ServiceConnectionString(string connectionString) =>
        new MySqlConnectionStringBuilder(connectionString) { MaximumPoolSize = PoolSize, ConnectionTimeout = 5 }.ConnectionString;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:Api:MaxConcurrentRequests"] = ApiPermits.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Shortlink:Api:MaxQueuedRequests"] = QueueLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    protected sealed record Burst(long LinksBefore, IReadOnlyList<(int Status, string? RetryAfter, bool WithKey)> Creates,
        IReadOnlyList<int> RedirectStatuses, TimeSpan SlowestRedirect);

    protected async Task<Burst> RunBurstAsync(int createsWithKeys, int createsWithoutKeys)
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/during-a-burst" })).GetProperty("code").GetString();
        var linksBefore = await QueryScalarAsync<long>("SELECT COUNT(*) FROM links");
        using var stop = new CancellationTokenSource();
        var visitors = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            var seen = new List<(int Status, TimeSpan Took)>();
            while (!stop.IsCancellationRequested)
            {
                var watch = Stopwatch.StartNew();
                using var response = await Http.GetAsync($"/{code}");
                seen.Add(((int)response.StatusCode, watch.Elapsed));
            }
            return seen;
        })).ToList();
        await Task.Delay(100);
        var creates = await Task.WhenAll(Enumerable.Range(0, createsWithKeys + createsWithoutKeys).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/links")
            {
                Content = new StringContent($$"""{"url":"https://example.com/burst/{{i}}"}""", Encoding.UTF8, "application/json"),
            };
            var withKey = i < createsWithKeys;
            if (withKey)
            {
                request.Headers.Add("Idempotency-Key", $"burst-{i}");
            }
            using var response = await Http.SendAsync(request);
            return ((int)response.StatusCode, response.Headers.RetryAfter?.ToString(), withKey);
        }));
        await stop.CancelAsync();
        var redirects = (await Task.WhenAll(visitors)).SelectMany(seen => seen).ToList();
        TestContext.Out.WriteLine($"creates: {string.Join(", ", creates.GroupBy(c => c.Item1).Select(g => $"{g.Key}×{g.Count()}"))}; " +
                                  $"{redirects.Count} redirects, slowest {redirects.Max(r => r.Took).TotalMilliseconds:0} ms");
        return new Burst(linksBefore, creates, redirects.ConvertAll(r => r.Status), redirects.Max(r => r.Took));
    }

    protected static void AssertRedirectsFlowed(Burst burst) =>
        Assert.Multiple(() =>
        {
            Assert.That(burst.RedirectStatuses, Is.Not.Empty);
            Assert.That(burst.RedirectStatuses, Is.All.EqualTo(302));
            Assert.That(burst.SlowestRedirect, Is.LessThan(RedirectBound));
        });
}

public sealed class BurstWithinTheQueueTests : BurstTestBase
{
    protected override int QueueLimit => 1000;

    [Test]
    public async Task A_burst_that_fits_the_queue_is_served_whole_and_redirects_keep_flowing()
    {
        var burst = await RunBurstAsync(createsWithKeys: 300, createsWithoutKeys: 300);
        Assert.Multiple(async () =>
        {
            Assert.That(burst.Creates.Select(c => c.Status), Is.All.EqualTo(201));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM links"), Is.EqualTo(burst.LinksBefore + 600));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM idempotency_records WHERE status_code = 201"), Is.EqualTo(300));
        });
        AssertRedirectsFlowed(burst);
    }
}

public sealed class BurstBeyondTheQueueTests : BurstTestBase
{
    protected override int QueueLimit => 20;

    [Test]
    public async Task A_burst_beyond_the_queue_gets_503_with_retry_after_never_500_and_redirects_keep_flowing()
    {
        var burst = await RunBurstAsync(createsWithKeys: 300, createsWithoutKeys: 300);
        var refused = burst.Creates.Where(c => c.Status == 503).ToList();
        Assert.Multiple(async () =>
        {
            Assert.That(burst.Creates.Select(c => c.Status), Is.All.AnyOf(201, 503));
            Assert.That(refused, Is.Not.Empty);
            Assert.That(refused.Select(c => c.RetryAfter), Is.All.EqualTo("1"));
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM links"), Is.EqualTo(burst.LinksBefore + burst.Creates.Count(c => c.Status == 201)));
            // A refused request reserved nothing: its key is free for the retry.
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM idempotency_records"),
                Is.EqualTo(burst.Creates.Count(c => c.Status == 201 && c.WithKey)));
        });
        AssertRedirectsFlowed(burst);
        var warnings = App.Logs.Events.Where(e => e.Level >= Serilog.Events.LogEventLevel.Warning).Select(e => e.RenderMessage()).ToList();
        Assert.That(warnings, Has.Count.EqualTo(1).And.Some.StartsWith("The API request queue is full"),
            "the full queue is logged once, not once per refused request");
    }
}
