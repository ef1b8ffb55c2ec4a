using NUnit.Framework;

namespace Shortlink.Features.Stats;

public sealed class RollupRangeTests
{
    private static DateTime At(int day, int hour) => new(2026, 3, day, hour, 0, 0, DateTimeKind.Utc);

    [Test]
    public void Whole_utc_days_inside_the_range_are_read_by_day_and_only_the_ends_by_hour()
    {
        // Berlin's 29 March (23 hours): from 28 March 23:00 UTC to 29 March 22:00 UTC, no whole UTC day inside.
        Assert.That(RollupRange.Of(At(28, 23), At(29, 22)), Is.EqualTo(new RollupRange(At(28, 23), At(29, 22), At(29, 22), At(29, 22))));
        Assert.That(RollupRange.Of(At(1, 23), At(5, 22)), Is.EqualTo(new RollupRange(At(1, 23), At(5, 22), At(2, 0), At(5, 0))));
    }

    [Test]
    public void A_range_on_utc_midnights_is_all_days()
    {
        Assert.That(RollupRange.Of(At(1, 0), At(8, 0)), Is.EqualTo(new RollupRange(At(1, 0), At(8, 0), At(1, 0), At(8, 0))));
    }

    [Test]
    public void A_range_within_one_day_or_across_one_midnight_is_all_hours()
    {
        Assert.That(RollupRange.Of(At(3, 4), At(3, 9)), Is.EqualTo(new RollupRange(At(3, 4), At(3, 9), At(3, 9), At(3, 9))));
        Assert.That(RollupRange.Of(At(3, 4), At(4, 9)), Is.EqualTo(new RollupRange(At(3, 4), At(4, 9), At(4, 9), At(4, 9))));
    }
}
