using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Options;
using MySqlConnector;
using NSubstitute;
using NUnit.Framework;
using Shortlink.Features.Links;

namespace Shortlink.Infrastructure.Data;

public sealed class BucketsTests
{
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>10,000 codes as the generator makes them (7 base-62 characters), from a fixed seed so that the bound is tested, not luck.</summary>
    private static readonly string[] Codes = GeneratedCodes();

    private static string[] GeneratedCodes()
    {
        var random = new Random(2026);
        return [.. Enumerable.Range(0, 10_000).Select(_ => new string(random.GetItems(Base62.AsSpan(), 7)))];
    }

    [TestCase("abc", 4153035002u)]
    [TestCase("é", 2012353154u)]
    public void The_bucket_is_crc32_of_domain_slash_code_in_utf8_modulo_1024_as_sql_computes_it(string code, uint sqlCrc32)
    {
        // sqlCrc32 is what MariaDB 10.11's CRC32('sho.rt/<code>') answers (MySQL and zlib agree); the links table's
        // generated column is checked against this method on the real servers in ShardingApiTests.
        Assert.That(Buckets.Of("sho.rt", code), Is.EqualTo((int)(sqlCrc32 % 1024)));
    }

    [Test]
    public void Ten_thousand_generated_codes_spread_over_two_shards_within_chi_square_at_p_0_01()
    {
        var onUpperHalf = Codes.Count(code => Buckets.Of("sho.rt", code) >= 512);
        var expected = Codes.Length / 2.0;
        var chiSquare = 2 * Math.Pow(onUpperHalf - expected, 2) / expected;
        // One degree of freedom: 6.635 is the 99th percentile.
        Assert.That(chiSquare, Is.LessThan(6.635), $"{onUpperHalf} of {Codes.Length} on the upper half");
    }

    [Test]
    public void Ten_thousand_generated_codes_spread_over_all_1024_buckets_within_chi_square_at_p_0_01()
    {
        var counts = new int[Buckets.Count];
        foreach (var code in Codes)
        {
            counts[Buckets.Of("sho.rt", code)]++;
        }
        var expected = Codes.Length / (double)Buckets.Count;
        var chiSquare = counts.Sum(count => Math.Pow(count - expected, 2) / expected);
        // 1,023 degrees of freedom: 1,131.2 is the 99th percentile.
        Assert.That(chiSquare, Is.LessThan(1131.2));
    }

    [Test]
    public void Codes_that_differ_only_in_case_or_in_their_domain_may_land_apart()
    {
        Assert.That(new[] { Buckets.Of("sho.rt", "abc"), Buckets.Of("sho.rt", "ABC"), Buckets.Of("go.example", "abc") }, Is.Unique);
    }

    [Test]
    public void A_long_domain_and_code_of_four_byte_characters_are_hashed_whole()
    {
        var domain = new string('d', 253);
        var code = string.Concat(Enumerable.Repeat("😀", 32));
        var expected = System.IO.Hashing.Crc32.HashToUInt32(Encoding.UTF8.GetBytes($"{domain}/{code}")) % 1024;
        Assert.That(Buckets.Of(domain, code), Is.EqualTo((int)expected));
    }
}

public sealed class ShardedPagesTests
{
    private static Guid Id(int n) => new($"00000000-0000-7000-8000-{n:D12}");

    [Test]
    public void Rows_of_all_shards_come_in_one_descending_order_with_a_cursor_at_the_last()
    {
        ShardPage<Guid>[] parts = [new([Id(9), Id(8), Id(5)], Id(5)), new([Id(7), Id(6), Id(4)], Id(4))];
        var (page, next) = ShardedPages.Merge(parts, 2, id => id);
        Assert.Multiple(() =>
        {
            Assert.That(page, Is.EqualTo(new[] { Id(9), Id(8) }));
            Assert.That(next, Is.EqualTo(Id(8)));
        });
    }

