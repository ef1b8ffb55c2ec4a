using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Caching;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Telemetry;
using ZiggyCreatures.Caching.Fusion;

namespace Shortlink.Features.Links;

/// <summary>
/// Links by (domain, code) for the redirect, through the two-level cache. What can change while an entry lives
/// without a write to the link (validFrom and expiresAt passing, the blocklist) is checked by the redirect on every
/// hit, never frozen into the entry; every write to a link forgets it, on every instance through the backplane.
/// "No such code" is kept briefly, so that a flood of made-up codes costs one query per code and then none.
/// While the database is down, an entry past its time is still served (fail-safe) rather than a 503.
/// </summary>
internal sealed class LinkCache(IFusionCache cache, CacheKeys keys, Databases databases, IOptions<ShortlinkOptions> options,
    IMeterFactory meters)
{
    /// <summary>FusionCache counts hits; that a hit was a remembered "no such code" only the caller knows.</summary>
    private readonly Counter<long> negativeHits = meters.Create(ShortlinkMetrics.MeterName).CreateCounter<long>(
        "shortlink.cache.negative_hits", "{lookup}", "Lookups of a code answered from the cache with \"no such code\"").StartingAtZero();

    /// <summary>The L1 probe: memory only, so that a miss goes on to one GetOrSet that asks Redis and the database.</summary>
    private readonly FusionCacheEntryOptions inMemory = cache.CreateEntryOptions(entry => entry.SkipDistributedCacheRead = true);

    private readonly CacheOptions settings = options.Value.Cache;

    private readonly FusionCacheEntryOptions found = cache.CreateEntryOptions(entry =>
    {
        entry.Duration = TimeSpan.FromSeconds(options.Value.Cache.LinkMemorySeconds);
        entry.DistributedCacheDuration = TimeSpan.FromSeconds(options.Value.Cache.LinkDistributedSeconds);
        entry.IsFailSafeEnabled = true;
        entry.FailSafeMaxDuration = TimeSpan.FromHours(1);
        entry.FailSafeThrottleDuration = TimeSpan.FromSeconds(5);
    });

    /// <summary>
    /// The link behind the code, or null. A hit in memory allocates nothing here (no closure, a completed
    /// ValueTask); only a miss builds the factory that reads Redis and then the database.
    /// </summary>
    public async ValueTask<CachedLink?> FindAsync(string domain, string code, CancellationToken ct)
    {
        if (!settings.Enabled)
        {
            return CachedLink.Of(await LoadAsync(domain, code, ct));
        }
        var key = keys.Link(domain, code);
        if (settings.MemoryEnabled && await cache.TryGetAsync<CachedLink?>(key, inMemory, ct) is { HasValue: true } hit)
        {
            if (hit.Value is null)
            {
                negativeHits.Add(1);
            }
            return hit.Value;
        }
        return await LoadThroughCacheAsync(key, domain, code, ct);
    }

    /// <remarks>
    /// Apart from <see cref="FindAsync"/>, so that a memory hit allocates neither the factory's closure nor a span: the
    /// span is for the lookups that go to Redis or the database.
    /// </remarks>
    private async ValueTask<CachedLink?> LoadThroughCacheAsync(string key, string domain, string code, CancellationToken ct)
    {
        using var activity = ShortlinkActivities.Source.StartActivity("link lookup");
        var loaded = false;
        var link = await cache.GetOrSetAsync<CachedLink?>(key, async (context, token) =>
        {
            loaded = true;
            var link = CachedLink.Of(await LoadAsync(domain, code, token));
            if (link is null)
            {
                context.Options.Duration = TimeSpan.FromSeconds(settings.MissingLinkSeconds);
                context.Options.DistributedCacheDuration = TimeSpan.FromSeconds(settings.MissingLinkSeconds);
            }
            return link;
        }, options: found, token: ct);
        if (link is null && !loaded)
        {
            negativeHits.Add(1);
        }
        if (loaded)
        {
            activity?.SetTag(DatabaseSpans.ShardTag, databases.ShardFor(domain, code).Number);
        }
        activity?.SetTag(ShortlinkActivities.CacheResultTag, loaded ? "loaded" : "hit");
        activity?.SetTag(ShortlinkActivities.LinkFoundTag, link is not null);
        return link;
    }

    /// <summary>
    /// Drops the codes' entries here and, through the backplane, on every other instance. With read replicas, once
    /// more when a replica in rotation has had time to catch up: a miss in between may have cached the replica's copy
    /// from before the write.
    /// </summary>
    public async ValueTask ForgetAsync(string domain, IEnumerable<string> codes)
    {
        if (!settings.Enabled)
        {
            return;
        }
        List<string> forgotten = [.. codes.Select(code => keys.Link(domain, code))];
        await RemoveAsync(forgotten);
        if (replicaCatchUp > TimeSpan.Zero)
        {
            _ = Task.Run(async () =>
            {
                await Task.Delay(replicaCatchUp);
                await RemoveAsync(forgotten);
            });
        }
    }

    /// <summary>A replica in rotation trails by at most MaxReplicaLagSeconds, and one further behind leaves within a heartbeat.</summary>
    private readonly TimeSpan replicaCatchUp = options.Value.Database.Replicas.Count == 0 ? TimeSpan.Zero
        : TimeSpan.FromSeconds(options.Value.Database.MaxReplicaLagSeconds) + 2 * TimeSpan.FromMilliseconds(options.Value.Database.HeartbeatMilliseconds);

    private async Task RemoveAsync(List<string> forgotten)
    {
        foreach (var key in forgotten)
        {
            await cache.RemoveAsync(key, token: CancellationToken.None);
        }
    }

    public ValueTask ForgetAsync(string domain, string code) => ForgetAsync(domain, [code]);

    /// <summary>
    /// From a replica in rotation when there is one; a code it does not know is asked of the primary before it is taken
    /// as missing, so that a link redirects the moment its create call has returned, however far the replica trails.
    /// </summary>
    private async Task<LinkRow?> LoadAsync(string domain, string code, CancellationToken ct)
    {
        if (await databases.ReadFromReplicaAsync(domain, code, replica => LinkSql.FindAsync(replica, domain, code, ct), ct) is { } row)
        {
            return row;
        }
        await using var primary = await databases.OpenForCodeAsync(domain, code, ct);
        return await LinkSql.FindAsync(primary, domain, code, ct);
    }

}

/// <summary>
/// A link as the cache keeps it: the row, and its target's host in canonical form, worked out once per load
/// rather than on every visit (the redirect checks it against the blocklist each time).
/// </summary>
internal sealed record CachedLink(LinkRow Row, string TargetHost, bool TargetIsAddress)
{
    public static CachedLink? Of(LinkRow? row)
    {
        if (row is null)
        {
            return null;
        }
        var target = new Uri(row.Url);
        return new CachedLink(row, LinkHosts.Canonical(target), target.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6);
    }
}
