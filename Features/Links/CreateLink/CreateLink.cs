using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Telemetry;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Links;

internal static class CreateLink
{
    internal sealed record Request(
        [property: Required] string? Url,
        string? Slug = null,
        string? Title = null,
        IReadOnlyList<string>? Tags = null,
        DateTimeOffset? ExpiresAt = null,
        DateTimeOffset? ValidFrom = null,
        int? MaxVisits = null,
        int? RedirectType = null,
        bool? ForwardQuery = null,
        string? Password = null) : IHoldsSecrets
    {
        /// <summary>The password stays out of the idempotency record's request hash: only whether one was given.</summary>
        public object WithoutSecrets() => this with { Password = Password is null ? null : IHoldsSecrets.Withheld };
    }

    internal sealed class Validator : AbstractValidator<Request>
    {
        public Validator(TimeProvider clock)
        {
            RuleFor(r => r.Url).ValidTargetUrl();
            RuleFor(r => r.Slug)
                .Must(slug => LinkRules.IsWellFormedSlug(slug!))
                .WithMessage($"The slug must be {LinkRules.MinSlugLength} to {LinkRules.MaxSlugLength} characters of A-Z, a-z, 0-9, '_' and '-'.")
                .Must(slug => !LinkRules.IsReserved(slug!))
                .WithMessage("This slug is reserved for the service's own paths.")
                .When(r => r.Slug is not null);
            RuleFor(r => r.Title).ValidTitle();
            RuleFor(r => r.Tags).ValidTags();
            RuleFor(r => r.RedirectType).ValidRedirectType();
            RuleFor(r => r.MaxVisits).ValidMaxVisits();
            RuleFor(r => r.Password).ValidPassword();
            // Compared as stored (to the millisecond), so that a request that passes can never become a
            // link that is never valid: 12:00:00.0004 and 12:00:00.0009 are the same stored instant.
            RuleFor(r => r.ExpiresAt)
                .Must(expiresAt => DatabaseTime.Stored(expiresAt) > DatabaseTime.Stored(clock.GetUtcNow()))
                .WithMessage("expiresAt must be in the future.")
                .When(r => r.ExpiresAt is not null);
            RuleFor(r => r.ExpiresAt)
                .Must((request, expiresAt) => DatabaseTime.Stored(expiresAt) > DatabaseTime.Stored(request.ValidFrom))
                .WithMessage("expiresAt must be after validFrom (to the millisecond).")
                .When(r => r.ExpiresAt is not null && r.ValidFrom is not null);
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapPost("/", Handle)
            .WithName("CreateLink")
            .WithSummary("Create a short link")
            .WithDescription("Creates a link with a generated 7-character code, or with the given slug. " +
                             "A password makes visitors give it before they are redirected; it is never returned (hasPassword). " +
                             "Send an Idempotency-Key header to make retries safe.")
            .WithExamples(request: LinkExamples.Create, response: LinkExamples.Link)
            .Requires(ApiPolicies.WriteLinks)
            .Validate<Request>()
            .ReadsJsonBody()
            .WithIdempotency<Request>()
            .WithResponseHeader(StatusCodes.Status201Created, "Location", "The new link's path in the API.")
            .ProducesProblems(LinkProblems.SlugTaken, LinkProblems.UrlBlocked, LinkProblems.RedirectLoop, LinkProblems.WriteConflict, CommonProblems.BucketMoving);

    public static async Task<Results<Created<LinkResponse>, ProblemHttpResult>> Handle(
        Request request, ClaimsPrincipal user, LinkTargets targets, Databases databases, LinkCache cache, ShortDomain domain,
        TimeProvider clock, CancellationToken ct)
    {
        var draft = Draft(request, ApiCaller.From(user), domain, clock.GetUtcNow());
        if (targets.Refusal(draft.Row.Url) is var (type, detail))
        {
            return Problems.Of(type, detail);
        }
        var (stored, contended, moving) = (await LinkInserts.InsertAsync(databases, [draft], ct))[0];
        if (moving is not null)
        {
            // Answered by the exception handler, with Retry-After, as every other write to a bucket being moved.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(moving);
        }
        if (contended)
        {
            return Problems.Of(LinkProblems.WriteConflict, LinkProblems.WriteConflictDetail);
        }
        if (stored is null)
        {
            return SlugTaken(draft.Row.Code);
        }
        // Someone may have tried the code before it existed: no instance may go on answering 404 for it.
        await cache.ForgetAsync(domain.Name, stored.Code);
        ShortlinkMetrics.LinkCreated();
        return TypedResults.Created(LinkResponse.Location(stored.Code), LinkResponse.From(stored, draft.Tags, domain));
    }

    /// <summary>Turns a validated request into the row to insert, owned by the caller's owner; shared with the bulk slice.</summary>
    internal static LinkDraft Draft(Request request, ApiCaller caller, ShortDomain domain, DateTimeOffset now)
    {
        LinkRules.TryNormalizeUrl(request.Url, out var url, out _);
        var utcNow = DatabaseTime.Stored(now);
        var row = new LinkRow(
            Id: LinkIds.Next(now),
            Domain: domain.Name,
            Code: request.Slug ?? LinkRules.NewCode(),
            OwnerId: caller.OwnerId,
            Url: url,
            Title: request.Title,
            RedirectType: request.RedirectType ?? StatusCodes.Status302Found,
            ForwardQuery: request.ForwardQuery ?? true,
            ValidFrom: DatabaseTime.Stored(request.ValidFrom),
            ExpiresAt: DatabaseTime.Stored(request.ExpiresAt),
            MaxVisits: request.MaxVisits,
            VisitCount: 0,
            CreatedAt: utcNow,
            UpdatedAt: utcNow,
            PasswordHash: request.Password is null ? null : LinkPasswords.Hash(request.Password));
        return new LinkDraft(row, LinkRules.DistinctTags(request.Tags), IsCustomSlug: request.Slug is not null, caller.KeyId);
    }

    private static ProblemHttpResult SlugTaken(string slug) =>
        Problems.Of(LinkProblems.SlugTaken, LinkProblems.SlugTakenDetail(slug), new Dictionary<string, object?> { ["slug"] = slug });
}
