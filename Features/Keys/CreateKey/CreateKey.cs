using Dapper;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Keys;

internal static class CreateKey
{
    public const int MaxNameLength = 200;

    internal sealed record Request(string? Name, string? Role, DateTimeOffset? ExpiresAt = null, Guid? OwnerId = null);

    /// <summary>The new key, in clear this once, and what the API shows of it from now on.</summary>
    internal sealed record Response(string Key, KeyResponse Details);

    internal sealed class Validator : AbstractValidator<Request>
    {
        public Validator(TimeProvider clock)
        {
            RuleFor(r => r.Name)
                .Must(name => !string.IsNullOrWhiteSpace(name) && name.Length <= MaxNameLength && !name.Any(char.IsControl))
                .WithMessage($"name must be 1 to {MaxNameLength} characters without control characters.");
            RuleFor(r => r.Role)
                .Must(role => ApiRoles.All.Contains(role))
                .WithMessage($"role must be one of {string.Join(", ", ApiRoles.All)}.");
            RuleFor(r => r.ExpiresAt)
                .Must(expiresAt => DatabaseTime.Stored(expiresAt) > DatabaseTime.Stored(clock.GetUtcNow()))
                .WithMessage("expiresAt must be in the future.")
                .When(r => r.ExpiresAt is not null);
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapPost("/", Handle)
            .WithName("CreateKey")
            .WithSummary("Create an API key (admin)")
            .WithDescription("Answers the key itself this once; only its hash is stored. Without ownerId the key gets an " +
                             "owner of its own; with the ownerId of another key it shares that key's links (to rotate a key, " +
                             "create its successor for the same owner, then revoke it).")
            .WithExamples(
                request: new { name = "newsletter tool", role = ApiRoles.Member, expiresAt = "2027-12-31T00:00:00Z" },
                response: new { key = "sl_live_4Xb9T2kQ7rLm0PzW3sV8nYc1eHj6gFd5aUo2iKq9tRw", details = KeyExamples.Key })
            .Requires(ApiPolicies.Admin)
            .Validate<Request>()
            .ReadsJsonBody()
            .WithResponseHeader(StatusCodes.Status201Created, "Location", "The new key's path in the API.");

    public static async Task<Results<Created<Response>, ValidationProblem>> Handle(
        Request request, ApiKeyStore keys, Databases databases, CancellationToken ct)
    {
        const string ownerExists = "SELECT COUNT(*) FROM owners WHERE id = @OwnerId";
        await using var connection = await databases.OpenControlAsync(ct);
        if (request.OwnerId is { } ownerId
            && await connection.ExecuteScalarAsync<long>(new CommandDefinition(ownerExists, new { OwnerId = ownerId }, cancellationToken: ct)) == 0)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["ownerId"] = ["No owner has this id."] });
        }
        var key = ApiKeyFormat.NewKey();
        var stored = await keys.CreateAsync(key, request.Name!, request.Role!, request.OwnerId, request.ExpiresAt, connection, ct);
        return TypedResults.Created(KeyResponse.Location(stored.Id), new Response(key, KeyResponse.From(stored)));
    }
}
