using System.Globalization;
using System.Security.Claims;
using System.Text;
using Dapper;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using MySqlConnector;
using Shortlink.Features.Links;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;
using Sylvan.Data.Csv;

namespace Shortlink.Features.Stats;

internal static class ListLinkVisits
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;
    public const string CsvContentType = "text/csv; charset=utf-8";

    internal sealed record Query(
        [FromQuery(Name = "limit")] int? Limit,
        [FromQuery(Name = "cursor")] string? Cursor,
        [FromQuery(Name = "from")] string? From,
        [FromQuery(Name = "to")] string? To)
    {
        /// <summary>from and to exactly as given (a date is midnight UTC); either may be absent.</summary>
        public (DateTimeOffset? From, DateTimeOffset? To) Range(QueryErrors errors) => StatsInputs.Range(From, To, TimeZoneInfo.Utc, errors);
    }

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Limit).InclusiveBetween(1, MaxLimit).WithMessage($"limit must be between 1 and {MaxLimit}.");
            RuleFor(q => q).Custom((query, context) => context.Report(errors => query.Range(errors)));
        }
    }

    /// <summary>One visit as the API shows it: never its visitor's hash. Unknown values are null.</summary>
    internal sealed record Visit(
        Guid Id,
        DateTimeOffset OccurredAt,
        string? ReferrerHost,
        string? Country,
        string? Browser,
        string? Os,
        string? Device,
        bool IsBot,
        string? Region);

    internal sealed record Page(IReadOnlyList<Visit> Items, string? NextCursor);

    private sealed record VisitRow(
        Guid Id, DateTime OccurredAt, string? ReferrerHost, string? Country, string Browser, string Os, string Device, bool IsBot, string Region)
    {
        public Visit ToVisit() => new(Id, DatabaseTime.Utc(OccurredAt), ReferrerHost, Country, Known(Browser), Known(Os), Known(Device), IsBot,
            Known(Region));

        private static string? Known(string value) => value.Length == 0 ? null : value;
    }

    /// <summary>What one listing shows; its cursors are bound to it.</summary>
    private sealed record Filters(Guid LinkId, DateTimeOffset? From, DateTimeOffset? To)
    {
        public string Scope => $"visits|{LinkId:N}|{From?.UtcTicks}|{To?.UtcTicks}";

        public string Where => "WHERE link_id = @LinkId"
            + (From is null ? "" : " AND occurred_at >= @From")
            + (To is null ? "" : " AND occurred_at < @To");
    }

    // Text that a spreadsheet would run as a formula (a browser family can carry part of a user agent) gets a quote first.
    private const string CsvColumns = """
        id, occurred_at,
        CASE WHEN LEFT(referrer_host, 1) IN ('=', '+', '-', '@') THEN CONCAT('''', referrer_host) ELSE referrer_host END AS referrer_host,
        country,
        CASE WHEN LEFT(browser, 1) IN ('=', '+', '-', '@') THEN CONCAT('''', browser) ELSE browser END AS browser,
        CASE WHEN LEFT(os, 1) IN ('=', '+', '-', '@') THEN CONCAT('''', os) ELSE os END AS os,
        device, is_bot, region
        """;

    private static readonly CsvDataWriterOptions Csv = new()
    {
        DateTimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'",
        TrueString = "true",
        FalseString = "false",
        NewLine = "\r\n",
        Culture = CultureInfo.InvariantCulture,
    };

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/links/{code}/visits", Handle)
            .WithName("ListLinkVisits")
            .WithSummary("A link's visits, newest first; with Accept: text/csv, all of them as a CSV file")
            .WithDescription("Keyset pagination: pass nextCursor from the previous page as cursor, with the same from and to. " +
                             "from and to (to excluded) are dates (midnight UTC) or date-times with their offset. " +
                             "Accept: text/csv streams every visit in from–to as CSV (limit and cursor are for JSON pages). " +
                             "Visitors' hashes are never shown.")
            .WithExamples(response: new { items = new[] { StatsExamples.Visit }, nextCursor = "AQGZv4dQcXm8k3x9QbA1c2V4ZHRlc3Qh" })
            .RejectsRepeatedQueryParameters<Query>()
            .Validate<Query>()
            .Produces<Page>(StatusCodes.Status200OK, "application/json", "text/csv")
            .WithResponseHeader(StatusCodes.Status200OK, "Content-Disposition", "With Accept: text/csv, attachment; filename=\"{code}-visits.csv\".")
            .ProducesProblems(LinkProblems.LinkNotFound, LinkProblems.InvalidCursor)
            .TakesCodeInPath();

    public static async Task<Results<Ok<Page>, PushStreamHttpResult, ValidationProblem, ProblemHttpResult>> Handle(
        string code, [AsParameters] Query query, HttpContext http, Databases databases, ShortDomain domain, LinkCursor cursors,
        CancellationToken ct)
    {
        // The filter has refused a range that cannot be read; this reads the same one again.
        var (from, to) = query.Range(new QueryErrors());
        var csv = WantsCsv(http.Request);
        if (csv && (query.Limit, query.Cursor) is not (null, null))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                [query.Cursor is null ? "limit" : "cursor"] = ["A CSV export holds every visit from from to to; limit and cursor page through JSON."],
            });
        }
        if (await StatsSql.OpenWithVisibleLinkAsync(databases, code, http.User, domain, ct) is not (var connection, var link))
        {
            return LinkProblems.NotFound(code);
        }
        await using var _ = connection;
        var filters = new Filters(link.Id, from, to);
        if (csv)
        {
            return TypedResults.Stream(body => ExportAsync(body, databases, link, filters, http.RequestAborted), CsvContentType,
                $"{link.Code}-visits.csv");
        }
        var caller = ApiCaller.From(http.User);
        Guid? owner = caller.SeesAllOwners ? null : caller.OwnerId;
        Guid? after = null;
        if (query.Cursor is not null)
        {
            if (!cursors.TryDecode(query.Cursor, filters.Scope, owner, out var lastId))
            {
                return Problems.Of(LinkProblems.InvalidCursor,
                    "Pass nextCursor exactly as a previous page of this link's visits returned it, with the same from and to.");
            }
            after = lastId;
        }
        var limit = query.Limit ?? DefaultLimit;
        var rows = await PageAsync(connection, filters, after, limit + 1, ct);
        var hasMore = rows.Count > limit;
        if (hasMore)
        {
            rows.RemoveAt(limit);
        }
        var next = hasMore ? cursors.Encode(rows[^1].Id, filters.Scope, owner) : null;
        return TypedResults.Ok(new Page(rows.ConvertAll(row => row.ToVisit()), next));
    }

    /// <summary>
    /// Up to <paramref name="take"/> visits newest first, after the cursor's visit. The (link_id, occurred_at, id)
    /// index drives the walk from the cursor's place on, so a deep page costs what the first one does. A cursor whose
    /// visit has been deleted by the retention ends the listing: every older visit went with it.
    /// </summary>
    private static async Task<List<VisitRow>> PageAsync(MySqlConnection connection, Filters filters, Guid? after, int take, CancellationToken ct)
    {
        const string columns = "SELECT id, occurred_at, referrer_host, country, browser, os, device, is_bot, region FROM visits ";
        const string position = "SELECT occurred_at FROM visits WHERE id = @After AND link_id = @LinkId";
        DateTime? afterAt = null;
        if (after is not null)
        {
            afterAt = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(position, new { After = after, filters.LinkId },
                cancellationToken: ct));
            if (afterAt is null)
            {
                return [];
            }
        }
        var sql = columns + filters.Where
            + (after is null ? "" : " AND (occurred_at < @AfterAt OR (occurred_at = @AfterAt AND id < @After))")
            + " ORDER BY occurred_at DESC, id DESC LIMIT @Take";
        var rows = await connection.QueryAsync<VisitRow>(new CommandDefinition(sql, new
        {
            filters.LinkId,
            From = filters.From?.UtcDateTime,
            To = filters.To?.UtcDateTime,
            After = after,
            AfterAt = afterAt,
            Take = take,
        }, cancellationToken: ct));
        return rows.AsList();
    }

    /// <summary>
    /// Every visit of the listing as CSV, written row by row as the server sends them: Dapper's reader buffers
    /// nothing, and Sylvan writes each row as it reads it, so an export of millions holds one row in memory at a time.
    /// </summary>
    private static async Task ExportAsync(Stream body, Databases databases, LinkRow link, Filters filters, CancellationToken ct)
    {
        var sql = $"SELECT {CsvColumns} FROM visits {filters.Where} ORDER BY occurred_at DESC, id DESC";
        await using var connection = await databases.OpenForCodeStatsAsync(link.Domain, link.Code, ct);
        await using var rows = await connection.ExecuteReaderAsync(new CommandDefinition(sql, new
        {
            filters.LinkId,
            From = filters.From?.UtcDateTime,
            To = filters.To?.UtcDateTime,
        }, cancellationToken: ct));
        await using var text = new StreamWriter(body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 16 * 1024, leaveOpen: true);
        await using var writer = CsvDataWriter.Create(text, Csv);
        await writer.WriteAsync(rows, ct);
        await text.FlushAsync(ct);
    }

    /// <summary>CSV when the Accept header names text/csv at least as gladly as JSON.</summary>
    private static bool WantsCsv(HttpRequest request)
    {
        double Quality(string mediaType) => request.GetTypedHeaders().Accept
            .Where(accepted => accepted.MediaType.Equals(mediaType, StringComparison.OrdinalIgnoreCase))
            .Select(accepted => accepted.Quality ?? 1)
            .DefaultIfEmpty(0)
            .Max();
        var csv = Quality("text/csv");
        return csv > 0 && csv >= Quality("application/json");
    }
}
