using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Shortlink.Features.Blocklist;
using Shortlink.Features.Links;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Telemetry;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Redirects;

/// <summary>
/// The visitor's redirect. A link that is not valid yet answers 404 (to a visitor it does not exist
/// yet); an expired link or one whose visit limit is used up answers 410.
/// </summary>
internal static class FollowLink
{
    private const string TargetHeader = "The link's target, with the visitor's query appended when forwardQuery is on.";

    public static void Map(IEndpointRouteBuilder endpoints) =>
        endpoints.MapMethods("/{code}", [HttpMethods.Get, HttpMethods.Head], Handle)
            .WithName("FollowLink")
            .WithTags("Redirects")
            .WithSummary("Redirect a visitor to the link's target")
            .WithDescription("Answers the link's redirect type with its exact Location. With forwardQuery the " +
                             "visitor's query string is appended to the target's. HEAD never uses up a visit.")
            .Produces(StatusCodes.Status301MovedPermanently)
            .Produces(StatusCodes.Status302Found)
            .Produces(StatusCodes.Status307TemporaryRedirect)
            .Produces(StatusCodes.Status308PermanentRedirect)
            .WithResponseHeader(StatusCodes.Status301MovedPermanently, "Location", TargetHeader)
            .WithResponseHeader(StatusCodes.Status302Found, "Location", TargetHeader)
            .WithResponseHeader(StatusCodes.Status307TemporaryRedirect, "Location", TargetHeader)
            .WithResponseHeader(StatusCodes.Status308PermanentRedirect, "Location", TargetHeader)
            .ProducesProblems(LinkProblems.LinkNotFound, LinkProblems.LinkExpired, LinkProblems.VisitLimitReached, LinkProblems.LinkBlocked)
            .TakesCodeInPath()
            .ProducesProblems(CommonProblems.ServiceUnavailable, CommonProblems.InternalError)
            .LimitedPerClient()
            .ProducesHtmlPages(StatusCodes.Status404NotFound, StatusCodes.Status410Gone, StatusCodes.Status429TooManyRequests);

    public static async Task<IResult> Handle(string code, HttpContext context, Databases databases, ShortDomain domain,
        DomainBlocklist blocklist, IOptions<ShortlinkOptions> options, TimeProvider clock)
    {
        var ct = context.RequestAborted;
        if (!LinkRules.IsPossibleCode(code))
        {
            return NotFound(context, code);
        }
        await using var connection = await databases.OpenForCodeAsync(code, ct);
        var link = await LinkSql.FindAsync(connection, domain.Name, code, ct);
        var now = clock.GetUtcNow().UtcDateTime;
        if (link is null || link.ValidFrom > now)
        {
            return NotFound(context, code);
        }
        // Checked on every redirect against the list in memory: blocking a domain stops its links at once, keeping them.
        if (blocklist.Covering(link.Url) is not null)
        {
            return Gone(context, LinkProblems.LinkBlocked, $"The link '{code}' leads to a site that is blocked on this service.");
        }
        if (link.ExpiresAt <= now)
        {
            return Gone(context, LinkProblems.LinkExpired, $"The link '{code}' expired.");
        }
        if (link.MaxVisits is not null && !await TryUseVisitAsync(connection, link, HttpMethods.IsHead(context.Request.Method), ct))
        {
            return Gone(context, LinkProblems.VisitLimitReached, $"The link '{code}' has been visited as often as it allows.");
        }
        var location = link.ForwardQuery ? QueryStringMerge.Merge(link.Url, context.Request.QueryString.Value) : link.Url;
        context.Response.Headers.CacheControl = CacheControl(link, options.Value.Redirects, now);
        ShortlinkMetrics.Redirected(link.RedirectType);
        return link.RedirectType switch
        {
            StatusCodes.Status301MovedPermanently => TypedResults.Redirect(location, permanent: true),
            StatusCodes.Status307TemporaryRedirect => TypedResults.Redirect(location, preserveMethod: true),
            StatusCodes.Status308PermanentRedirect => TypedResults.Redirect(location, permanent: true, preserveMethod: true),
            _ => TypedResults.Redirect(location),
        };
    }

    /// <summary>
    /// Counts the visit against the limit in one conditional update, so concurrent visitors can
    /// never go past it. HEAD requests only look.
    /// </summary>
    private static async Task<bool> TryUseVisitAsync(System.Data.Common.DbConnection connection, LinkRow link, bool onlyLook,
        CancellationToken ct)
    {
        const string sql = """
            UPDATE links SET visit_count = visit_count + 1
            WHERE id = @Id AND deleted_at IS NULL AND visit_count < max_visits
            """;
        if (onlyLook)
        {
            return link.VisitCount < link.MaxVisits;
        }
        return await connection.ExecuteAsync(new CommandDefinition(sql, new { link.Id }, cancellationToken: ct)) == 1;
    }

    /// <summary>
    /// Temporary redirects are never cached so every click reaches the service; permanent ones may be,
    /// but never past the link's expiry, and not at all while visits are being counted against a limit.
    /// </summary>
    internal static string CacheControl(LinkRow link, RedirectOptions options, DateTime now)
    {
        const string uncached = "private, max-age=0";
        if (link.RedirectType is not (StatusCodes.Status301MovedPermanently or StatusCodes.Status308PermanentRedirect)
            || link.MaxVisits is not null)
        {
            return uncached;
        }
        var maxAge = options.PermanentMaxAgeSeconds;
        if (link.ExpiresAt is { } expiresAt)
        {
            maxAge = (int)Math.Min(maxAge, Math.Floor((expiresAt - now).TotalSeconds));
        }
        return maxAge <= 0 ? uncached : $"public, max-age={maxAge}";
    }

    private static IResult NotFound(HttpContext context, string code)
    {
        NeverCache(context.Response);
        return ErrorPage.IsWanted(context.Request)
            ? ErrorPage.Result(StatusCodes.Status404NotFound, "Link not found", "This short link does not exist.")
            : LinkProblems.NotFound(code);
    }

    private static IResult Gone(HttpContext context, ProblemType type, string detail)
    {
        NeverCache(context.Response);
        return ErrorPage.IsWanted(context.Request)
            ? ErrorPage.Result(StatusCodes.Status410Gone, type.Title, "This short link is no longer available.")
            : Problems.Of(type, detail);
    }

    /// <summary>
    /// A 404 or 410 is a page for a browser and problem+json for anyone else, so it varies by Accept; and
    /// no cache may keep it, because a link created or changed a moment later must redirect at once.
    /// </summary>
    private static void NeverCache(HttpResponse response)
    {
        response.Headers.Vary = "Accept";
        response.Headers.CacheControl = "no-store";
    }
}
