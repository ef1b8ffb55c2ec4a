using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Keys;

internal static class RevokeKey
{
    public static void Map(RouteGroupBuilder group) =>
        group.MapDelete("/{id:guid}", Handle)
            .WithName("RevokeKey")
            .WithSummary("Revoke an API key (admin)")
            .WithDescription("The key answers 401 from then on: at once on this instance, within Security:KeyCacheSeconds " +
                             "on the others. Its links stay with its owner.")
            .Requires(ApiPolicies.Admin)
            // An id that is no GUID matches no route: the generic 404.
            .ProducesProblems(KeyProblems.KeyNotFound, CommonProblems.NotFound);

    public static async Task<Results<NoContent, ProblemHttpResult>> Handle(Guid id, Databases databases, ApiKeyStore keys,
        TimeProvider clock, CancellationToken ct)
    {
        const string revoke = "UPDATE api_keys SET revoked_at = @Now WHERE id = @Id AND revoked_at IS NULL";
        const string hash = "SELECT key_hash FROM api_keys WHERE id = @Id";
        await using var connection = await databases.OpenControlAsync(ct);
        var revoked = await connection.ExecuteAsync(new CommandDefinition(revoke,
            new { Id = id, Now = DatabaseTime.Stored(clock.GetUtcNow()) }, cancellationToken: ct));
        if (revoked == 0)
        {
            return Problems.Of(KeyProblems.KeyNotFound, $"No active key has the id {id}.");
        }
        // The revocation is committed: this instance stops trusting the key at once, whatever the client does.
        await keys.ForgetAsync((await connection.ExecuteScalarAsync<byte[]>(new CommandDefinition(hash, new { Id = id })))!);
        return TypedResults.NoContent();
    }
}
