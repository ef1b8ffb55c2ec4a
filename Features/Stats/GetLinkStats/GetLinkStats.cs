using System.Security.Claims;
using Dapper;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Shortlink.Features.Analytics;
using Shortlink.Features.Links;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Stats;

internal static class GetLinkStats
{
    public const int TopCount = 10;

    internal sealed record Query(
        [FromQuery(Name = "from")] string? From,
        [FromQuery(Name = "to")] string? To,
        [FromQuery(Name = "interval")] string? Interval,
        [FromQuery(Name = "tz")] string? Tz,
        [FromQuery(Name = "includeBots")] bool? IncludeBots)
    {
        public StatsPeriod? Period(DateTimeOffset now, QueryErrors errors) => StatsPeriod.Of(From, To, Interval, Tz, now, errors);
    }

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator(TimeProvider clock) =>
            RuleFor(query => query).Custom((query, context) => context.Report(errors => query.Period(clock.GetUtcNow(), errors)));
    }

    internal sealed record Bucket(DateTimeOffset Start, long Visits);

    /// <summary>Visits with one value of a dimension; the value is null for visits without one (no referrer, unknown country).</summary>
    internal sealed record Count(string? Value, long Visits);

    internal sealed record Response(
        string Code,
        DateTimeOffset From,
        DateTimeOffset To,
        string Interval,
        string Tz,
        bool IncludeBots,
        long Visits,
        long UniqueVisitors,
        IReadOnlyList<Bucket> Series,
        IReadOnlyList<Count> Referrers,
        IReadOnlyList<Count> Countries,
        IReadOnlyList<Count> Browsers,
        IReadOnlyList<Count> OperatingSystems,
        IReadOnlyList<Count> DeviceTypes);

    private sealed record ValueRow(string Dimension, string Value, long Visits);

    private static readonly string[] Dimensions =
        [VisitRollups.Visitors, VisitRollups.Referrer, VisitRollups.Country, VisitRollups.Browser, VisitRollups.Os, VisitRollups.Device];

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/links/{code}/stats", Handle)
            .WithName("GetLinkStats")
            .WithSummary("A link's visits over time, unique visitors and top referrers, countries, browsers, systems and devices")
            .WithDescription("from and to (to excluded) are dates (the start of that day in tz) or date-times with their offset; " +
                             "to defaults to now and from to 30 days before to. The range is widened to whole buckets of the " +
                             $"interval (day, the default, or hour) in tz (an IANA zone, UTC by default), at most {StatsPeriod.MaxBuckets}. " +
                             "Day buckets run from local midnight to local midnight (23 or 25 hours when clocks change); hour " +
                             "buckets follow UTC hours, shown in the zone's offset. Zones whose midnight falls inside a UTC hour " +
                             "(Asia/Kolkata) answer interval=hour only. Bots are left out unless includeBots=true. " +
                             "uniqueVisitors counts a visitor once per UTC day, so one who came on several days counts once for each.")
            .WithExamples(response: StatsExamples.LinkStats)
            .RejectsRepeatedQueryParameters<Query>()
            .Validate<Query>()
            .ProducesProblems(LinkProblems.LinkNotFound)
            .TakesCodeInPath();

    public static async Task<Results<Ok<Response>, ValidationProblem, ProblemHttpResult>> Handle(
        string code, [AsParameters] Query query, ClaimsPrincipal user, Databases databases, ShortDomain domain, TimeProvider clock,
        CancellationToken ct)
    {
        // The filter checked the query a moment ago; "now" has moved since, and may just have added a bucket too many.
        var errors = new QueryErrors();
        if (query.Period(clock.GetUtcNow(), errors) is not { } period)
        {
            return TypedResults.ValidationProblem(errors.ByParameter);
        }
        if (await StatsSql.OpenWithVisibleLinkAsync(databases, code, user, domain, ct) is not (var connection, var link))
        {
            return LinkProblems.NotFound(code);
        }
        await using var _ = connection;
        var includeBots = query.IncludeBots ?? false;
        // A series by day reads whole UTC days from their daily sums and, inside them, only the hours that belong to another
        // of the zone's days (SplitHours): a year in Berlin is 365 days and 730 hours, not 8,760 hours. The rows are
        // added into the zone's buckets here: grouped in SQL they cost MariaDB a temporary table for nothing. The totals
        // and top lists need only sums, read from days where they can be and summed within each half of the union, so
        // that what the union hands on is one row per value rather than one per value and day (a year: 70 rows instead of
        // 11,700). SUM of integers is a DECIMAL in MySQL: cast back, so that rows map onto their records' long counts.
        var range = RollupRange.Of(period.Start, period.End);
        var byHour = period.Interval == StatsInterval.Hour;
        var splitHours = period.SplitHours(range);
        var series = byHour
            ? """
                SELECT hour, visits FROM visit_rollups
                WHERE link_id = @LinkId AND is_bot IN @Bots AND dimension = 'total' AND hour >= @From AND hour < @To;
                """
            : $"""
                SELECT day, visits FROM visit_rollups_daily
                WHERE link_id = @LinkId AND is_bot IN @Bots AND dimension = 'total' AND day >= @DaysFrom AND day < @DaysTo;
                SELECT hour, visits FROM visit_rollups
                WHERE link_id = @LinkId AND is_bot IN @Bots AND dimension = 'total'
                  AND (hour >= @From AND hour < @DaysFrom OR hour >= @DaysTo AND hour < @To
                       {(splitHours.Length > 0 ? "OR hour >= @DaysFrom AND hour < @DaysTo AND HOUR(hour) IN @SplitHours" : "")});
                """;
        var sql = $"""
            {series}
            SELECT dimension, value, visits FROM (
                SELECT dimension, value, CAST(SUM(visits) AS SIGNED) AS visits,
                       ROW_NUMBER() OVER (PARTITION BY dimension ORDER BY SUM(visits) DESC, value) AS place
                FROM ({StatsSql.Rollups((table, time) => $"""
                    SELECT r.dimension, r.value, SUM(r.visits) AS visits FROM {table} r
                    WHERE r.link_id = @LinkId AND r.is_bot IN @Bots AND r.dimension IN @Dimensions AND {time}
                    GROUP BY r.dimension, r.value
                    """)}) parts
                GROUP BY dimension, value) ranked
            WHERE place <= @Top
            """;
        await using var results = await connection.QueryMultipleAsync(new CommandDefinition(sql, new
        {
            LinkId = link.Id,
            Bots = StatsSql.BotFlags(includeBots),
            range.From,
            range.To,
            range.DaysFrom,
            range.DaysTo,
            SplitHours = splitHours,
            Dimensions,
            Top = TopCount,
        }, cancellationToken: ct));
        IEnumerable<(DateTime Day, long Visits)> days = byHour ? [] : await results.ReadAsync<(DateTime Day, long Visits)>();
        var hours = await results.ReadAsync<(DateTime Hour, long Visits)>();
        var values = (await results.ReadAsync<ValueRow>()).ToLookup(row => row.Dimension,
            row => new Count(row.Value.Length == 0 ? null : row.Value, row.Visits));
        var buckets = new long[period.Starts.Length];
        period.AddTo(buckets, byHour ? RollupRange.Hours(period.Start, period.End) : range, days, hours);
        List<Count> Top(string dimension) => [.. values[dimension].OrderByDescending(count => count.Visits).ThenBy(count => count.Value, StringComparer.Ordinal)];
        return TypedResults.Ok(new Response(
            link.Code,
            period.Zoned(period.Start),
            period.Zoned(period.End),
            period.Interval == StatsInterval.Hour ? "hour" : "day",
            period.Zone.Id,
            includeBots,
            buckets.Sum(),
            values[VisitRollups.Visitors].Sum(count => count.Visits),
            [.. period.Starts.Select((start, i) => new Bucket(period.Zoned(start), buckets[i]))],
            Top(VisitRollups.Referrer),
            Top(VisitRollups.Country),
            Top(VisitRollups.Browser),
            Top(VisitRollups.Os),
            Top(VisitRollups.Device)));
    }
}
