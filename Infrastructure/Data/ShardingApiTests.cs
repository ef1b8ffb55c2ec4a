using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Features.Links;
using Shortlink.Infrastructure.Security;
using Shortlink.Tests.Support;

namespace Shortlink.Infrastructure.Data;

/// <summary>
/// The service on two shards: shard 0 the fixture's database (also the control database), shard 1 a second database,
/// and the bucket map giving buckets 512 to 1,023 to shard 1, as an operator's move would leave it.
/// </summary>
public abstract class ShardedApiTestBase : ApiTestBase
{
    protected static readonly string Domain = new ShortDomain(ShortlinkApp.PublicBaseUrl).Name;

    private DatabaseServer server = null!;

    /// <summary>Shard 1's database.</summary>
    protected string SecondShard { get; private set; } = "";

    private protected override async Task<DatabaseServer> DatabaseServerAsync()
    {
        server = await TestServers.DatabaseAsync();
        SecondShard = DataServiceCollectionExtensions.WithRequiredSettings(await server.CreateDatabaseAsync());
        return server;
    }

    private protected override async ValueTask StopServersAsync() => await server.DropDatabaseAsync(SecondShard);

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:Database:Shards:1:ConnectionString"] = SecondShard,
    };

    [OneTimeSetUp]
    public async Task GiveTheUpperHalfOfTheBucketsToShardOneAsync() =>
        await ChangeMapAsync("UPDATE bucket_map SET shard = 1 WHERE bucket >= 512");

    /// <summary>Changes the control database's bucket map and waits until the service routes by it.</summary>
    protected async Task ChangeMapAsync(string change)
    {
        var version = await MapVersionAsync() + 1;
        await ExecuteAsync($"{change}; UPDATE bucket_map_version SET version = version + 1 WHERE id = 1");
        await Eventually.TrueAsync(async () => await ServedMapVersionAsync() == version, TimeSpan.FromSeconds(5));
    }

    protected Task<long> MapVersionAsync() => QueryScalarAsync<long>("SELECT version FROM bucket_map_version WHERE id = 1");

    protected async Task<double> ServedMapVersionAsync() => await PrometheusText.SumAsync(Http, "shortlink_database_bucket_map_version");

    protected static int ShardOf(string code) => Buckets.Of(Domain, code) >= 512 ? 1 : 0;

    protected string ShardDatabase(int shard) => shard == 0 ? ConnectionString : SecondShard;

    /// <summary>Slugs of the form prefix-N, as many as asked, whose buckets are on the shard.</summary>
    protected static List<string> SlugsOn(int shard, string prefix, int count) =>
        Enumerable.Range(0, int.MaxValue).Select(i => $"{prefix}-{i}").Where(slug => ShardOf(slug) == shard).Take(count).ToList();

    /// <summary>How many rows of the code each shard holds.</summary>
    protected async Task<(long OnShard0, long OnShard1)> RowsOfAsync(string code) =>
        (await CountAsync(ShardDatabase(0), "SELECT COUNT(*) FROM links WHERE code = @code", new { code }),
            await CountAsync(ShardDatabase(1), "SELECT COUNT(*) FROM links WHERE code = @code", new { code }));

    protected static async Task<long> CountAsync(string database, string sql, object? parameters = null)
    {
        await using var connection = new MySqlConnection(database);
        return await connection.ExecuteScalarAsync<long>(sql, parameters);
    }
}

