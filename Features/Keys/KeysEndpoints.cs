using FluentValidation;
using Microsoft.Extensions.Options;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Keys;

/// <summary>A key as the API shows it: never the key itself, which is shown once, when it is created.</summary>
internal sealed record KeyResponse(
    Guid Id,
    string Name,
    string Role,
    Guid OwnerId,
    string Prefix,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt,
    DateTimeOffset? RevokedAt)
{
    public static KeyResponse From(StoredKey key) => new(key.Id, key.Name, key.Role, key.OwnerId, key.Prefix,
        Infrastructure.Data.DatabaseTime.Utc(key.ExpiresAt), Infrastructure.Data.DatabaseTime.Utc(key.CreatedAt),
        Infrastructure.Data.DatabaseTime.Utc(key.LastUsedAt), Infrastructure.Data.DatabaseTime.Utc(key.RevokedAt));

    public static string Location(Guid id) => $"/api/v1/keys/{id}";
}

internal static class KeyProblems
{
    public static readonly ProblemType KeyNotFound = new("key-not-found", 404, "Key not found");
}

internal static class KeysEndpoints
{
    public static IServiceCollection AddKeys(this IServiceCollection services)
    {
        services.AddSingleton<IValidator<CreateKey.Request>, CreateKey.Validator>();
        services.AddSingleton<IValidator<ListKeys.Query>, ListKeys.Validator>();
        return services;
    }

    public static IEndpointRouteBuilder MapKeys(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.ServiceProvider.GetRequiredService<IOptions<ShortlinkOptions>>().Value.Api;
        var group = endpoints.MapGroup("/api/v1/keys")
            .WithTags("Keys")
            .WithRequestSizeLimit(api.MaxBodyBytes)
            .RequireApiKey()
            .WithApiLimits()
            .ProducesProblems(CommonProblems.ServiceUnavailable, CommonProblems.InternalError);
        CreateKey.Map(group);
        ListKeys.Map(group);
        GetMyKey.Map(group);
        GetKey.Map(group);
        RevokeKey.Map(group);
        return endpoints;
    }
}

internal static class KeySql
{
    public static async Task<StoredKey?> FindAsync(Infrastructure.Data.Databases databases, Guid id, CancellationToken ct)
    {
        const string sql = $"SELECT {StoredKey.Columns} FROM api_keys WHERE id = @Id";
        await using var connection = await databases.OpenControlAsync(ct);
        return await Dapper.SqlMapper.QuerySingleOrDefaultAsync<StoredKey>(connection,
            new Dapper.CommandDefinition(sql, new { Id = id }, cancellationToken: ct));
    }
}

internal static class KeyExamples
{
    public static readonly object Key = new
    {
        id = "019a8f3c-5b2e-7c41-9d3a-6e1f2a4b5c6d",
        name = "newsletter tool",
        role = ApiRoles.Member,
        ownerId = "019a8f3c-5b2e-7c41-9d3a-6e1f2a4b5c6e",
        prefix = "sl_live_4Xb9T2",
        expiresAt = "2027-12-31T00:00:00+00:00",
        createdAt = "2026-11-25T09:30:00.000+00:00",
        lastUsedAt = (string?)null,
        revokedAt = (string?)null,
    };
}