    [Test]
    public void When_every_shard_is_exhausted_the_last_page_has_no_cursor()
    {
        var (page, next) = ShardedPages.Merge<Guid>([new([Id(3)], null), new([Id(2), Id(1)], null)], 3, id => id);
        Assert.Multiple(() =>
        {
            Assert.That(page, Is.EqualTo(new[] { Id(3), Id(2), Id(1) }));
            Assert.That(next, Is.Null);
        });
    }

    [Test]
    public void Rows_another_shard_holds_make_a_short_page_whose_cursor_goes_on_where_it_was_certain()
    {
        // Shard 0 returned 9, 8, 7 (limit + 1) but holds none of them by the map; shard 1 holds 2 and 1.
        var (page, next) = ShardedPages.Merge<Guid>([new([], Id(7)), new([Id(2), Id(1)], null)], 2, id => id);
        Assert.Multiple(() =>
        {
            Assert.That(page, Is.Empty);
            Assert.That(next, Is.EqualTo(Id(7)), "continue below 7: shard 0 may hold rows between 7 and 2");
        });
    }

    [Test]
    public void Walking_random_shards_by_the_cursor_returns_every_held_row_exactly_once_in_order()
    {
        var random = new Random(19);
        for (var round = 0; round < 200; round++)
        {
            var shards = random.Next(1, 5);
            var limit = random.Next(1, 6);
            // Each row on one shard; some also as a copy on another, which that one does not hold.
            var rows = Enumerable.Range(1, random.Next(0, 60)).Select(n => (Id: Id(n), Shard: random.Next(shards), Copy: random.Next(3 * shards))).ToList();
            var walked = new List<Guid>();
            Guid? cursor = null;
            var pages = 0;
            do
            {
                var parts = Enumerable.Range(0, shards).Select(shard =>
                {
                    var fetched = rows.Where(row => (row.Shard == shard || row.Copy == shard) && (cursor is null || row.Id.CompareTo(cursor.Value) < 0))
                        .OrderByDescending(row => row.Id).Take(limit + 1).ToList();
                    return new ShardPage<Guid>(fetched.Where(row => row.Shard == shard).Select(row => row.Id).ToList(),
                        fetched.Count > limit ? fetched[^1].Id : null);
                }).ToList();
                var (page, next) = ShardedPages.Merge(parts, limit, id => id);
                Assert.That(page, Has.Count.LessThanOrEqualTo(limit));
                walked.AddRange(page);
                cursor = next;
                Assert.That(++pages, Is.LessThan(200), "the walk ends");
            }
            while (cursor is not null);
            Assert.That(walked, Is.EqualTo(rows.Select(row => row.Id).OrderDescending()), $"round {round}");
        }
    }
}

public sealed class BucketMapTests
{
    private static BucketMap Map()
    {
        var options = Options.Create(new ShortlinkOptions
        {
            Database =
            {
                ConnectionString = "Server=127.0.0.1;Database=a",
                // Shard 2 is named for a deployment that has not turned it on: no shard.
                Shards = { [1] = new ShardOptions { ConnectionString = "Server=127.0.0.1;Database=b" }, [2] = new ShardOptions() },
            },
        });
        var meters = Substitute.For<IMeterFactory>();
        meters.Create(Arg.Any<MeterOptions>()).Returns(call => new Meter(call.Arg<MeterOptions>()));
        var shards = new ShardSet(new MySqlDataSource("Server=127.0.0.1;Database=a"), options, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, meters);
        return new BucketMap(shards, meters);
    }

    private static List<BucketRow> Whole(Func<int, int> shardOf) =>
        Enumerable.Range(0, Buckets.Count).Select(bucket => new BucketRow(bucket, shardOf(bucket), null, null, null)).ToList();

    [Test]
    public void Until_a_map_is_read_routing_refuses_as_an_outage_would()
    {
        var exception = Assert.Throws<BucketMapUnavailableException>(() => Map().ShardFor("sho.rt", "abc"));
        Assert.That(DatabaseFailures.IsUnavailable(exception!), Is.True, "answered 503 with Retry-After");
    }