/// <summary>
/// Each link, with its visits and rollups, lives on the shard of its bucket and nowhere else; every call about one link
/// reaches that shard, and lists and owner stats gather from both.
/// </summary>
[TestFixture]
public sealed class ShardingApiTests : ShardedApiTestBase
{
    [Test]
    public async Task The_service_and_the_database_compute_the_same_bucket_and_each_link_is_stored_on_its_shard()
    {
        using var response = await Http.PostAsJsonAsync("/api/v1/links/bulk",
            new { items = Enumerable.Range(0, 200).Select(i => new { url = $"https://example.com/spread/{i}" }) });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        var codes = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray()
            .Select(item => item.GetProperty("link").GetProperty("code").GetString()!).ToHashSet();

        var stored = new List<(int Shard, string Code, int Bucket)>();
        foreach (var shard in new[] { 0, 1 })
        {
            await using var connection = new MySqlConnection(ShardDatabase(shard));
            stored.AddRange((await connection.QueryAsync<(string Code, int Bucket)>("SELECT code, bucket FROM links WHERE url LIKE 'https://example.com/spread/%'"))
                .Select(row => (shard, row.Code, row.Bucket)));
        }
        Assert.Multiple(() =>
        {
            Assert.That(stored.Select(row => row.Code), Is.EquivalentTo(codes), "every created link once, on one shard");
            Assert.That(stored.Where(row => row.Bucket != Buckets.Of(Domain, row.Code)), Is.Empty, "the generated column agrees with Buckets.Of");
            Assert.That(stored.Where(row => row.Shard != ShardOf(row.Code)), Is.Empty, "each on the shard of its bucket");
            Assert.That(stored.Count(row => row.Shard == 1), Is.InRange(60, 140), "200 random codes split about evenly");
        });
    }

