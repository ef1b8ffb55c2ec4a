using System.Security.Claims;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Links;

internal static class DeleteLink
{
    public static void Map(RouteGroupBuilder group) =>
        group.MapDelete("/{code}", Handle)
            .WithName("DeleteLink")
            .WithSummary("Delete a link")
            .WithDescription("The code answers 404 afterwards and is never handed out again.")
            .Requires(ApiPolicies.WriteLinks)
            .ProducesProblems(LinkProblems.LinkNotFound, CommonProblems.BucketMoving)
            .TakesCodeInPath(parentAnswersOtherMethods: true);

    public static async Task<Results<NoContent, ProblemHttpResult>> Handle(
        string code, ClaimsPrincipal user, Databases databases, LinkCache cache, VisitCounters counters, ShortDomain domain,
        TimeProvider clock, CancellationToken ct)
    {
        // The row stays as a tombstone: its unique (domain, code) key is what keeps the code retired.
        const string sql = """
            UPDATE links SET deleted_at = @Now, updated_at = @Now
            WHERE domain = @Domain AND code = @Code AND deleted_at IS NULL AND (@AllOwners OR owner_id = @OwnerId)
            """;
        if (!LinkRules.IsPossibleCode(code))
        {
            return LinkProblems.NotFound(code);
        }
        var caller = ApiCaller.From(user);
        await using var connection = await databases.OpenForCodeWriteAsync(domain.Name, code, ct);
        var affected = await connection.ExecuteAsync(new CommandDefinition(sql,
            new { Now = DatabaseTime.Stored(clock.GetUtcNow()), Domain = domain.Name, Code = code, AllOwners = caller.SeesAllOwners, caller.OwnerId },
            cancellationToken: ct));
        if (affected == 0)
        {
            return LinkProblems.NotFound(code);
        }
        await cache.ForgetAsync(domain.Name, code);
        await counters.ForgetAsync(domain.Name, code);
        return TypedResults.NoContent();
    }
}
