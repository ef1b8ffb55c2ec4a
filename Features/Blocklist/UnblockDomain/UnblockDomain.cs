using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Shortlink.Features.Links;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Blocklist;

internal static class UnblockDomain
{
    public static void Map(RouteGroupBuilder group) =>
        group.MapDelete("/{domain}", Handle)
            .WithName("UnblockDomain")
            .WithSummary("Take a host off the blocklist (admin)")
            .WithDescription("Links to it redirect again, on every instance within a second. Entries from the configuration " +
                             "can only be removed there (409).")
            .Requires(ApiPolicies.Admin)
            .ProducesValidationProblem()
            .ProducesProblems(CommonProblems.ValidationFailed, BlocklistProblems.NotBlocked, BlocklistProblems.Configured);

    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> Handle(
        string domain, DomainBlocklist blocklist, Databases databases, CancellationToken ct)
    {
        const string delete = "DELETE FROM blocked_domains WHERE domain = @Domain";
        if (LinkHosts.CanonicalOf(domain) is not { } canonical)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["domain"] = [BlocklistProblems.InvalidDomain] });
        }
        if (blocklist.FromConfiguration.Contains(canonical))
        {
            return Problems.Of(BlocklistProblems.Configured,
                $"'{canonical}' is listed in Shortlink:Security:BlockedDomains; remove it there.");
        }
        await using (var connection = await databases.OpenControlAsync(ct))
        {
            if (await connection.ExecuteAsync(new CommandDefinition(delete, new { Domain = canonical }, cancellationToken: ct)) == 0)
            {
                return Problems.Of(BlocklistProblems.NotBlocked, $"'{canonical}' is not on the blocklist.");
            }
        }
        await blocklist.RefreshAsync(CancellationToken.None);
        return TypedResults.NoContent();
    }
}
