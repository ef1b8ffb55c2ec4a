using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Infrastructure.Data;

/// <summary>
/// A bucket moves from shard 0 to shard 1 while redirects, visits, creates and changes of its links go on: no redirect
/// fails, no link, visit or rollup count is lost or doubled, and writes are refused only as documented (503
/// bucket-moving with Retry-After) during the freeze. The cache is off, so that every redirect reads its shard.
/// </summary>
[TestFixture]
public sealed class BucketMoveApiTests : ShardedApiTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Shortlink:Visits:Enabled"] = "true",
        ["Shortlink:Cache:Enabled"] = "false",
    };

    /// <summary>Slugs prefix-N in the bucket, as many as asked.</summary>
    private static List<string> SlugsIn(int bucket, string prefix, int count) =>
        Enumerable.Range(0, int.MaxValue).Select(i => $"{prefix}-{i}").Where(slug => Buckets.Of(Domain, slug) == bucket).Take(count).ToList();

    [Test]
    public async Task A_bucket_moves_under_load_without_a_failed_redirect_or_a_lost_or_doubled_row()
    {
        var bucket = Buckets.Of(Domain, SlugsOn(0, "moving", 1)[0]);
        var seeded = SlugsIn(bucket, "seed", 6);
        var limited = seeded[0];
        await CreateLinkAsync(new { url = "https://example.com/limited", slug = limited, maxVisits = 1_000_000, tags = new[] { "moving" } });
        foreach (var slug in seeded.Skip(1))
        {
            await CreateLinkAsync(new { url = $"https://example.com/{slug}", slug, tags = new[] { "moving", "seed" } });
        }
        var fresh = new ConcurrentQueue<string>(SlugsIn(bucket, "fresh", 2_000));
        var redirects = new ConcurrentDictionary<string, int>();
        var failedRedirects = new ConcurrentBag<string>();
        var created = new ConcurrentBag<string>();
        var refused = new ConcurrentBag<string>();
        var unexpected = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();

        async Task RedirectAsync()
        {
            using var visitor = NewClient(key: null);
            visitor.DefaultRequestHeaders.UserAgent.ParseAdd(TestVisits.Chrome);
            while (!stop.IsCancellationRequested)
            {
                foreach (var slug in seeded)
                {
                    using var response = await visitor.GetAsync($"/{slug}");
                    if (response.StatusCode == HttpStatusCode.Found)
                    {
                        redirects.AddOrUpdate(slug, 1, (_, count) => count + 1);
                    }
                    else
                    {
                        failedRedirects.Add($"{slug}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }
                }
            }
        }

        async Task WriteAsync()
        {
            using var writer = NewClient(TestKeys.Admin);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                Assert.That(fresh.TryPeek(out var slug), Is.True, "enough fresh slugs");
                using var create = await writer.PostAsJsonAsync("/api/v1/links", new { url = $"https://example.com/{slug}", slug, tags = new[] { "fresh" } });
                using var change = await writer.PatchAsJsonAsync($"/api/v1/links/{seeded[1 + i % 5]}", new { title = $"change {i}" });
                foreach (var response in new[] { create, change })
                {
                    if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                    {
                        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
                        if (problem.GetProperty("type").GetString() != "urn:shortlink:problem:bucket-moving" || response.Headers.RetryAfter?.Delta is null)
                        {
                            unexpected.Add($"503 {problem}");
                        }
                        refused.Add(slug!);
                    }
                    else if (response.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.OK))
                    {
                        unexpected.Add($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }
                }
                if (create.StatusCode == HttpStatusCode.Created)
                {
                    fresh.TryDequeue(out _);
                    created.Add(slug!);
                }
                await Task.Delay(20);
            }
        }

        var load = Task.WhenAll(RedirectAsync(), RedirectAsync(), WriteAsync());
        await Task.Delay(300);
        var moved = await App.Services.GetRequiredService<BucketMover>().MoveAsync([bucket], 1, TimeSpan.FromSeconds(1), CancellationToken.None);
        await Task.Delay(300);
        await stop.CancelAsync();
        await load;

        var links = seeded.Concat(created).ToList();
        var visits = redirects.Values.Sum();
        // Every redirect's visit, including those the writer held during the freeze, reaches the new shard.
        await Eventually.TrueAsync(async () => await CountAsync(SecondShard, "SELECT COUNT(*) FROM visits v JOIN links l ON l.id = v.link_id WHERE l.bucket = @bucket",
            new { bucket }) >= visits, TimeSpan.FromSeconds(30));
        var stats = await Http.GetFromJsonAsync<JsonElement>($"/api/v1/links/{limited}/stats?from={Uri.EscapeDataString(App.Clock.GetUtcNow().AddDays(-1).ToString("O"))}");
        var listed = await Http.GetFromJsonAsync<JsonElement>("/api/v1/links?tag=moving&limit=100");
        await using var target = new MySqlConnection(SecondShard);
        Assert.Multiple(async () =>
        {
            Assert.That(moved, Is.True, "moved and cleaned up");
            Assert.That(failedRedirects, Is.Empty, "no redirect failed");
            Assert.That(unexpected, Is.Empty, "only 503 bucket-moving with Retry-After was refused");
            Assert.That(refused, Is.Not.Empty, "writes were refused during the freeze: the load ran through it");
            Assert.That(created, Has.Count.GreaterThan(10));
            Assert.That(await CountAsync(ShardDatabase(0), "SELECT COUNT(*) FROM links WHERE bucket = @bucket", new { bucket }), Is.Zero, "the old shard is cleaned up");
            Assert.That(await CountAsync(ShardDatabase(0), "SELECT COUNT(*) FROM visit_rollups WHERE link_id NOT IN (SELECT id FROM links)"), Is.Zero);
            Assert.That((await target.QueryAsync<string>("SELECT code FROM links WHERE bucket = @bucket", new { bucket })).Order(),
                Is.EqualTo(links.Order()), "every link once, each created link included");
            Assert.That(await CountAsync(SecondShard, "SELECT COUNT(*) FROM visits v JOIN links l ON l.id = v.link_id WHERE l.bucket = @bucket", new { bucket }),
                Is.EqualTo(visits), "each visit once");
            Assert.That(await CountAsync(SecondShard, "SELECT SUM(visits) FROM visit_rollups r JOIN links l ON l.id = r.link_id WHERE l.bucket = @bucket AND r.dimension = 'total'",
                new { bucket }), Is.EqualTo(visits), "the rollups count each visit once");
            Assert.That(await CountAsync(SecondShard, "SELECT SUM(visits) FROM visit_rollups_daily r JOIN links l ON l.id = r.link_id WHERE l.bucket = @bucket AND r.dimension = 'total'",
                new { bucket }), Is.EqualTo(visits), "so do the daily rollups");
            Assert.That(await CountAsync(SecondShard, "SELECT visit_count FROM links WHERE code = @limited", new { limited }), Is.EqualTo(redirects[limited]),
                "the visit limit counted every redirect, those made on the old shard during the move too");
            Assert.That(stats.GetProperty("visits").GetInt64(), Is.EqualTo(redirects[limited]));
            Assert.That(listed.GetProperty("items").GetArrayLength(), Is.EqualTo(seeded.Count), "listed once each");
            Assert.That(await CountAsync(ConnectionString, "SELECT COUNT(*) FROM bucket_map WHERE bucket = @bucket AND shard = 1 AND moving_to IS NULL AND moved_from IS NULL AND writes_frozen_until IS NULL",
                new { bucket }), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_move_to_an_unconfigured_shard_changes_nothing()
    {
        var version = await MapVersionAsync();
        Assert.ThrowsAsync<ArgumentException>(() => App.Services.GetRequiredService<BucketMover>().MoveAsync([3], 9, TimeSpan.Zero, CancellationToken.None));
        Assert.That(await MapVersionAsync(), Is.EqualTo(version));
    }

    [Test]
    public async Task The_buckets_command_moves_a_bucket_the_running_service_follows_and_lists_the_map()
    {
        var slug = SlugsOn(0, "command", 1)[0];
        var bucket = Buckets.Of(Domain, slug);
        await CreateLinkAsync(new { url = "https://example.com/by-command", slug });
        var environment = new Dictionary<string, string>
        {
            ["Shortlink__Database__ConnectionString"] = ConnectionString,
            ["Shortlink__Database__Shards__1__ConnectionString"] = SecondShard,
            ["Shortlink__PublicBaseUrl"] = ShortlinkApp.PublicBaseUrl,
        };

        await using var wrong = ServiceProcess.Start(environment, "buckets", "move", "1024", "--to", "1");
        await using var move = ServiceProcess.Start(environment, "buckets", "move", $"{bucket}", "--to", "1", "--grace-seconds", "0");
        var moved = await move.WaitForExitAsync(TimeSpan.FromSeconds(120));
        await using var list = ServiceProcess.Start(environment, "buckets", "list");
        var listed = await list.WaitForExitAsync(TimeSpan.FromSeconds(60));
        using var redirect = await Http.GetAsync($"/{slug}");
        var onShardOne = await CountAsync(ConnectionString, "SELECT COUNT(*) FROM bucket_map WHERE shard = 1");
        Assert.Multiple(async () =>
        {
            Assert.That(await wrong.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(2), "a bucket out of range is a usage error");
            Assert.That(moved, Is.Zero, string.Join('\n', move.Output));
            Assert.That(listed, Is.Zero, string.Join('\n', list.Output));
            Assert.That(list.StandardOutput, Does.Contain($"shard 1: {onShardOne} buckets"), string.Join('\n', list.StandardOutput));
            Assert.That(await RowsOfAsync(slug), Is.EqualTo((0L, 1L)));
            Assert.That(redirect.Headers.Location?.ToString(), Is.EqualTo("https://example.com/by-command"), "the running service followed");
        });
    }
}
