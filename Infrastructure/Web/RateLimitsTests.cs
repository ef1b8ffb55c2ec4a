using NUnit.Framework;

namespace Shortlink.Infrastructure.Web;

public sealed class RateLimitsTests
{
    [TestCase(3)]
    [TestCase(30)]
    [TestCase(60)]
    [TestCase(90)]
    [TestCase(1200)]
    public void A_bucket_holds_a_minutes_quota_and_refills_exactly_the_quota_each_minute(int quota)
    {
        var bucket = RateLimits.PerMinute(quota);
        var refilledPerMinute = bucket.TokensPerPeriod * (TimeSpan.FromMinutes(1) / bucket.ReplenishmentPeriod);
        Assert.Multiple(() =>
        {
            Assert.That(bucket.TokenLimit, Is.EqualTo(quota));
            Assert.That(refilledPerMinute, Is.EqualTo(quota).Within(0.001));
        });
    }

    [TestCase(0.2, 2)]
    [TestCase(1.0, 2)]
    [TestCase(1.5, 3)]
    [TestCase(20.0, 21)]
    public void Retry_after_promises_a_second_more_than_the_refill_time_rounded_up(double refillSeconds, int expected) =>
        Assert.That(RateLimits.RetryAfterSeconds(TimeSpan.FromSeconds(refillSeconds)), Is.EqualTo(expected));
}
