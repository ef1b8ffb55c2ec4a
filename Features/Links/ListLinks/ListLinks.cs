using System.Security.Claims;
using Dapper;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using MySqlConnector;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
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
                             "tag matches one tag exactly; q matches a substring of the URL or title, ignoring case, and " +
                             "ignoring accents in titles. Each parameter may be given once.")
            .WithExamples(response: new { items = new[] { LinkExamples.Link }, nextCursor = "AQGZv4dQcXm8k3x9QbA1c2V4ZHRlc3Qh" })
            .RejectsRepeatedQueryParameters<Query>()
            .Validate<Query>()
            .ProducesProblems(LinkProblems.InvalidCursor);

    public static async Task<Results<Ok<Page>, ValidationProblem, ProblemHttpResult>> Handle(
        [AsParameters] Query query, ClaimsPrincipal user, Databases databases, LinkCursor cursors, ShortDomain domain,
        CancellationToken ct)
    {
        var caller = ApiCaller.From(user);
        Guid? owner = caller.SeesAllOwners ? null : caller.OwnerId;
        Guid? after = null;
        if (query.Cursor is not null)
        {
            if (!cursors.TryDecode(query.Cursor, query.Tag, query.Q, owner, out var lastId))
            {
                return Problems.Of(LinkProblems.InvalidCursor,
                    "Pass nextCursor exactly as a previous page returned it, with the same tag and q.");
            }
            after = lastId;
        }
        var limit = query.Limit ?? DefaultLimit;
        var parts = await Task.WhenAll(databases.Shards.Select(shard =>
            ShardPartAsync(databases, shard, domain.Name, owner, after, query.Tag, query.Q, limit, ct)));
        var (rows, next) = ShardedPages.Merge(parts, limit, link => link.Row.Id);
        var items = rows.ConvertAll(link => LinkResponse.From(link.Row, link.Tags, domain));
        return TypedResults.Ok(new Page(items, next is { } below ? cursors.Encode(below, query.Tag, query.Q, owner) : null));
    }

    private sealed record TaggedRow(LinkRow Row, string[] Tags);

    /// <summary>One shard's part of the page: up to limit + 1 links below the cursor, with the tags of those it holds.</summary>
    private static async Task<ShardPage<TaggedRow>> ShardPartAsync(Databases databases, Shard shard, string domain, Guid? owner, Guid? after,
        string? tag, string? q, int limit, CancellationToken ct)
    {
        await using var connection = await databases.OpenForListingAsync(shard, ct);
        var rows = await PageAsync(connection, domain, owner, after, tag, q, limit + 1, ct);
        var owned = rows.FindAll(row => databases.ShardFor(row.Domain, row.Code) == shard);
        var tags = await LinkSql.TagsOfAsync(connection, owned.ConvertAll(r => r.Id), ct);
        return new ShardPage<TaggedRow>(owned.ConvertAll(row => new TaggedRow(row, tags[row.Id].ToArray())),
            rows.Count > limit ? rows[^1].Id : null);
    }

    /// <summary>
    /// Up to <paramref name="take"/> links of a domain (of one owner, or of all when it is null), newest
    /// first, after the cursor's id. With a tag, the (tag, link_id) index drives the walk, so a rare tag
    /// costs a few rows rather than a scan of every link; the join order is fixed so that the planner
    /// cannot choose the scan. Without one, an owner's links come from the (owner_id, id) index.
    /// </summary>
    internal static async Task<List<LinkRow>> PageAsync(MySqlConnection connection, string domain, Guid? owner, Guid? after,
        string? tag, string? q, int take, CancellationToken ct)
    {
        const string all = $"SELECT {LinkSql.Columns} FROM links WHERE deleted_at IS NULL AND domain = @Domain";
        const string tagged = $"""
            SELECT {LinkSql.Columns}
            FROM link_tags t STRAIGHT_JOIN links l ON l.id = t.link_id
            WHERE t.tag = @Tag AND deleted_at IS NULL AND domain = @Domain
            """;
        // '!' rather than the default backslash escapes LIKE's wildcards, so the pattern means the same
        // whether or not the server runs with NO_BACKSLASH_ESCAPES.
        const string matching = " AND (url COLLATE utf8mb4_unicode_ci LIKE @UrlPattern ESCAPE '!' OR title LIKE @TitlePattern ESCAPE '!')";
        var sql = (tag is null ? all : tagged)
            + (owner is null ? "" : " AND owner_id = @Owner")
            + (after is null ? "" : tag is null ? " AND id < @After" : " AND t.link_id < @After")
            + (q is null ? "" : matching)
            + (tag is null ? " ORDER BY id DESC" : " ORDER BY t.link_id DESC")
            + " LIMIT @Take";
        var rows = await connection.QueryAsync<LinkRow>(new CommandDefinition(sql, new
        {
            Domain = domain,
            Owner = owner,
            After = after,
            Tag = tag,
            // URLs are stored with non-ASCII and unsafe characters percent-encoded: q is looked for in that form.
            UrlPattern = q is null ? null : $"%{EscapeLike(LinkRules.PercentEncodeUnsafe(q))}%",
            TitlePattern = q is null ? null : $"%{EscapeLike(q)}%",
            Take = take,
        }, cancellationToken: ct));
        return rows.AsList();
    }

    internal static string EscapeLike(string value) =>
        value.Replace("!", "!!", StringComparison.Ordinal)
            .Replace("%", "!%", StringComparison.Ordinal)
            .Replace("_", "!_", StringComparison.Ordinal);
}
