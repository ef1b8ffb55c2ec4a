using NUnit.Framework;

namespace Shortlink.Features.Stats;

public sealed class StatsPeriodTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 9, 30, 0, TimeSpan.Zero);

    private static StatsPeriod Period(string? from, string? to, string? interval = null, string? tz = null)
    {
        var errors = new QueryErrors();
        var period = StatsPeriod.Of(from, to, interval, tz, Now, errors);
        Assert.That(errors.ByParameter, Is.Empty, string.Join("; ", errors.ByParameter.Select(e => $"{e.Key}: {string.Join(' ', e.Value)}")));
        return period!;
    }

    private static Dictionary<string, string[]> Errors(string? from, string? to, string? interval = null, string? tz = null)
    {
        var errors = new QueryErrors();
        Assert.That(StatsPeriod.Of(from, to, interval, tz, Now, errors), Is.Null);
        return errors.ByParameter;
    }

    private static string[] Starts(StatsPeriod period) => [.. period.Starts.Select(start => period.Zoned(start).ToString("yyyy-MM-dd'T'HH:mmzzz"))];

    [TestCase("2026-01-12", "2026-01-15", "day", "UTC", new int[0])]
    [TestCase("2026-01-12", "2026-01-15", "day", "Europe/London", new int[0])]
    [TestCase("2026-07-12", "2026-07-15", "day", "Europe/London", new[] { 23 })]
    [TestCase("2026-01-12", "2026-01-15", "day", "Europe/Berlin", new[] { 23 })]
    [TestCase("2026-03-27", "2026-04-01", "day", "Europe/Berlin", new[] { 22, 23 })]
    [TestCase("2026-01-12", "2026-01-15", "day", "America/New_York", new[] { 0, 1, 2, 3, 4 })]
    [TestCase("2026-01-12", "2026-01-15", "day", "Pacific/Auckland", new[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 })]
    [TestCase("2026-01-12", "2026-01-15", "hour", "Europe/Berlin", new int[0])]
    public void A_day_series_reads_by_hour_only_the_hours_of_a_utc_day_that_fall_in_another_bucket_than_its_noon(string from, string to,
        string interval, string tz, int[] splitHours)
    {
        var period = Period(from, to, interval, tz);
        Assert.That(period.SplitHours(RollupRange.Of(period.Start, period.End)), Is.EqualTo(splitHours));
    }

    [TestCase("Europe/Berlin")]
    [TestCase("America/New_York")]
    [TestCase("Pacific/Auckland")]
    [TestCase("Europe/London")]
    [TestCase("UTC")]
    public void Days_sums_with_their_split_hours_fill_the_buckets_as_every_hour_would(string tz)
    {
        // Through both of 2026's clock changes in each hemisphere, with a different count in every hour.
        var period = Period("2026-03-01", "2026-11-15", "day", tz);
        var range = RollupRange.Of(period.Start, period.End);
        var hours = Enumerable.Range(0, (int)(period.End - period.Start).TotalHours).Select(i => (Hour: period.Start.AddHours(i), Visits: 1L + i % 97)).ToList();
        var everyHour = new long[period.Starts.Length];
        period.AddTo(everyHour, RollupRange.Hours(period.Start, period.End), [], hours);

        var split = period.SplitHours(range);
        var inDays = hours.Where(hour => hour.Hour >= range.DaysFrom && hour.Hour < range.DaysTo).ToList();
        var days = inDays.GroupBy(hour => hour.Hour.Date).Select(day => (Day: day.Key, Visits: day.Sum(hour => hour.Visits))).ToList();
        var read = hours.Where(hour => hour.Hour < range.DaysFrom || hour.Hour >= range.DaysTo || split.Contains(hour.Hour.Hour)).ToList();
        var fromDays = new long[period.Starts.Length];
        period.AddTo(fromDays, range, days, read);

        Assert.That(fromDays, Is.EqualTo(everyHour));
        Assert.That(read, Has.Count.LessThan(hours.Count / 2 + 50), "half a day by hour at most, besides the range's ends");
    }

    [Test]
    public void A_berlin_day_in_march_when_clocks_go_forward_lasts_23_hours()
    {
        var period = Period("2026-03-28", "2026-03-31", "day", "Europe/Berlin");
        Assert.Multiple(() =>
        {
            Assert.That(Starts(period), Is.EqualTo(new[] { "2026-03-28T00:00+01:00", "2026-03-29T00:00+01:00", "2026-03-30T00:00+02:00" }));
            Assert.That(period.Starts[2] - period.Starts[1], Is.EqualTo(TimeSpan.FromHours(23)));
            Assert.That(period.End, Is.EqualTo(new DateTime(2026, 3, 30, 22, 0, 0, DateTimeKind.Utc)));
        });
    }

    [Test]
    public void A_berlin_day_in_october_when_clocks_go_back_lasts_25_hours()
    {
        var period = Period("2026-10-25", "2026-10-26", "day", "Europe/Berlin");
        Assert.Multiple(() =>
        {
            Assert.That(Starts(period), Is.EqualTo(new[] { "2026-10-25T00:00+02:00" }));
            Assert.That(period.End - period.Start, Is.EqualTo(TimeSpan.FromHours(25)));
        });
    }

    [Test]
    public void Hour_buckets_show_the_hour_clocks_go_back_twice_with_its_two_offsets()
    {
        var period = Period("2026-10-25T00:00:00+02:00", "2026-10-25T04:00:00+01:00", "hour", "Europe/Berlin");
        Assert.That(Starts(period), Is.EqualTo(new[]
        {
            "2026-10-25T00:00+02:00", "2026-10-25T01:00+02:00", "2026-10-25T02:00+02:00", "2026-10-25T02:00+01:00", "2026-10-25T03:00+01:00",
        }));
    }

    [Test]
    public void Hour_buckets_skip_the_hour_clocks_jump_over()
    {
        var period = Period("2026-03-29", "2026-03-29T04:00:00+02:00", "hour", "Europe/Berlin");
        Assert.That(Starts(period), Is.EqualTo(new[] { "2026-03-29T00:00+01:00", "2026-03-29T01:00+01:00", "2026-03-29T03:00+02:00" }));
    }

    [Test]
    public void Hour_buckets_in_a_half_hour_zone_follow_the_utc_hours()
    {
        var period = Period("2026-03-29T10:00:00Z", "2026-03-29T12:00:00Z", "hour", "Asia/Kolkata");
        Assert.That(Starts(period), Is.EqualTo(new[] { "2026-03-29T15:30+05:30", "2026-03-29T16:30+05:30" }));
    }

    [TestCase("Asia/Kolkata")]
    [TestCase("Asia/Kathmandu")]
    [TestCase("Australia/Adelaide")]
    public void Day_buckets_are_refused_where_midnight_falls_inside_a_utc_hour(string zone) =>
        Assert.That(Errors("2026-03-01", "2026-03-03", "day", zone), Does.ContainKey("interval"));

    [Test]
    public void Day_buckets_are_refused_across_a_half_hour_clock_change()
    {
        // Lord Howe Island keeps +10:30 in winter, so its midnights lie on the half hour until the clocks move to +11.
        Assert.Multiple(() =>
        {
            Assert.That(Errors("2026-06-01", "2026-06-02", "day", "Australia/Lord_Howe"), Does.ContainKey("interval"));
            Assert.That(Period("2026-01-10", "2026-01-11", "day", "Australia/Lord_Howe").End - Period("2026-01-10", "2026-01-11", "day",
                "Australia/Lord_Howe").Start, Is.EqualTo(TimeSpan.FromHours(24)));
        });
    }

    [Test]
    public void A_day_whose_midnight_never_happens_begins_when_the_clocks_land()
    {
        // Chile moved its clocks from 24:00 to 01:00 on 2022-09-11.
        var period = Period("2022-09-11", "2022-09-12", "day", "America/Santiago");
        Assert.Multiple(() =>
        {
            Assert.That(Starts(period), Is.EqualTo(new[] { "2022-09-11T01:00-03:00" }));
            Assert.That(period.End - period.Start, Is.EqualTo(TimeSpan.FromHours(23)));
        });
    }

    [Test]
    public void A_day_a_zone_skipped_is_left_out()
    {
        // Samoa crossed the date line by skipping 2011-12-30.
        var period = Period("2011-12-29", "2012-01-01", "day", "Pacific/Apia");
        Assert.That(Starts(period).Select(start => start[..10]), Is.EqualTo(new[] { "2011-12-29", "2011-12-31" }));
    }

    [Test]
    public void The_range_widens_to_whole_buckets()
    {
        var hours = Period("2026-03-29T10:15:00Z", "2026-03-29T12:00:01Z", "hour");
        var days = Period("2026-03-29T10:15:00Z", "2026-03-30T00:00:00Z", "day");
        Assert.Multiple(() =>
        {
            Assert.That(Starts(hours), Is.EqualTo(new[] { "2026-03-29T10:00+00:00", "2026-03-29T11:00+00:00", "2026-03-29T12:00+00:00" }));
            Assert.That(hours.End, Is.EqualTo(new DateTime(2026, 3, 29, 13, 0, 0, DateTimeKind.Utc)));
            Assert.That(Starts(days), Is.EqualTo(new[] { "2026-03-29T00:00+00:00" }), "to on a midnight ends the range there");
        });
    }

    [Test]
    public void By_default_the_last_30_days_are_counted_per_utc_day_up_to_the_end_of_today()
    {
        var period = Period(null, null);
        Assert.Multiple(() =>
        {
            Assert.That(period.Interval, Is.EqualTo(StatsInterval.Day));
            Assert.That(period.Zone, Is.EqualTo(TimeZoneInfo.Utc));
            Assert.That(period.Start, Is.EqualTo(new DateTime(2026, 10, 26, 0, 0, 0, DateTimeKind.Utc)));
            Assert.That(period.End, Is.EqualTo(new DateTime(2026, 11, 26, 0, 0, 0, DateTimeKind.Utc)));
            Assert.That(period.Starts, Has.Length.EqualTo(31));
        });
    }

    [Test]
    public void A_date_is_the_start_of_that_day_in_the_zone()
    {
        var period = Period("2026-07-01", "2026-07-02", "hour", "America/New_York");
        Assert.Multiple(() =>
        {
            Assert.That(period.Start, Is.EqualTo(new DateTime(2026, 7, 1, 4, 0, 0, DateTimeKind.Utc)));
            Assert.That(period.Starts, Has.Length.EqualTo(24));
        });
    }

    [Test]
    public void Rollup_hours_fall_in_their_buckets()
    {
        var days = Period("2026-03-28", "2026-03-31", "day", "Europe/Berlin");
        var hours = Period("2026-03-29T10:00:00Z", "2026-03-29T13:00:00Z", "hour");
        Assert.Multiple(() =>
        {
            Assert.That(days.BucketOf(new DateTime(2026, 3, 28, 22, 0, 0, DateTimeKind.Utc)), Is.EqualTo(0));
            Assert.That(days.BucketOf(new DateTime(2026, 3, 28, 23, 0, 0, DateTimeKind.Utc)), Is.EqualTo(1));
            Assert.That(days.BucketOf(new DateTime(2026, 3, 29, 21, 0, 0, DateTimeKind.Utc)), Is.EqualTo(1));
            Assert.That(days.BucketOf(new DateTime(2026, 3, 29, 22, 0, 0, DateTimeKind.Utc)), Is.EqualTo(2));
            Assert.That(hours.BucketOf(new DateTime(2026, 3, 29, 12, 0, 0, DateTimeKind.Utc)), Is.EqualTo(2));
        });
    }

    [TestCase("2026-03-29T10:00:00", "from")]
    [TestCase("2026-03-29 10:00:00 01:00", "from")]
    [TestCase("29.03.2026", "from")]
    [TestCase("1969-12-31", "from")]
    [TestCase("0001-01-01T00:00:00Z", "from")]
    [TestCase("9999-12-31", "from")]
    [TestCase("", "from")]
    public void A_from_that_is_no_instant_is_refused(string from, string parameter) =>
        Assert.That(Errors(from, "2026-04-01"), Does.ContainKey(parameter));

    [TestCase("Mars/Olympus_Mons")]
    [TestCase("../../etc/passwd")]
    [TestCase("/usr/share/zoneinfo/UTC")]
    [TestCase("W. Europe Standard Time")]
    [TestCase("")]
    public void An_unknown_zone_is_refused(string tz) =>
        Assert.That(Errors(null, null, "day", tz), Does.ContainKey("tz"));

    [Test]
    public void A_zone_is_named_as_the_time_zone_database_spells_it() =>
        Assert.That(Period(null, null, "day", "europe/berlin").Zone.Id, Is.EqualTo("Europe/Berlin"));

    [TestCase("week")]
    [TestCase("Hour")]
    [TestCase("")]
    public void An_unknown_interval_is_refused(string interval) =>
        Assert.That(Errors(null, null, interval), Does.ContainKey("interval"));

    [Test]
    public void From_must_come_before_to()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Errors("2026-04-01", "2026-04-01"), Does.ContainKey("to"));
            Assert.That(Errors("2026-04-02", "2026-04-01"), Does.ContainKey("to"));
            Assert.That(Errors("2026-12-01", null), Does.ContainKey("from"), "to is now by default");
        });
    }

    [Test]
    public void At_most_ten_thousand_buckets()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Period("2026-01-01T00:00:00Z", "2027-02-21T16:00:00Z", "hour").Starts, Has.Length.EqualTo(StatsPeriod.MaxBuckets));
            Assert.That(Errors("2026-01-01T00:00:00Z", "2027-02-21T16:00:01Z", "hour"), Does.ContainKey("interval"));
            Assert.That(Errors("1970-01-01", "2026-01-01", "day"), Does.ContainKey("from"));
        });
    }
}
