using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Infrastructure.Security;

/// <summary>
/// Refused keys per client address, so that guessing keys from one address is slowed to a crawl (429)
/// without a database lookup per guess. A key that authenticated recently is always looked up: a valid
/// key's traffic is never slowed by someone else's bad guesses from the same address.
/// </summary>
internal sealed class FailedAuthentications(IOptions<ShortlinkOptions> options) : IDisposable
{
    private readonly PartitionedRateLimiter<string> limiter = PartitionedRateLimiter.Create<string, string>(client =>
        options.Value.RateLimits.FailedAuthenticationsPerClientPerMinute is var quota and > 0
            ? RateLimitPartition.GetTokenBucketLimiter(client, _ => RateLimits.PerMinute(quota))
            : RateLimitPartition.GetNoLimiter(client));

    public bool IsExhausted(string client)
    {
        using var lease = limiter.AttemptAcquire(client, 0);
        return !lease.IsAcquired;
    }

    /// <summary>Counts a refusal; the seconds to wait when the address has used up its quota, otherwise null.</summary>
    public int? Record(string client)
    {
        using var lease = limiter.AttemptAcquire(client);
        if (lease.IsAcquired)
        {
            return null;
        }
        return lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 1;
    }

    public int RetryAfterSeconds(string client) => Record(client) ?? 1;

    public void Dispose() => limiter.Dispose();
}
