using Dapper;
using FluentValidation;
using Microsoft.AspNetCore.Mvc;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Keys;

internal static class ListKeys
{
    internal sealed record Query([FromQuery(Name = "includeRevoked")] bool? IncludeRevoked);

    internal sealed record Page(IReadOnlyList<KeyResponse> Items);

    // Keys are few (people and tools, not visitors): one page holds them all.
    internal sealed class Validator : AbstractValidator<Query>;

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/", Handle)
            .WithName("ListKeys")
            .WithSummary("List API keys, newest first (admin)")
            .WithDescription("Shows prefixes, never keys. Revoked keys only with includeRevoked=true.")
            .WithExamples(response: new { items = new[] { KeyExamples.Key } })
            .Requires(ApiPolicies.Admin)
            .RejectsRepeatedQueryParameters<Query>()
            .Validate<Query>();

    public static async Task<Microsoft.AspNetCore.Http.HttpResults.Ok<Page>> Handle([AsParameters] Query query, Databases databases,
        CancellationToken ct)
    {
        const string sql = $"""
            SELECT {StoredKey.Columns} FROM api_keys
            WHERE @IncludeRevoked OR revoked_at IS NULL
            ORDER BY id DESC
            """;
        await using var connection = await databases.OpenControlAsync(ct);
        var keys = await connection.QueryAsync<StoredKey>(new CommandDefinition(sql,
            new { IncludeRevoked = query.IncludeRevoked ?? false }, cancellationToken: ct));
        return TypedResults.Ok(new Page(keys.Select(KeyResponse.From).ToList()));
    }
}
