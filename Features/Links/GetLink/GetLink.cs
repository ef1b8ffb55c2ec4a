using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Links;

internal static class GetLink
{
    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/{code}", Handle)
            .WithName("GetLink")
            .WithSummary("Read one link by its code")
            .WithExamples(response: LinkExamples.Link)
            .ProducesProblems(LinkProblems.LinkNotFound)
            .TakesCodeInPath();

    public static async Task<Results<Ok<LinkResponse>, ProblemHttpResult>> Handle(
        string code, ClaimsPrincipal user, Databases databases, ShortDomain domain, CancellationToken ct)
    {
        if (!LinkRules.IsPossibleCode(code))
        {
            return LinkProblems.NotFound(code);
        }
        await using var connection = await databases.OpenForCodeAsync(domain.Name, code, ct);
        var row = await LinkSql.FindVisibleAsync(connection, domain.Name, code, ApiCaller.From(user), ct);
        if (row is null)
        {
            return LinkProblems.NotFound(code);
        }
        var tags = await LinkSql.TagsOfAsync(connection, row.Id, ct);
        return TypedResults.Ok(LinkResponse.From(row, tags, domain));
    }
}
