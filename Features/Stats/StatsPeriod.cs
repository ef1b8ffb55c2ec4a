using System.Globalization;
using System.Text.RegularExpressions;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Stats;

internal enum StatsInterval
{
    Hour,
    Day,
}

/// <summary>What is wrong with a query, per parameter: the validator reports it, and a handler that meets it answers alike.</summary>
internal sealed class QueryErrors
{
    public Dictionary<string, string[]> ByParameter { get; } = new(StringComparer.Ordinal);

    public void Add(string parameter, string message) =>
        ByParameter[parameter] = ByParameter.TryGetValue(parameter, out var messages) ? [.. messages, message] : [message];
}

/// <summary>
/// The from, to and tz of stats and visits queries. An instant is a date-time with its offset (Z or ±hh:mm, the
/// '+' sent as %2B), or a date alone, which means the start of that day in the query's zone.
/// </summary>
internal static partial class StatsInputs
{
    public static readonly DateTimeOffset Earliest = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset Latest = new(9999, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly TimeSpan DefaultLength = TimeSpan.FromDays(30);

    private static readonly string[] DateTimeFormats =
        ["yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"];

    /// <summary>An IANA zone such as Europe/Berlin; none means UTC. Windows names and anything path-like are refused.</summary>
    public static TimeZoneInfo? Zone(string? id, QueryErrors errors)
    {
        if (id is null)
        {
            return TimeZoneInfo.Utc;
        }
        if (id.Length <= 64 && ZoneId().IsMatch(id) && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) && zone.HasIanaId)
        {
            return zone;
        }
        errors.Add("tz", "tz must be an IANA time zone, such as Europe/Berlin or UTC.");
        return null;
    }

    /// <summary>
    /// from and to with their defaults (to is now, from 30 days before to); null, with the reasons in errors, when they
    /// cannot be read or from does not come first.
    /// </summary>
    public static (DateTime From, DateTime To)? Resolved(string? from, string? to, TimeZoneInfo zone, DateTimeOffset now, QueryErrors errors)
    {
        var (start, end) = Range(from, to, zone, errors);
        if (errors.ByParameter.Count > 0)
        {
            return null;
        }
        end ??= now;
        start ??= end - DefaultLength;
        if (start >= end)
        {
            errors.Add("from", "from must be earlier than to, which is now when it is not given.");
            return null;
        }
        return (start.Value.UtcDateTime, end.Value.UtcDateTime);
    }

    public static DateTime FloorToHour(DateTime utc) => new(utc.Ticks - utc.Ticks % TimeSpan.TicksPerHour, DateTimeKind.Utc);

    public static DateTime CeilingToHour(DateTime utc) => FloorToHour(utc) == utc ? utc : FloorToHour(utc).AddHours(1);

    /// <summary>from and to as given (each may be absent); when both are given, from must come first.</summary>
    public static (DateTimeOffset? From, DateTimeOffset? To) Range(string? from, string? to, TimeZoneInfo zone, QueryErrors errors)
    {
        var start = Instant("from", from, zone, errors);
        var end = Instant("to", to, zone, errors);
        if (start >= end)
        {
            errors.Add("to", "to must be later than from.");
        }
        return (start, end);
    }

    private static DateTimeOffset? Instant(string parameter, string? text, TimeZoneInfo zone, QueryErrors errors)
    {
        if (text is null)
        {
            return null;
        }
        DateTimeOffset instant;
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            // The range is checked on the date itself, before a zone could carry the first or last day past DateTime's.
            instant = day.Year is > 1969 and < 9999 ? new DateTimeOffset(ZonedDays.Start(day, zone), TimeSpan.Zero) : DateTimeOffset.MinValue;
        }
        else if (!OffsetDateTimeConverter.HasExplicitOffset(text)
                 || !DateTimeOffset.TryParseExact(text, DateTimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out instant))
        {
            errors.Add(parameter, $"{parameter} must be a date (2026-03-29, the start of that day in tz) or a date-time with its offset " +
                                  "(2026-03-29T10:00:00Z or 2026-03-29T12:00:00%2B02:00, the '+' encoded).");
            return null;
        }
        if (instant < Earliest || instant >= Latest)
        {
            errors.Add(parameter, $"{parameter} must lie between 1970-01-01 and 9999-01-01.");
            return null;
        }
        return instant;
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$")]
    private static partial Regex ZoneId();
}