    [TestCase(0)]
    [TestCase(1)]
    public async Task A_link_is_created_read_changed_redirected_and_deleted_on_its_own_shard(int shard)
    {
        var slug = SlugsOn(shard, $"life{shard}", 1)[0];
        await CreateLinkAsync(new { url = "https://example.com/before", slug, tags = new[] { "life" } });
        Assert.That(await RowsOfAsync(slug), Is.EqualTo(shard == 0 ? (1L, 0L) : (0L, 1L)));

        using (var changed = await Http.PatchAsJsonAsync($"/api/v1/links/{slug}", new { url = "https://example.com/after" }))
        {
            Assert.That(changed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await changed.Content.ReadAsStringAsync());
        }
        var read = await Http.GetFromJsonAsync<JsonElement>($"/api/v1/links/{slug}");
        using var redirect = await Http.GetAsync($"/{slug}");
        using var qr = await Http.GetAsync($"/api/v1/links/{slug}/qr");
        using var deleted = await Http.DeleteAsync($"/api/v1/links/{slug}");
        using var gone = await Http.GetAsync($"/{slug}");
        Assert.Multiple(async () =>
        {
            Assert.That(read.GetProperty("url").GetString(), Is.EqualTo("https://example.com/after"));
            Assert.That(redirect.Headers.Location?.ToString(), Is.EqualTo("https://example.com/after"));
            Assert.That(qr.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(gone.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(await CountAsync(ShardDatabase(shard), "SELECT COUNT(*) FROM links WHERE code = @slug AND deleted_at IS NOT NULL", new { slug }),
                Is.EqualTo(1), "the tombstone stays on the link's shard");
        });
    }

    [Test]
    public async Task Bulk_create_inserts_each_item_on_its_shard_and_answers_each_item_in_order()
    {
        var onZero = SlugsOn(0, "bulk0", 3);
        var onOne = SlugsOn(1, "bulk1", 3);
        await CreateLinkAsync(new { url = "https://example.com/first", slug = onOne[2] });
        object[] items =
        [
            new { url = "https://example.com/b/0", slug = onZero[0] },
            new { url = "https://example.com/b/1", slug = onOne[0] },
            new { url = "https://example.com/b/2" },
            new { url = "https://example.com/b/3", slug = onOne[2] },
            new { url = "https://example.com/b/4", slug = onZero[1] },
            new { url = "https://example.com/b/5", slug = onOne[1] },
        ];
        using var response = await Http.PostAsJsonAsync("/api/v1/links/bulk", new { items });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var answers = body.GetProperty("items").EnumerateArray().ToList();

        var generated = answers[2].GetProperty("link").GetProperty("code").GetString()!;
        Assert.Multiple(async () =>
        {
            Assert.That(answers.Select(item => item.GetProperty("index").GetInt32()), Is.EqualTo(Enumerable.Range(0, 6)));
            Assert.That(answers.Select(item => item.GetProperty("status").GetInt32()), Is.EqualTo(new[] { 201, 201, 201, 409, 201, 201 }));
            Assert.That(answers[3].GetProperty("problem").GetProperty("detail").GetString(), Does.Contain(onOne[2]));
            foreach (var slug in new[] { onZero[0], onZero[1], onOne[0], onOne[1], generated })
            {
                Assert.That(await RowsOfAsync(slug), Is.EqualTo(ShardOf(slug) == 0 ? (1L, 0L) : (0L, 1L)), slug);
            }
            Assert.That(await CountAsync(ShardDatabase(1), "SELECT COUNT(*) FROM link_tags t JOIN links l ON l.id = t.link_id WHERE l.code = @code",
                new { code = onOne[2] }), Is.Zero);
        });
    }

    [Test]
    public async Task A_generated_code_that_is_taken_is_drawn_again_and_the_new_code_goes_to_its_own_shard()
    {
        var databases = App.Services.GetRequiredService<Databases>();
        var taken = SlugsOn(0, "taken", 10).Concat(SlugsOn(1, "taken", 10)).ToList();
        await Http.PostAsJsonAsync("/api/v1/links/bulk", new { items = taken.Select(slug => new { url = "https://example.com/taken", slug }) });
        var caller = new ApiCaller(Guid.CreateVersion7(), ApiCaller.LegacyOwner, "admin");
        // Drafts as a generator would make them, but with codes that are taken: each collides once.
        var drafts = taken.Select(code =>
        {
            var draft = CreateLink.Draft(new CreateLink.Request("https://example.com/redrawn"), caller, new ShortDomain(ShortlinkApp.PublicBaseUrl),
                App.Clock.GetUtcNow());
            return draft with { Row = draft.Row with { Code = code } };
        }).ToList();

        var inserted = await LinkInserts.InsertAsync(databases, drafts, CancellationToken.None);

        var redrawn = inserted.Select(result => result.Stored!.Code).ToList();
        Assert.Multiple(async () =>
        {
            Assert.That(inserted.Select(result => result.Stored), Has.All.Not.Null);
            Assert.That(redrawn.Intersect(taken), Is.Empty, "every colliding code was drawn again");
            Assert.That(redrawn.Select(ShardOf).Distinct().Count(), Is.EqualTo(2),
                "of 20 new codes, some went to the shard their collision was not on (all on one: 2^-19)");
            foreach (var code in redrawn)
            {
                Assert.That(await RowsOfAsync(code), Is.EqualTo(ShardOf(code) == 0 ? (1L, 0L) : (0L, 1L)), code);
            }
        });
    }

    [Test]
    public async Task Pages_across_shards_return_every_link_exactly_once_while_links_are_created_on_both()
    {
        const string tag = "paged";
        var existing = new HashSet<string>(SlugsOn(0, "page0", 40).Concat(SlugsOn(1, "page1", 40)));
        using (var bulk = await Http.PostAsJsonAsync("/api/v1/links/bulk",
                   new { items = existing.OrderBy(_ => Random.Shared.Next()).Select(slug => new { url = "https://example.com/paged", slug, tags = new[] { tag } }) }))
        {
            Assert.That(bulk.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
        using var stop = new CancellationTokenSource();
        var createdMeanwhile = 0;
        var creating = Task.Run(async () =>
        {
            using var writer = NewClient(TestKeys.Admin);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                using var created = await writer.PostAsJsonAsync("/api/v1/links", new { url = $"https://example.com/meanwhile/{i}", tags = new[] { tag } });
                Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
                createdMeanwhile++;
            }
        });

        foreach (var query in new[] { $"tag={tag}&limit=7", "limit=7" })
        {
            var seen = new List<string>();
            string? cursor = null;
            do
            {
                var page = await Http.GetFromJsonAsync<JsonElement>($"/api/v1/links?{query}" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}"));
                var ids = page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("code").GetString()!).ToList();
                Assert.That(ids, Has.Count.LessThanOrEqualTo(7));
                seen.AddRange(ids);
                cursor = page.GetProperty("nextCursor").GetString();
                await Task.Delay(20);
            }
            while (cursor is not null);

            Assert.Multiple(() =>
            {
                Assert.That(seen, Is.Unique, query);
                Assert.That(existing.Except(seen), Is.Empty, $"{query}: every link that existed before the walk");
            });
        }
        await stop.CancelAsync();
        await creating;
        Assert.That(createdMeanwhile, Is.GreaterThan(5), "links were created during the walks");
    }

    [Test]
    public async Task Visits_of_one_batch_are_written_to_each_links_shard_and_owner_stats_add_them_up()
    {
        var onZero = SlugsOn(0, "seen0", 1)[0];
        var onOne = SlugsOn(1, "seen1", 1)[0];
        await CreateLinkAsync(new { url = "https://example.com/seen", slug = onZero });
        await CreateLinkAsync(new { url = "https://example.com/seen", slug = onOne });
        var zero = await TestVisits.LinkAsync(ShardDatabase(0), onZero);
        var one = await TestVisits.LinkAsync(ShardDatabase(1), onOne);
        var at = App.Clock.GetUtcNow().UtcDateTime.AddHours(-1).ToString("O");
        var from = App.Clock.GetUtcNow().AddHours(-3).ToString("O");

        await TestVisits.WriteAsync(App, [zero.Visit(at, visitor: 1), one.Visit(at, visitor: 2), one.Visit(at, visitor: 3), zero.Visit(at, visitor: 1), one.Visit(at, visitor: 2)]);

        var ownerStats = await Http.GetFromJsonAsync<JsonElement>($"/api/v1/stats?from={Uri.EscapeDataString(from)}");
        var linkStats = await Http.GetFromJsonAsync<JsonElement>($"/api/v1/links/{onOne}/stats?from={Uri.EscapeDataString(from)}");
        Assert.Multiple(async () =>
        {
            Assert.That(await CountAsync(ShardDatabase(0), "SELECT COUNT(*) FROM visits WHERE link_id = @Id", new { zero.Id }), Is.EqualTo(2));
            Assert.That(await CountAsync(ShardDatabase(1), "SELECT COUNT(*) FROM visits WHERE link_id = @Id", new { one.Id }), Is.EqualTo(3));
            Assert.That(await CountAsync(ShardDatabase(0), "SELECT COUNT(*) FROM visits WHERE link_id = @Id", new { one.Id }), Is.Zero);
            Assert.That(linkStats.GetProperty("visits").GetInt64(), Is.EqualTo(3));
            Assert.That(ownerStats.GetProperty("visits").GetInt64(), Is.EqualTo(5));
            Assert.That(ownerStats.GetProperty("uniqueVisitors").GetInt64(), Is.EqualTo(3));
            Assert.That(ownerStats.GetProperty("linksWithVisits").GetInt64(), Is.EqualTo(2));
            Assert.That(ownerStats.GetProperty("topLinks").EnumerateArray().Select(link => link.GetProperty("code").GetString()),
                Is.EqualTo(new[] { onOne, onZero }));
        });
    }

    [Test]
    public async Task A_change_of_the_map_is_followed_within_a_second_and_one_naming_an_unknown_shard_is_refused()
    {
        var moved = SlugsOn(1, "flip", 1)[0];
        var bucket = Buckets.Of(Domain, moved);
        var started = DateTime.UtcNow;
        await ChangeMapAsync($"UPDATE bucket_map SET shard = 0 WHERE bucket = {bucket}");
        Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(1.5)), "followed within the refresh interval and a scrape");
        await CreateLinkAsync(new { url = "https://example.com/flipped", slug = moved });
        Assert.That(await RowsOfAsync(moved), Is.EqualTo((1L, 0L)), "the bucket's new shard takes its writes at once");

        var served = await ServedMapVersionAsync();
        await ExecuteAsync($"UPDATE bucket_map SET shard = 7 WHERE bucket = {bucket}; UPDATE bucket_map_version SET version = version + 1 WHERE id = 1");
        await Eventually.TrueAsync(() => Task.FromResult(App.Logs.Events.Any(e => e.RenderMessage().Contains("shard 7", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(5));
        using var redirect = await Http.GetAsync($"/{moved}");
        Assert.Multiple(async () =>
        {
            Assert.That(await ServedMapVersionAsync(), Is.EqualTo(served), "the last good map stays in use");
            Assert.That(redirect.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        });
        await ChangeMapAsync($"UPDATE bucket_map SET shard = 1 WHERE bucket = {bucket}");
    }
}
