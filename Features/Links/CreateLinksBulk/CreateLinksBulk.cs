using System.Security.Claims;
using System.Text.Json.Serialization;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using MySqlConnector;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Telemetry;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Links;

internal static class CreateLinksBulk
{
    public const int MaxItems = 1000;

    public const int MaxItemsWithPassword = 100;

    internal sealed record Request(IReadOnlyList<CreateLink.Request?>? Items) : IHoldsSecrets
    {
        public object WithoutSecrets() => this with { Items = Items?.Select(item => (CreateLink.Request?)item?.WithoutSecrets()).ToList() };
    }

    internal sealed record Response(int Created, int Failed, IReadOnlyList<ItemResult> Items) : IMayChangeNothing
    {
        [JsonIgnore]
        public bool ChangedNothing => Created == 0;
    }

    /// <summary>One item's outcome: the created link, or the problem that item alone had.</summary>
    internal sealed record ItemResult(int Index, int Status, LinkResponse? Link, ItemProblem? Problem);

    internal sealed record ItemProblem(string Type, string Title, int Status, string Detail, IDictionary<string, string[]>? Errors);

    internal sealed class Validator : AbstractValidator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.Items)
                .Cascade(CascadeMode.Stop)
                .NotNull().WithMessage("items is required.")
                .Must(items => items!.Count is >= 1 and <= MaxItems)
                .WithMessage($"items must hold 1 to {MaxItems} links; split larger imports into several requests.")
                // Each password is hashed slowly on purpose (tens of milliseconds), so one request may carry only so many.
                .Must(items => items!.Count(item => item?.Password is not null) <= MaxItemsWithPassword)
                .WithMessage($"At most {MaxItemsWithPassword} items of one request may have a password.");
        }
    }

    public static void Map(RouteGroupBuilder group, int maxBodyBytes) =>
        group.MapPost("/bulk", Handle)
            .WithName("CreateLinksBulk")
            .WithSummary("Create up to 1,000 links in one request")
            .WithDescription("Each item follows the rules of a single create and answers for itself: one bad item " +
                             "does not fail the others. Send an Idempotency-Key header to make retries safe.")
            .WithRequestSizeLimit(maxBodyBytes)
            .WithExamples(
                request: new { items = new object[] { LinkExamples.Create, new { url = "https://example.com/b" } } },
                response: new
                {
                    created = 1,
                    failed = 1,
                    items = new object[]
                    {
                        new { index = 0, status = 409, link = (object?)null, problem = new { type = LinkProblems.SlugTaken.Uri, title = LinkProblems.SlugTaken.Title, status = 409, detail = LinkProblems.SlugTakenDetail("spring-sale"), errors = (object?)null } },
                        new { index = 1, status = 201, link = LinkExamples.Link, problem = (object?)null },
                    },
                })
            .Requires(ApiPolicies.WriteLinks)
            .Validate<Request>()
            .ReadsJsonBody()
            .WithIdempotency<Request>();

    public static async Task<Ok<Response>> Handle(Request request, ClaimsPrincipal user, IValidator<CreateLink.Request> itemValidator,
        LinkTargets targets, Databases databases, LinkCache cache, ShortDomain domain, TimeProvider clock, CancellationToken ct)
    {
        var caller = ApiCaller.From(user);
        var items = request.Items!;
        var results = new ItemResult?[items.Count];
        var drafts = new List<(int Index, LinkDraft Draft)>(items.Count);
        var now = clock.GetUtcNow();
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is not { } item)
            {
                results[i] = Failure(i, CommonProblems.ValidationFailed, "The item is null; send a link object.", null);
                continue;
            }
            var validation = await itemValidator.ValidateAsync(item, ct);
            if (!validation.IsValid)
            {
                results[i] = Failure(i, CommonProblems.ValidationFailed, "One or more fields failed validation; see errors.",
                    validation.ToDictionary());
                continue;
            }
            var draft = CreateLink.Draft(item, caller, domain, now);
            if (targets.Refusal(draft.Row.Url) is var (type, detail))
            {
                results[i] = Failure(i, type, detail, null);
                continue;
            }
            drafts.Add((i, draft));
        }
        var inserted = await LinkInserts.InsertAsync(databases, drafts.ConvertAll(d => d.Draft), ct);
        foreach (var ((index, draft), (stored, contended, moving)) in drafts.Zip(inserted))
        {
            results[index] = moving is not null
                ? Failure(index, CommonProblems.BucketMoving, CommonProblems.BucketMovingDetail, null)
                : contended
                ? Failure(index, LinkProblems.WriteConflict, LinkProblems.WriteConflictDetail, null)
                : stored is not null
                ? new ItemResult(index, StatusCodes.Status201Created, LinkResponse.From(stored, draft.Tags, domain), null)
                : Failure(index, LinkProblems.SlugTaken, LinkProblems.SlugTakenDetail(draft.Row.Code), null);
        }
        var created = results.Count(r => r!.Link is not null);
        await cache.ForgetAsync(domain.Name, results.Where(r => r!.Link is not null).Select(r => r!.Link!.Code));
        ShortlinkMetrics.LinkCreated(created);
        return TypedResults.Ok(new Response(created, items.Count - created, results!));
    }

    private static ItemResult Failure(int index, ProblemType type, string detail, IDictionary<string, string[]>? errors) =>
        new(index, type.Status, null, new ItemProblem(type.Uri, type.Title, type.Status, detail, errors));
}