/// <summary>Calendar days in a time zone, as UTC instants.</summary>
internal static class ZonedDays
{
    /// <summary>
    /// The first instant of the day: local midnight, the first one where midnight happens twice, or where clocks jump
    /// over midnight, the moment they land. Found in steps checked against conversions from UTC, which stay right where
    /// .NET's rules for local times do not (it takes Pacific/Apia's skipped 2011-12-30 for a day of 14 hours).
    /// </summary>
    public static DateTime Start(DateOnly day, TimeZoneInfo zone)
    {
        var midnight = day.ToDateTime(TimeOnly.MinValue);
        var start = StatsInputs.FloorToHour(DateTime.SpecifyKind(midnight - zone.GetUtcOffset(midnight), DateTimeKind.Utc));
        while (Of(start.AddHours(-1), zone) >= day)
        {
            start = start.AddHours(-1);
        }
        while (Of(start, zone) < day)
        {
            start = start.AddHours(1);
        }
        // The first whole UTC hour of the day; in a zone at +05:30 the day began inside the hour before it.
        while (Of(start.AddMinutes(-1), zone) >= day)
        {
            start = start.AddMinutes(-1);
        }
        return start;
    }

    public static DateOnly Of(DateTime utc, TimeZoneInfo zone) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTimeFromUtc(utc, zone));
}

/// <summary>
/// The buckets of a time series: the requested range widened to whole buckets. Visits are rolled up per UTC hour,
/// so every bucket begins on a whole UTC hour. Hour buckets are the UTC hours themselves, shown in the zone's offset
/// (a zone at +05:30 gets buckets at half past; the night clocks go back has 25 of them). Day buckets run from one
/// local midnight to the next: 23 hours on the day a zone moves its clocks forward, 25 on the day it moves them back.
/// A zone whose midnight falls inside a UTC hour (Asia/Kolkata at +05:30) cannot have exact day buckets from hourly
/// counts, so interval=day is refused for it rather than approximated.
/// </summary>
internal sealed record StatsPeriod(StatsInterval Interval, TimeZoneInfo Zone, DateTime[] Starts, DateTime End)
{
    public const int MaxBuckets = 10_000;

    public DateTime Start => Starts[0];

    /// <summary>An instant of the period in its zone's offset at that instant.</summary>
    public DateTimeOffset Zoned(DateTime utc) => TimeZoneInfo.ConvertTime(new DateTimeOffset(utc, TimeSpan.Zero), Zone);

    /// <summary>
    /// The hours of the UTC day that a day series reads by hour inside the range's whole UTC days: where a bucket boundary
    /// (a midnight of the zone) falls inside a UTC day, the hours on the side of it away from that day's noon. The day's
    /// sum goes to the bucket of its noon, and these hours are moved from it to theirs (see <see cref="AddTo"/>). Berlin:
    /// 22 and 23; UTC, or a zone at UTC's offset all through the period: none. Empty for hour buckets.
    /// </summary>
    public int[] SplitHours(RollupRange range)
    {
        if (Interval == StatsInterval.Hour)
        {
            return [];
        }
        var hours = new SortedSet<int>();
        foreach (var boundary in Starts.Skip(1))
        {
            if (boundary >= range.DaysFrom && boundary < range.DaysTo && boundary.Hour != 0)
            {
                hours.UnionWith(boundary.Hour <= 12 ? Enumerable.Range(0, boundary.Hour) : Enumerable.Range(boundary.Hour, 24 - boundary.Hour));
            }
        }
        return [.. hours];
    }

