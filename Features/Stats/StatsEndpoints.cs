using System.Security.Claims;
using FluentValidation;
using MySqlConnector;
using Shortlink.Features.Links;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Stats;

/// <summary>Examples for the OpenAPI document, written as a client sees the JSON.</summary>
internal static class StatsExamples
{
    public static readonly object LinkStats = new
    {
        code = "spring-sale",
        from = "2026-03-28T00:00:00+01:00",
        to = "2026-03-30T00:00:00+02:00",
        interval = "day",
        tz = "Europe/Berlin",
        includeBots = false,
        visits = 1234,
        uniqueVisitors = 987,
        series = new[] { new { start = "2026-03-28T00:00:00+01:00", visits = 600 }, new { start = "2026-03-29T00:00:00+01:00", visits = 634 } },
        referrers = new[] { new { value = (string?)"news.example.org", visits = 700 }, new { value = (string?)null, visits = 534 } },
        countries = new[] { new { value = "DE", visits = 800 }, new { value = "AT", visits = 434 } },
        browsers = new[] { new { value = "Chrome", visits = 900 }, new { value = "Firefox", visits = 334 } },
        operatingSystems = new[] { new { value = "Windows", visits = 700 }, new { value = "Android", visits = 534 } },
        deviceTypes = new[] { new { value = "desktop", visits = 700 }, new { value = "mobile", visits = 534 } },
    };

    public static readonly object Visit = new
    {
        id = "019a7f3c-5d2e-7b41-9c3a-2f6e8d1b4a70",
        occurredAt = "2026-03-29T10:15:42.123+00:00",
        referrerHost = "news.example.org",
        country = "DE",
        browser = "Chrome",
        os = "Windows",
        device = "desktop",
        isBot = false,
        region = "eu-west-1",
    };

    public static readonly object OwnerStats = new
    {
        from = "2026-03-01T00:00:00+00:00",
        to = "2026-03-31T00:00:00+00:00",
        includeBots = false,
        visits = 5120,
        uniqueVisitors = 3900,
        linksWithVisits = 12,
        topLinks = new[] { new { code = "spring-sale", shortUrl = "https://sho.rt/spring-sale", visits = 1234 } },
    };
}

internal static class StatsEndpoints
{
    public static IServiceCollection AddStats(this IServiceCollection services)
    {
        services.AddSingleton<IValidator<GetLinkStats.Query>, GetLinkStats.Validator>();
        services.AddSingleton<IValidator<ListLinkVisits.Query>, ListLinkVisits.Validator>();
        services.AddSingleton<IValidator<GetOwnerStats.Query>, GetOwnerStats.Validator>();
        return services;
    }

    public static IEndpointRouteBuilder MapStats(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/v1")
            .WithTags("Stats")
            .RequireApiKey()
            .WithApiLimits()
            .ProducesProblems(CommonProblems.ServiceUnavailable, CommonProblems.InternalError);
        GetLinkStats.Map(group);
        ListLinkVisits.Map(group);
        GetOwnerStats.Map(group);
        return endpoints;
    }

    /// <summary>Adds what reading a query found wrong to the validator's failures, under the query parameters' names.</summary>
    public static void Report<T>(this ValidationContext<T> context, Action<QueryErrors> read)
    {
        var errors = new QueryErrors();
        read(errors);
        foreach (var (parameter, messages) in errors.ByParameter)
        {
            foreach (var message in messages)
            {
                context.AddFailure(parameter, message);
            }
        }
    }
}

/// <summary>What the stats slices ask of the database alike.</summary>
/// <summary>A range of UTC hours [From, To) and the whole UTC days in it [DaysFrom, DaysTo), empty (both To) when there is none.</summary>
internal readonly record struct RollupRange(DateTime From, DateTime To, DateTime DaysFrom, DateTime DaysTo)
{
    public static RollupRange Of(DateTime from, DateTime to)
    {
        var daysFrom = from == from.Date ? from : from.Date.AddDays(1);
        var daysTo = to.Date;
        return daysFrom < daysTo ? new(from, to, daysFrom, daysTo) : Hours(from, to);
    }

    /// <summary>The range read by hours only, with no whole days.</summary>
    public static RollupRange Hours(DateTime from, DateTime to) => new(from, to, to, to);
}

internal static class StatsSql
{
    private static readonly bool[] People = [false];
    private static readonly bool[] PeopleAndBots = [false, true];

    /// <summary>The is_bot values to read: visits by people, and those by bots too when asked for.</summary>
    public static bool[] BotFlags(bool includeBots) => includeBots ? PeopleAndBots : People;

    /// <summary>
    /// The rollups of a range as one row source, as a UNION ALL of two queries that <paramref name="query"/> writes from a
    /// table name and a time condition on its alias r: whole UTC days from visit_rollups_daily, and from visit_rollups
    /// only the hours before the first whole day and after the last. A year is then 365 days and up to 46 hours, not
    /// 8,760 hours. The statement's parameters need the <see cref="RollupRange"/>'s From, To, DaysFrom and DaysTo.
    /// </summary>
    public static string Rollups(Func<string, string, string> query) => $"""
        {query("visit_rollups_daily", "r.day >= @DaysFrom AND r.day < @DaysTo")}
        UNION ALL
        {query("visit_rollups", "(r.hour >= @From AND r.hour < @DaysFrom OR r.hour >= @DaysTo AND r.hour < @To)")}
        """;

    /// <summary>
    /// A connection to read a link's stats from, with the link behind the code if the caller may see it: a replica in
    /// rotation when it has the link, else the primary (a link younger than the replica's lag is not there yet). Null,
    /// with nothing left open, when neither has it.
    /// </summary>
    public static async Task<(MySqlConnection Connection, LinkRow Link)?> OpenWithVisibleLinkAsync(Databases databases, string code, ClaimsPrincipal user,
        ShortDomain domain, CancellationToken ct)
    {
        if (await databases.OpenReplicaForCodeAsync(domain.Name, code, ct) is { } replica && await FoundOnAsync(replica) is { } onReplica)
        {
            return onReplica;
        }
        return await FoundOnAsync(await databases.OpenForCodeAsync(domain.Name, code, ct));

        async Task<(MySqlConnection, LinkRow)?> FoundOnAsync(MySqlConnection connection)
        {
            try
            {
                if (await FindVisibleLinkAsync(connection, code, user, domain, ct) is { } link)
                {
                    return (connection, link);
                }
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
            await connection.DisposeAsync();
            return null;
        }
    }

    /// <summary>The link behind a code if the caller may see it, as GET /api/v1/links/{code} finds it: another owner's is absent.</summary>
    public static async Task<LinkRow?> FindVisibleLinkAsync(MySqlConnection connection, string code, ClaimsPrincipal user, ShortDomain domain,
        CancellationToken ct) =>
        LinkRules.IsPossibleCode(code) ? await LinkSql.FindVisibleAsync(connection, domain.Name, code, ApiCaller.From(user), ct) : null;
}
