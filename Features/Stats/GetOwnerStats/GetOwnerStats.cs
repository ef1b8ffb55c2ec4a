using System.Security.Claims;
using Dapper;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Shortlink.Features.Analytics;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Stats;

internal static class GetOwnerStats
{
    public const int TopCount = 10;

    internal sealed record Query(
        [FromQuery(Name = "from")] string? From,
        [FromQuery(Name = "to")] string? To,
        [FromQuery(Name = "includeBots")] bool? IncludeBots)
    {
        /// <summary>The range in whole UTC hours, the rollups' unit: from is moved back and to forward to the hour.</summary>
        public (DateTime From, DateTime To)? Range(DateTimeOffset now, QueryErrors errors) =>
            StatsInputs.Resolved(From, To, TimeZoneInfo.Utc, now, errors) is { } range
                ? (StatsInputs.FloorToHour(range.From), StatsInputs.CeilingToHour(range.To))
                : null;
    }

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator(TimeProvider clock) =>
            RuleFor(query => query).Custom((query, context) => context.Report(errors => query.Range(clock.GetUtcNow(), errors)));
    }

    internal sealed record TopLink(string Code, string ShortUrl, long Visits);

    internal sealed record Response(
        DateTimeOffset From,
        DateTimeOffset To,
        bool IncludeBots,
        long Visits,
        long UniqueVisitors,
        long LinksWithVisits,
        IReadOnlyList<TopLink> TopLinks);

    private sealed record Total(long Links, long Visits);

    private sealed record LinkVisits(string Code, long Visits);

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/stats", Handle)
            .WithName("GetOwnerStats")
            .WithSummary("The caller's visits, unique visitors and links with visits, and its most visited links")
            .WithDescription("Over the links the key's owner has (an admin's key: every owner's). from and to (to excluded) are dates " +
                             "(midnight UTC) or date-times with their offset, widened to whole UTC hours; to defaults to now and " +
                             "from to 30 days before to. Bots are left out unless includeBots=true. uniqueVisitors adds up each " +
                             "link's visitors per UTC day, so a visitor of two links, or on two days, counts twice. Deleted links " +
                             "are left out.")
            .WithExamples(response: StatsExamples.OwnerStats)
            .RejectsRepeatedQueryParameters<Query>()
            .Validate<Query>();

    public static async Task<Results<Ok<Response>, ValidationProblem>> Handle(
        [AsParameters] Query query, ClaimsPrincipal user, Databases databases, ShortDomain domain, TimeProvider clock, CancellationToken ct)
    {
        var errors = new QueryErrors();
        if (query.Range(clock.GetUtcNow(), errors) is not { } range)
        {
            return TypedResults.ValidationProblem(errors.ByParameter);
        }
        var caller = ApiCaller.From(user);
        var includeBots = query.IncludeBots ?? false;
        // The owner's links come from the (owner_id, id) index, and each link's rollups from their primary key, in both
        // halves of the union. One dimension per statement: with a list of them, the join reads every dimension of
        // every hour (or day) of each link. A shard's rows of buckets it does not hold (a move's copy, or what a move left
        // for the clean-up) are counted where the bucket is held.
        static string Of(string dimension, bool leavesOut) => StatsSql.Rollups((table, time) => $"""
            SELECT l.id, l.code, r.visits FROM links l JOIN {table} r ON r.link_id = l.id
            WHERE l.domain = @Domain AND l.deleted_at IS NULL AND (@AllOwners OR l.owner_id = @OwnerId)
              AND r.is_bot IN @Bots AND r.dimension = '{dimension}' AND {time}{(leavesOut ? " AND l.bucket NOT IN @Foreign" : "")}
            """);
        static string Sql(bool leavesOut) => $"""
            SELECT COUNT(*) AS links, CAST(COALESCE(SUM(visits), 0) AS SIGNED) AS visits
            FROM (SELECT SUM(visits) AS visits FROM ({Of(VisitRollups.Total, leavesOut)}) totals GROUP BY id) per_link;
            SELECT CAST(COALESCE(SUM(visits), 0) AS SIGNED) FROM ({Of(VisitRollups.Visitors, leavesOut)}) visitors;
            SELECT code, CAST(SUM(visits) AS SIGNED) AS visits
            FROM ({Of(VisitRollups.Total, leavesOut)}) totals
            GROUP BY id, code
            ORDER BY visits DESC, code
            LIMIT @Top
            """;
        var rollups = RollupRange.Of(range.From, range.To);
        var parameters = new DynamicParameters(new
        {
            Domain = domain.Name,
            AllOwners = caller.SeesAllOwners,
            caller.OwnerId,
            Bots = StatsSql.BotFlags(includeBots),
            rollups.From,
            rollups.To,
            rollups.DaysFrom,
            rollups.DaysTo,
            Top = TopCount,
        });
        // Each link and its rollups live on one shard: the sums add up across shards, and the top links of all are among
        // each shard's own top.
        var shards = await Task.WhenAll(databases.Shards.Select(async shard =>
        {
            var foreign = databases.ForeignOn(shard);
            var onShard = new DynamicParameters(parameters);
            onShard.Add("Foreign", foreign);
            await using var connection = await databases.OpenForListingAsync(shard, ct);
            await using var results = await connection.QueryMultipleAsync(new CommandDefinition(Sql(leavesOut: foreign.Count > 0), onShard,
                cancellationToken: ct));
            return (Total: await results.ReadSingleAsync<Total>(), Visitors: await results.ReadSingleAsync<long>(),
                Top: (await results.ReadAsync<LinkVisits>()).AsList());
        }));
        var total = new Total(shards.Sum(shard => shard.Total.Links), shards.Sum(shard => shard.Total.Visits));
        var visitors = shards.Sum(shard => shard.Visitors);
        var top = shards.SelectMany(shard => shard.Top).OrderByDescending(link => link.Visits).ThenBy(link => link.Code, StringComparer.Ordinal)
            .Take(TopCount);
        return TypedResults.Ok(new Response(
            DatabaseTime.Utc(range.From),
            DatabaseTime.Utc(range.To),
            includeBots,
            total.Visits,
            visitors,
            total.Links,
            [.. top.Select(link => new TopLink(link.Code, domain.ShortUrl(link.Code), link.Visits))]));
    }
}
