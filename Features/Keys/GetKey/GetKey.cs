using Microsoft.AspNetCore.Http.HttpResults;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Keys;

internal static class GetKey
{
    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/{id:guid}", Handle)
            .WithName("GetKey")
            .WithSummary("Read one API key (admin)")
            .WithExamples(response: KeyExamples.Key)
            .Requires(ApiPolicies.Admin)
            // An id that is no GUID matches no route: the generic 404.
            .ProducesProblems(KeyProblems.KeyNotFound, CommonProblems.NotFound);

    public static async Task<Results<Ok<KeyResponse>, ProblemHttpResult>> Handle(Guid id, Databases databases, CancellationToken ct) =>
        await KeySql.FindAsync(databases, id, ct) is { } key
            ? TypedResults.Ok(KeyResponse.From(key))
            : Problems.Of(KeyProblems.KeyNotFound, $"No key has the id {id}.");
}
