using Microsoft.Extensions.Options;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using ZiggyCreatures.Caching.Fusion;

namespace Shortlink.Features.Links;

/// <summary>
/// Links by (domain, code) for the redirect, through the two-level cache. What can change while an entry lives
/// without a write to the link (validFrom and expiresAt passing, the blocklist) is checked by the redirect on every
/// hit, never frozen into the entry; every write to a link forgets it, on every instance through the backplane.
/// "No such code" is kept briefly, so that a flood of made-up codes costs one query per code and then none.
/// While the database is down, an entry past its time is still served (fail-safe) rather than a 503.
/// </summary>
internal sealed class LinkCache(IFusionCache cache, Databases databases, IOptions<ShortlinkOptions> options)
{
    private readonly CacheOptions settings = options.Value.Cache;

    private readonly FusionCacheEntryOptions found = cache.CreateEntryOptions(entry =>
    {
        entry.Duration = TimeSpan.FromSeconds(options.Value.Cache.LinkMemorySeconds);
        entry.DistributedCacheDuration = TimeSpan.FromSeconds(options.Value.Cache.LinkDistributedSeconds);
        entry.IsFailSafeEnabled = true;
        entry.FailSafeMaxDuration = TimeSpan.FromHours(1);
        entry.FailSafeThrottleDuration = TimeSpan.FromSeconds(5);
    });

    public async ValueTask<LinkRow?> FindAsync(string domain, string code, CancellationToken ct)
    {
        if (!settings.Enabled)
        {
            return await LoadAsync(domain, code, ct);
        }
        return await cache.GetOrSetAsync<LinkRow?>(Key(domain, code), async (context, token) =>
        {
            var link = await LoadAsync(domain, code, token);
            if (link is null)
            {
                context.Options.Duration = TimeSpan.FromSeconds(settings.MissingLinkSeconds);
                context.Options.DistributedCacheDuration = TimeSpan.FromSeconds(settings.MissingLinkSeconds);
            }
            return link;
        }, options: found, token: ct);
    }

    /// <summary>Drops the codes' entries here and, through the backplane, on every other instance.</summary>
    public async ValueTask ForgetAsync(string domain, IEnumerable<string> codes)
    {
        if (!settings.Enabled)
        {
            return;
        }
        foreach (var code in codes)
        {
            await cache.RemoveAsync(Key(domain, code), token: CancellationToken.None);
        }
    }

    public ValueTask ForgetAsync(string domain, string code) => ForgetAsync(domain, [code]);

    private async Task<LinkRow?> LoadAsync(string domain, string code, CancellationToken ct)
    {
        await using var connection = await databases.OpenForCodeAsync(code, ct);
        return await LinkSql.FindAsync(connection, domain, code, ct);
    }

    private static string Key(string domain, string code) => $"link:{domain}:{code}";
}