    /// <summary>
    /// Adds rollups to the buckets: the sums of whole UTC days of <paramref name="range"/> (days) and hours, which are the
    /// range's ends and, inside its whole days, the <see cref="SplitHours"/>.
    /// </summary>
    public void AddTo(long[] buckets, RollupRange range, IEnumerable<(DateTime Day, long Visits)> days, IEnumerable<(DateTime Hour, long Visits)> hours)
    {
        foreach (var (day, visits) in days)
        {
            buckets[BucketOf(day.AddHours(12))] += visits;
        }
        foreach (var (hour, visits) in hours)
        {
            var bucket = BucketOf(hour);
            buckets[bucket] += visits;
            if (hour >= range.DaysFrom && hour < range.DaysTo)
            {
                // Already counted in its day's sum, in the bucket of that day's noon.
                buckets[BucketOf(hour.Date.AddHours(12))] -= visits;
            }
        }
    }

    /// <summary>The bucket an hour of the rollups falls in.</summary>
    public int BucketOf(DateTime hour)
    {
        if (Interval == StatsInterval.Hour)
        {
            return (int)((hour - Start).Ticks / TimeSpan.TicksPerHour);
        }
        var found = Array.BinarySearch(Starts, hour);
        return found >= 0 ? found : ~found - 1;
    }

    /// <summary>
    /// The period of a query: to defaults to now and from to 30 days before to; interval to day and the zone to UTC.
    /// Null, with the reasons in errors, when the query cannot be answered.
    /// </summary>
    public static StatsPeriod? Of(string? from, string? to, string? interval, string? tz, DateTimeOffset now, QueryErrors errors)
    {
        StatsInterval? unit = interval switch
        {
            null or "day" => StatsInterval.Day,
            "hour" => StatsInterval.Hour,
            _ => null,
        };
        if (unit is null)
        {
            errors.Add("interval", "interval must be hour or day.");
        }
        var zone = StatsInputs.Zone(tz, errors);
        if (StatsInputs.Resolved(from, to, zone ?? TimeZoneInfo.Utc, now, errors) is not { } range || unit is null || zone is null)
        {
            return null;
        }
        return unit == StatsInterval.Hour ? Hours(range.From, range.To, zone, errors) : Days(range.From, range.To, zone, errors);
    }

    private static StatsPeriod? Hours(DateTime from, DateTime to, TimeZoneInfo zone, QueryErrors errors)
    {
        var first = StatsInputs.FloorToHour(from);
        var last = StatsInputs.CeilingToHour(to);
        var count = (last - first).Ticks / TimeSpan.TicksPerHour;
        if (count > MaxBuckets)
        {
            errors.Add("interval", $"The range holds {count} hours, more than {MaxBuckets} buckets: shorten it, or ask for interval=day.");
            return null;
        }
        return new StatsPeriod(StatsInterval.Hour, zone, [.. Enumerable.Range(0, (int)count).Select(i => first.AddHours(i))], last);
    }

    private static StatsPeriod? Days(DateTime from, DateTime to, TimeZoneInfo zone, QueryErrors errors)
    {
        var first = ZonedDays.Of(from, zone);
        var lastDay = ZonedDays.Of(to, zone);
        var end = ZonedDays.Start(lastDay, zone) == to ? lastDay : lastDay.AddDays(1);
        var count = end.DayNumber - first.DayNumber;
        if (count > MaxBuckets)
        {
            errors.Add("from", $"The range holds {count} days, more than {MaxBuckets} buckets: shorten it.");
            return null;
        }
        // A day a zone skipped altogether (Pacific/Apia's 2011-12-30) begins where the next one does, and is left out.
        var boundaries = Enumerable.Range(0, count + 1).Select(i => ZonedDays.Start(first.AddDays(i), zone)).Distinct().ToList();
        if (boundaries.Where(boundary => boundary != StatsInputs.FloorToHour(boundary)).Select(boundary => (DateTime?)boundary).FirstOrDefault() is { } inside)
        {
            errors.Add("interval", $"Days in {zone.Id} begin inside a UTC hour (at {inside:yyyy-MM-dd'T'HH:mm}Z), and visits are counted " +
                                   "per UTC hour, so its days cannot be counted exactly: ask for interval=hour, or a zone whose midnight falls on a whole UTC hour.");
            return null;
        }
        return new StatsPeriod(StatsInterval.Day, zone, [.. boundaries[..^1]], boundaries[^1]);
    }
}
