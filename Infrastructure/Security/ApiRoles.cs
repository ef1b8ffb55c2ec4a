using System.Security.Claims;

namespace Shortlink.Infrastructure.Security;

/// <summary>What a key may do: admin everything, member create and change its owner's links, readonly read them.</summary>
internal static class ApiRoles
{
    public const string Admin = "admin";
    public const string Member = "member";
    public const string ReadOnly = "readonly";

    public static readonly string[] All = [Admin, Member, ReadOnly];
}

/// <summary>The names of the authorization policies endpoints require.</summary>
internal static class ApiPolicies
{
    /// <summary>Any valid key.</summary>
    public const string AnyKey = "any-key";

    /// <summary>Creating and changing links: admin and member keys.</summary>
    public const string WriteLinks = "write-links";

    /// <summary>Managing keys and the blocklist: admin keys.</summary>
    public const string Admin = "admin";
}

/// <summary>The key a request was made with, and the owner it acts for.</summary>
internal sealed record ApiCaller(Guid KeyId, Guid OwnerId, string Role)
{
    public const string KeyIdClaim = "shortlink:key_id";
    public const string OwnerIdClaim = "shortlink:owner_id";

    /// <summary>Links made before keys existed; only admins see them.</summary>
    public static readonly Guid LegacyOwner = new("00000000-0000-7000-8000-000000000001");

    /// <summary>Admins see and change every owner's links.</summary>
    public bool SeesAllOwners => Role == ApiRoles.Admin;

    public static ApiCaller From(ClaimsPrincipal user) => new(
        Guid.Parse(user.FindFirstValue(KeyIdClaim) ?? throw MissingClaim(KeyIdClaim)),
        Guid.Parse(user.FindFirstValue(OwnerIdClaim) ?? throw MissingClaim(OwnerIdClaim)),
        user.FindFirstValue(ClaimTypes.Role) ?? throw MissingClaim(ClaimTypes.Role));

    // Only reachable when an endpoint forgot its authorization requirement: a bug, so a 500.
    private static InvalidOperationException MissingClaim(string claim) =>
        new($"The request carries no {claim}: the endpoint is missing its authorization requirement.");
}
