using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Keys;

internal static class GetMyKey
{
    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/me", Handle)
            .WithName("GetMyKey")
            .WithSummary("The key this request was made with")
            .WithDescription("Any role: its name, role, owner and expiry, so a tool can tell what it may do.")
            .WithExamples(response: KeyExamples.Key);

    public static async Task<Ok<KeyResponse>> Handle(ClaimsPrincipal user, Databases databases, CancellationToken ct) =>
        // The key authenticated this very request, so it exists.
        TypedResults.Ok(KeyResponse.From((await KeySql.FindAsync(databases, ApiCaller.From(user).KeyId, ct))!));
}
