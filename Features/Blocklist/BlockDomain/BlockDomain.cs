using System.Security.Claims;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using MySqlConnector;
using Shortlink.Features.Links;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Blocklist;

internal static class BlockDomain
{
    public static void Map(RouteGroupBuilder group) =>
        group.MapPut("/{domain}", Handle)
            .WithName("BlockDomain")
            .WithSummary("Block a host and every name below it (admin)")
            .WithDescription("New links to it are refused (422), and existing ones answer 410 link-blocked on every instance " +
                             "within a second. No data is deleted. Blocking twice is harmless (200).")
            .WithExamples(response: new { domain = "evil.example", source = BlockedDomain.FromApi, createdAt = "2026-11-25T09:30:00.000+00:00" })
            .Requires(ApiPolicies.Admin)
            .Produces<BlockedDomain>(StatusCodes.Status201Created)
            .WithResponseHeader(StatusCodes.Status201Created, "Location", "The entry's path in the API.")
            .ProducesValidationProblem()
            .ProducesProblems(CommonProblems.ValidationFailed);

    public static async Task<Results<Created<BlockedDomain>, Ok<BlockedDomain>, ValidationProblem>> Handle(
        string domain, ClaimsPrincipal user, DomainBlocklist blocklist, Databases databases, TimeProvider clock, CancellationToken ct)
    {
        const string insert = "INSERT INTO blocked_domains (domain, created_at, created_by_key_id) VALUES (@Domain, @Now, @KeyId)";
        const string read = "SELECT created_at FROM blocked_domains WHERE domain = @Domain";
        if (LinkHosts.CanonicalOf(domain) is not { } canonical)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["domain"] = [BlocklistProblems.InvalidDomain] });
        }
        if (blocklist.FromConfiguration.Contains(canonical))
        {
            return TypedResults.Ok(new BlockedDomain(canonical, BlockedDomain.FromConfiguration, null));
        }
        var added = true;
        DateTime createdAt;
        await using (var connection = await databases.OpenControlAsync(ct))
        {
            try
            {
                await connection.ExecuteAsync(new CommandDefinition(insert,
                    new { Domain = canonical, Now = DatabaseTime.Stored(clock.GetUtcNow()), ApiCaller.From(user).KeyId }, cancellationToken: ct));
            }
            catch (MySqlException ex) when (ex.ErrorCode == MySqlErrorCode.DuplicateKeyEntry)
            {
                added = false;
            }
            createdAt = await connection.ExecuteScalarAsync<DateTime>(new CommandDefinition(read, new { Domain = canonical }, cancellationToken: ct));
        }
        // Blocked here at once; the other instances read the list again within a second.
        await blocklist.RefreshAsync(CancellationToken.None);
        var entry = new BlockedDomain(canonical, BlockedDomain.FromApi, DatabaseTime.Utc(createdAt));
        return added ? TypedResults.Created(BlockedDomain.Location(canonical), entry) : TypedResults.Ok(entry);
    }
}
