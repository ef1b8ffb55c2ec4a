using System.Security.Claims;
using Dapper;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Links;

internal static class UpdateLink
{
    /// <summary>A JSON merge patch: an absent field stays as it is, null clears it where that makes sense.</summary>
    internal sealed record Request(
        [property: CannotBeCleared] Patch<string?> Url = default,
        Patch<string?> Title = default,
        Patch<IReadOnlyList<string>?> Tags = default,
        Patch<DateTimeOffset?> ExpiresAt = default,
        Patch<DateTimeOffset?> ValidFrom = default,
        Patch<int?> MaxVisits = default,
        [property: CannotBeCleared] Patch<int?> RedirectType = default,
        [property: CannotBeCleared] Patch<bool?> ForwardQuery = default,
        Patch<string?> Password = default);

    internal sealed class Validator : AbstractValidator<Request>
    {
        public Validator(TimeProvider clock)
        {
            RuleFor(r => r.Url.Value).ValidTargetUrl().OverridePropertyName("url").When(r => r.Url.IsSet);
            RuleFor(r => r.Title.Value).ValidTitle().OverridePropertyName("title");
            RuleFor(r => r.Tags.Value).ValidTags().OverridePropertyName("tags");
            RuleFor(r => r.MaxVisits.Value).ValidMaxVisits().OverridePropertyName("maxVisits");
            RuleFor(r => r.Password.Value).ValidPassword().OverridePropertyName("password");
            RuleFor(r => r.RedirectType.Value)
                .NotNull().WithMessage("redirectType cannot be cleared.")
                .ValidRedirectType()
                .OverridePropertyName("redirectType")
                .When(r => r.RedirectType.IsSet);
            RuleFor(r => r.ForwardQuery.Value)
                .NotNull().WithMessage("forwardQuery cannot be cleared.")
                .OverridePropertyName("forwardQuery")
                .When(r => r.ForwardQuery.IsSet);
            RuleFor(r => r.ExpiresAt.Value)
                .Must(expiresAt => DatabaseTime.Stored(expiresAt) > DatabaseTime.Stored(clock.GetUtcNow()))
                .WithMessage("expiresAt must be in the future.")
                .OverridePropertyName("expiresAt")
                .When(r => r.ExpiresAt.Value is not null);
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapPatch("/{code}", Handle)
            .WithName("UpdateLink")
            .WithSummary("Change a link (JSON merge patch)")
            .WithDescription("Absent fields stay unchanged; null clears title, tags, expiresAt, validFrom, maxVisits and " +
                             "password (the link no longer asks for one). " +
                             "The code cannot change. Accepts application/json and application/merge-patch+json.")
            .WithExamples(request: new { url = "https://example.com/summer-sale", title = (string?)null, maxVisits = 20000 }, response: LinkExamples.Link)
            .Accepts<Request>("application/merge-patch+json", "application/json")
            .Requires(ApiPolicies.WriteLinks)
            .Validate<Request>()
            .ReadsJsonBody()
            .ProducesProblems(LinkProblems.LinkNotFound, LinkProblems.UrlBlocked, LinkProblems.RedirectLoop, CommonProblems.BucketMoving)
            .TakesCodeInPath(parentAnswersOtherMethods: true);

    public static async Task<Results<Ok<LinkResponse>, ValidationProblem, ProblemHttpResult>> Handle(
        string code, Request request, ClaimsPrincipal user, LinkTargets targets, Databases databases, LinkCache cache,
        ShortDomain domain, TimeProvider clock, CancellationToken ct)
    {
        const string update = """
            UPDATE links
            SET url = @Url, title = @Title, redirect_type = @RedirectType, forward_query = @ForwardQuery,
                valid_from = @ValidFrom, expires_at = @ExpiresAt, max_visits = @MaxVisits, updated_at = @UpdatedAt,
                password_hash = @PasswordHash
            WHERE id = @Id
            """;
        if (!LinkRules.IsPossibleCode(code))
        {
            return LinkProblems.NotFound(code);
        }
        await using var connection = await databases.OpenForCodeWriteAsync(domain.Name, code, ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var current = await LinkSql.FindVisibleForUpdateAsync(connection, transaction, domain.Name, code, ApiCaller.From(user), ct);
        if (current is null)
        {
            return LinkProblems.NotFound(code);
        }
        var changed = Apply(request, current, clock.GetUtcNow());
        if (request.Url.IsSet && targets.Refusal(changed.Url) is var (type, detail))
        {
            return Problems.Of(type, detail);
        }
        if (changed.ExpiresAt is { } expiresAt && changed.ValidFrom is { } validFrom && expiresAt <= validFrom)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["expiresAt"] = ["expiresAt must be after validFrom."],
            });
        }
        await connection.ExecuteAsync(new CommandDefinition(update, changed, transaction, cancellationToken: ct));
        if (request.Tags.IsSet)
        {
            await LinkSql.ReplaceTagsAsync(connection, transaction, current.Id, LinkRules.DistinctTags(request.Tags.Value), ct);
        }
        var tags = await LinkSql.TagsOfAsync(connection, current.Id, ct, transaction);
        await transaction.CommitAsync(CancellationToken.None);
        await cache.ForgetAsync(domain.Name, code);
        return TypedResults.Ok(LinkResponse.From(changed, tags, domain));
    }

    internal static LinkRow Apply(Request request, LinkRow current, DateTimeOffset now)
    {
        var url = current.Url;
        if (request.Url.IsSet)
        {
            LinkRules.TryNormalizeUrl(request.Url.Value, out url, out _);
        }
        return current with
        {
            Url = url,
            Title = request.Title.Or(current.Title),
            RedirectType = request.RedirectType.Or(current.RedirectType) ?? current.RedirectType,
            ForwardQuery = request.ForwardQuery.Or(current.ForwardQuery) ?? current.ForwardQuery,
            ValidFrom = request.ValidFrom.IsSet ? DatabaseTime.Stored(request.ValidFrom.Value) : current.ValidFrom,
            ExpiresAt = request.ExpiresAt.IsSet ? DatabaseTime.Stored(request.ExpiresAt.Value) : current.ExpiresAt,
            MaxVisits = request.MaxVisits.Or(current.MaxVisits),
            PasswordHash = request.Password.IsSet
                ? request.Password.Value is { } password ? LinkPasswords.Hash(password) : null
                : current.PasswordHash,
            UpdatedAt = DatabaseTime.Stored(now),
        };
    }
}
