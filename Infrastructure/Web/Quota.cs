using System.Threading.RateLimiting;

namespace Shortlink.Infrastructure.Web;

/// <summary>
/// A per-minute quota for each of many partitions (client addresses, links), counted on this instance, for
/// limits that count only some requests (refused keys, wrong passwords) and so cannot be the middleware's.
/// A quota of 0 never runs out.
/// </summary>
internal sealed class Quota(int perMinute) : IDisposable
{
    private readonly PartitionedRateLimiter<string> limiter = PartitionedRateLimiter.Create<string, string>(partition =>
        perMinute > 0
            ? RateLimitPartition.GetTokenBucketLimiter(partition, _ => RateLimits.PerMinute(perMinute))
            : RateLimitPartition.GetNoLimiter(partition));

    /// <summary>
    /// Seconds until the partition has room for one more, or null while it has. Read from the statistics: a bucket
    /// refills in fractions, and asking it for zero permits answers yes while a fraction of one is left.
    /// </summary>
    public int? SecondsUntilRoom(string partition) =>
        perMinute > 0 && limiter.GetStatistics(partition)?.CurrentAvailablePermits < 1
            ? RateLimits.RetryAfterSeconds(TimeSpan.FromMinutes(1) / perMinute)
            : null;

    public bool IsOff => perMinute <= 0;

    /// <summary>Spends one of the partition's quota; when none was left, the seconds until there is, otherwise null.</summary>
    public int? Spend(string partition)
    {
        if (IsOff)
        {
            return null;
        }
        using var lease = limiter.AttemptAcquire(partition);
        return lease.IsAcquired ? null : Seconds(lease);
    }

    private static int Seconds(RateLimitLease lease) =>
        RateLimits.RetryAfterSeconds(lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.Zero);

    public void Dispose() => limiter.Dispose();
}