    [Test]
    public void A_whole_map_of_configured_shards_routes_each_bucket_to_its_shard()
    {
        var map = Map();
        Assert.That(map.Apply(3, Whole(bucket => bucket % 2)), Is.Null);
        Assert.Multiple(() =>
        {
            Assert.That(map.ShardOf(10).Number, Is.Zero);
            Assert.That(map.ShardOf(11).Number, Is.EqualTo(1));
            Assert.That(map.ShardFor("sho.rt", "abc").Number, Is.EqualTo(Buckets.Of("sho.rt", "abc") % 2));
            Assert.That(map.Version, Is.EqualTo(3));
        });
    }

    [Test]
    public void A_map_naming_an_unconfigured_shard_or_missing_a_bucket_is_refused_and_the_last_one_kept()
    {
        var map = Map();
        map.Apply(1, Whole(_ => 0));
        var missing = Whole(_ => 1);
        missing.RemoveAt(77);
        Assert.Multiple(() =>
        {
            Assert.That(map.Apply(2, Whole(bucket => bucket == 5 ? 7 : 1)), Does.Contain("shard 7"));
            Assert.That(map.Apply(2, Whole(bucket => bucket == 5 ? 2 : 1)), Does.Contain("shard 2"));
            Assert.That(map.Apply(2, missing), Does.Contain("bucket 77"));
            Assert.That(map.Version, Is.EqualTo(1));
            Assert.That(map.ShardOf(5).Number, Is.Zero);
        });
    }

    [Test]
    public void A_frozen_bucket_refuses_writes_until_its_freeze_ends_and_reads_go_on()
    {
        var map = Map();
        var bucket = Buckets.Of("sho.rt", "abc");
        var rows = Whole(_ => 0);
        rows[bucket] = rows[bucket] with { MovingTo = 1, FrozenForMilliseconds = 30_000 };
        rows[bucket + 1] = rows[bucket + 1] with { FrozenForMilliseconds = 1 };
        map.Apply(1, rows);
        Thread.Sleep(5);
        var refused = Assert.Throws<BucketMovingException>(() => map.ShardForWrite("sho.rt", "abc"));
        Assert.Multiple(() =>
        {
            Assert.That(refused!.RetryAfter, Is.GreaterThan(TimeSpan.Zero));
            Assert.That(map.ShardFor("sho.rt", "abc").Number, Is.Zero, "read from the source until the flip");
            Assert.That(map.ShardOf(bucket + 1).Number, Is.Zero);
            Assert.That(DatabaseFailures.IsUnavailable(refused), Is.False, "a move is no outage");
        });
    }

    [Test]
    public void The_buckets_a_shard_has_rows_of_without_holding_them_are_those_moving_to_it_or_left_on_it()
    {
        var map = Map();
        var rows = Whole(_ => 0);
        rows[10] = rows[10] with { MovingTo = 1 };
        rows[20] = rows[20] with { Shard = 1, MovedFrom = 0 };
        map.Apply(1, rows);
        var shardOne = map.ShardOf(20);
        Assert.Multiple(() =>
        {
            Assert.That(map.ForeignOn(map.ShardOf(0)), Is.EqualTo(new[] { 20 }));
            Assert.That(map.ForeignOn(shardOne), Is.EqualTo(new[] { 10 }));
        });
    }

    [Test]
    public void A_map_not_confirmed_for_longer_than_it_may_be_stale_refuses_writes_but_not_reads()
    {
        var map = Map();
        map.Apply(1, Whole(_ => 0));
        Assert.That(map.ShardForWrite("sho.rt", "abc").Number, Is.Zero);
        Thread.Sleep(BucketMap.StaleAfter + TimeSpan.FromMilliseconds(100));
        Assert.Multiple(() =>
        {
            Assert.That(() => map.ShardForWrite("sho.rt", "abc"), Throws.TypeOf<BucketMapUnavailableException>());
            Assert.That(map.ShardFor("sho.rt", "abc").Number, Is.Zero);
        });
        map.Confirmed();
        Assert.That(map.ShardForWrite("sho.rt", "abc").Number, Is.Zero);
    }
}
