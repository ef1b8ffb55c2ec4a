using Dapper;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Links;

internal static class ListLinks
{
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;
    public const int MaxQueryLength = 200;

    internal sealed record Query(
        [FromQuery(Name = "limit")] int? Limit,
        [FromQuery(Name = "cursor")] string? Cursor,
        [FromQuery(Name = "tag")] string? Tag,
        [FromQuery(Name = "q")] string? Q);

    internal sealed record Page(IReadOnlyList<LinkResponse> Items, string? NextCursor);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Limit).InclusiveBetween(1, MaxLimit).WithMessage($"limit must be between 1 and {MaxLimit}.");
            RuleFor(q => q.Tag).Must(LinkRules.IsValidTag).When(q => q.Tag is not null)
                .WithMessage($"tag must be 1 to {LinkRules.MaxTagLength} characters, without control characters or surrounding spaces.");
            RuleFor(q => q.Q).Length(1, MaxQueryLength).WithMessage($"q must be 1 to {MaxQueryLength} characters.")
                .Must(q => !q!.Any(char.IsControl)).WithMessage("q must not contain control characters.")
                .When(q => q.Q is not null);
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/", Handle)
            .WithName("ListLinks")
            .WithSummary("List links, newest first")
            .WithDescription("Keyset pagination: pass nextCursor from the previous page as cursor, with the same tag and q. " +
                             "q matches a substring of the URL or title, ignoring case.")
            .WithExamples(response: new { items = new[] { LinkExamples.Link }, nextCursor = "AQGZv4dQcXm8k3x9QbA1c2V4ZHRlc3Qh" })
            .Validate<Query>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

    public static async Task<Results<Ok<Page>, ValidationProblem, ProblemHttpResult>> Handle(
        [AsParameters] Query query, Databases databases, LinkCursor cursors, ShortDomain domain,
        CancellationToken ct)
    {
        Guid? after = null;
        if (query.Cursor is not null)
        {
            if (!cursors.TryDecode(query.Cursor, query.Tag, query.Q, out var lastId))
            {
                return Problems.Of(StatusCodes.Status400BadRequest, ProblemTypes.InvalidCursor, "The cursor is not valid",
                    "Pass nextCursor exactly as a previous page returned it, with the same tag and q.");
            }
            after = lastId;
        }
        var limit = query.Limit ?? DefaultLimit;
        await using var connection = await databases.OpenForListingAsync(ct);
        var rows = (await connection.QueryAsync<LinkRow>(new CommandDefinition(Sql(after, query),
            new
            {
                Domain = domain.Name,
                After = after,
                query.Tag,
                Pattern = query.Q is null ? null : $"%{EscapeLike(query.Q)}%",
                Take = limit + 1,
            },
            cancellationToken: ct))).AsList();
        var hasMore = rows.Count > limit;
        if (hasMore)
        {
            rows.RemoveAt(limit);
        }
        var tags = await LinkSql.TagsOfAsync(connection, rows.ConvertAll(r => r.Id), ct);
        var items = rows.ConvertAll(row => LinkResponse.From(row, tags[row.Id].ToArray(), domain));
        var next = hasMore ? cursors.Encode(rows[^1].Id, query.Tag, query.Q) : null;
        return TypedResults.Ok(new Page(items, next));
    }

    // Each filter adds a fixed fragment; values always travel as parameters.
    private static string Sql(Guid? after, Query query)
    {
        const string select = $"SELECT {LinkSql.Columns} FROM links WHERE deleted_at IS NULL AND domain = @Domain";
        const string afterCursor = " AND id < @After";
        const string withTag = " AND EXISTS (SELECT 1 FROM link_tags t WHERE t.link_id = links.id AND t.tag = @Tag)";
        const string matching = " AND (url COLLATE utf8mb4_unicode_ci LIKE @Pattern OR title LIKE @Pattern)";
        const string order = " ORDER BY id DESC LIMIT @Take";
        return select
            + (after is null ? "" : afterCursor)
            + (query.Tag is null ? "" : withTag)
            + (query.Q is null ? "" : matching)
            + order;
    }

    internal static string EscapeLike(string value) =>
        value.Replace(@"\", @"\\", StringComparison.Ordinal)
            .Replace("%", @"\%", StringComparison.Ordinal)
            .Replace("_", @"\_", StringComparison.Ordinal);
}
