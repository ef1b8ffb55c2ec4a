using System.Globalization;
using Microsoft.Extensions.Options;

namespace Shortlink.Infrastructure.Data;

/// <summary>
/// <c>dotnet Shortlink.dll buckets list | move BUCKETS --to SHARD [--grace-seconds N] | cleanup BUCKETS</c>: shows the
/// bucket map, moves buckets to another shard while the service runs (<see cref="BucketMover"/>; those on one shard
/// together, under one short freeze), or finishes a move whose clean-up was held back. BUCKETS is a number, a range
/// (512-1023) or a comma-separated list of both. Progress goes to
/// stderr as logs; the exit code is 0 when everything asked for was done, 1 when it was not, 2 for a usage error.
/// </summary>
internal static class BucketsCommand
{
    private const string Usage = """
        usage: buckets list
               buckets move BUCKETS --to SHARD [--grace-seconds SECONDS]   (BUCKETS: 17, 512-1023 or 1,5-9; grace 300 s by default)
               buckets cleanup BUCKETS
        """;

    private static readonly TimeSpan DefaultGrace = TimeSpan.FromMinutes(5);

    public static async Task<int> RunAsync(IServiceProvider services, string[] args, CancellationToken ct)
    {
        if (services.GetRequiredService<IOptions<ShortlinkOptions>>().Value.Database.MigrateOnStartup)
        {
            await services.GetRequiredService<Migrator>().MigrateAsync(ct);
        }
        var mover = services.GetRequiredService<BucketMover>();
        switch (args)
        {
            case ["buckets", "list"]:
                await using (var control = await services.GetRequiredService<Databases>().OpenControlAsync(ct))
                {
                    foreach (var line in Describe(await BucketMapSql.ReadAsync(control, ct)))
                    {
                        await Console.Out.WriteLineAsync(line);
                    }
                }
                return 0;
            case ["buckets", "move", var list, "--to", var shard, .. var rest]
                when TryParseBuckets(list, out var buckets) && int.TryParse(shard, CultureInfo.InvariantCulture, out var target)
                     && TryParseGrace(rest, out var grace):
                if (services.GetRequiredService<ShardSet>().Numbered(target) is null)
                {
                    await Console.Error.WriteLineAsync($"buckets: shard {target} is not configured (Database:Shards:{target}:ConnectionString)");
                    return 2;
                }
                return await mover.MoveAsync(buckets, target, grace, ct) ? 0 : 1;
            case ["buckets", "cleanup", var list] when TryParseBuckets(list, out var buckets):
                return await mover.CleanUpAsync(buckets, ct) ? 0 : 1;
            default:
                await Console.Error.WriteLineAsync(Usage);
                return 2;
        }
    }

    /// <summary>How many buckets each shard holds, and every bucket a move is under way for.</summary>
    internal static IEnumerable<string> Describe(IReadOnlyList<BucketRow> map)
    {
        foreach (var shard in map.GroupBy(row => row.Shard).OrderBy(group => group.Key))
        {
            yield return $"shard {shard.Key}: {shard.Count()} buckets";
        }
        foreach (var row in map.Where(row => row.MovingTo is not null || row.MovedFrom is not null || row.FrozenForMilliseconds is not null))
        {
            yield return $"bucket {row.Bucket}: on shard {row.Shard}" +
                         (row.MovingTo is { } to ? $", being copied to shard {to}" : "") +
                         (row.FrozenForMilliseconds is { } frozen ? $", writes frozen for {frozen / 1000.0:0.0} s more" : "") +
                         (row.MovedFrom is { } from ? $", rows left on shard {from} for the clean-up" : "");
        }
    }

    internal static bool TryParseBuckets(string text, out List<int> buckets)
    {
        buckets = [];
        foreach (var part in text.Split(','))
        {
            var bounds = part.Split('-');
            if (bounds.Length is < 1 or > 2
                || !int.TryParse(bounds[0], CultureInfo.InvariantCulture, out var first)
                || !int.TryParse(bounds[^1], CultureInfo.InvariantCulture, out var last)
                || first < 0 || last >= Buckets.Count || first > last)
            {
                return false;
            }
            buckets.AddRange(Enumerable.Range(first, last - first + 1));
        }
        buckets = [.. buckets.Distinct()];
        return buckets.Count > 0;
    }

    private static bool TryParseGrace(string[] rest, out TimeSpan grace)
    {
        grace = DefaultGrace;
        if (rest is [])
        {
            return true;
        }
        if (rest is ["--grace-seconds", var seconds] && int.TryParse(seconds, CultureInfo.InvariantCulture, out var value) && value >= 0)
        {
            grace = TimeSpan.FromSeconds(value);
            return true;
        }
        return false;
    }
}
