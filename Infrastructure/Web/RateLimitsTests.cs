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
}
