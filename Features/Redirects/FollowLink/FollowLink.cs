using System.Net;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.Extensions.Options;
using Shortlink.Features.Analytics;
using Shortlink.Features.Blocklist;
using Shortlink.Features.Links;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Telemetry;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Redirects;

/// <summary>
/// The visitor's redirect. A link that is not valid yet answers 404 (to a visitor it does not exist
/// yet); an expired link or one whose visit limit is used up answers 410. A link with a password asks for
/// it: a browser gets a form that posts it back here, an API client sends it in X-Link-Password.
/// </summary>
internal static class FollowLink
{
    public const string PasswordHeader = "X-Link-Password";
    private const string TargetHeader = "The link's target, with the visitor's query appended when forwardQuery is on.";
    private const int MaxFormBytes = 4 * 1024;

    /// <summary>The password form as it is posted: the password and the anti-forgery token the form carried.</summary>
    internal sealed record PasswordForm(string Password, string Token);

    public static IServiceCollection AddRedirects(this IServiceCollection services) =>
        services.AddSingleton<WrongPasswords>().AddSingleton<RedirectOutcomes>().AddSingleton<Visits>()
            .Configure<RouteOptions>(routes => routes.SetParameterPolicy<LinkCodeConstraint>(LinkCodeConstraint.Name));

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        // Visits is a singleton handed to the handler here: a parameter from services would open a request scope
        // for every visit.
        var visits = endpoints.ServiceProvider.GetRequiredService<Visits>();
        endpoints.MapMethods("/{code}", [HttpMethods.Get, HttpMethods.Head], (string code, HttpContext context) => Handle(code, context, visits))
            .WithName("FollowLink")
            .WithTags("Redirects")
            .WithSummary("Redirect a visitor to the link's target")
            .WithDescription("Answers the link's redirect type with its exact Location. With forwardQuery the " +
                             "visitor's query string is appended to the target's. HEAD never uses up a visit. " +
                             $"A link with a password answers 401 until {PasswordHeader} carries it (percent-encoded " +
                             "as UTF-8, like a form value); a browser gets a form instead.")
            .WithRequestHeader(PasswordHeader, "The link's password, for a link that has one (percent-encoded as UTF-8).")
            .Produces(StatusCodes.Status301MovedPermanently)
            .Produces(StatusCodes.Status302Found)
            .Produces(StatusCodes.Status307TemporaryRedirect)
            .Produces(StatusCodes.Status308PermanentRedirect)
            .WithResponseHeader(StatusCodes.Status301MovedPermanently, "Location", TargetHeader)
            .WithResponseHeader(StatusCodes.Status302Found, "Location", TargetHeader)
            .WithResponseHeader(StatusCodes.Status307TemporaryRedirect, "Location", TargetHeader)
            .WithResponseHeader(StatusCodes.Status308PermanentRedirect, "Location", TargetHeader)
            .AsRedirect()
            .ProducesHtmlPages(StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound, StatusCodes.Status410Gone,
                StatusCodes.Status429TooManyRequests)
            .LoggedAsVisit()
            // Past routing, the pipeline is the API's (authentication, its limits, body reading, OpenAPI): a visit
            // needs none of it.
            .ShortCircuit();
        endpoints.MapPost($"/{{code:{LinkCodeConstraint.Name}}}", Unlock)
            .WithName("UnlockLink")
            .WithTags("Redirects")
            .WithSummary("Give a link's password through its form")
            .WithDescription("Where the password form posts: with the right password and the form's anti-forgery token " +
                             "(and its cookie), 303 to the link's target, which a browser follows with GET.")
            .ReadsFormBody<PasswordForm>(MaxFormBytes)
            .Produces(StatusCodes.Status303SeeOther)
            .WithResponseHeader(StatusCodes.Status303SeeOther, "Location", TargetHeader)
            .ProducesProblems(LinkProblems.FormRejected)
            .AsRedirect()
            .ProducesHtmlPages(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound,
                StatusCodes.Status410Gone, StatusCodes.Status429TooManyRequests);
    }

    private static RouteHandlerBuilder AsRedirect(this RouteHandlerBuilder builder) =>
        builder
            .ProducesProblems(LinkProblems.LinkNotFound, LinkProblems.LinkExpired, LinkProblems.VisitLimitReached, LinkProblems.LinkBlocked,
                LinkProblems.PasswordRequired, LinkProblems.PasswordWrong)
            .WithResponseHeader(StatusCodes.Status401Unauthorized, "WWW-Authenticate", $"{PasswordScheme}: the link wants its password.")
            .TakesCodeInPath()
            .ProducesProblems(CommonProblems.ServiceUnavailable, CommonProblems.InternalError)
            .AnswersTooManyRequests();

    private const string PasswordScheme = "Link-Password";

    public static ValueTask<IResult> Handle(string code, HttpContext context, Visits visits)
    {
        var sent = context.Request.Headers[PasswordHeader];
        // Sent twice is never right; a value that is not valid percent-encoding is taken as it is.
        var password = sent.Count switch
        {
            0 => null,
            1 => Uri.UnescapeDataString(sent[0] ?? ""),
            _ => "",
        };
        return visits.FollowAsync(code, context, password, afterForm: false);
    }

    /// <remarks>The route's constraint has already made sure that the code could be one.</remarks>
    public static async Task<IResult> Unlock(string code, HttpContext context, IAntiforgery antiforgery, Visits visits)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            Visits.NeverCache(context.Response);
            return visits.Refused(RedirectRefusal.FormRejected, ErrorPage.IsWanted(context.Request)
                ? ErrorPage.Result(StatusCodes.Status400BadRequest, LinkProblems.FormRejected.Title,
                    "The form could not be accepted (cookies may be blocked, or it came from another site). Open the link again.")
                : Problems.Of(LinkProblems.FormRejected,
                    $"The form's anti-forgery token is missing or does not match its cookie; API clients send the password in {PasswordHeader}."));
        }
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var password = form["password"] is { Count: 1 } given ? given[0] ?? "" : null;
        return await visits.FollowAsync(code, context, password, afterForm: true);
    }
}

/// <summary>
/// Only what could be a link's code: POST /metrics or /swagger is no password form. Routing also asks it about
/// the literal paths (<see cref="IParameterLiteralNodeMatchingPolicy"/>), so that /metrics keeps answering 405
/// with the methods it really has.
/// </summary>
internal sealed class LinkCodeConstraint : IRouteConstraint, IParameterLiteralNodeMatchingPolicy
{
    public const string Name = "linkcode";

    public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection) =>
        values.TryGetValue(routeKey, out var value) && value is string code && IsCode(code);

    public bool MatchesLiteral(string parameterName, string literal) => IsCode(literal);

    private static bool IsCode(string value) => LinkRules.IsPossibleCode(value) && !LinkRules.IsReserved(value);
}

/// <summary>One visit to a link, from the lookup to the answer; shared by the redirect and the password form.</summary>
internal sealed class Visits(LinkCache links, VisitCounters counters, ShortDomain domain, DomainBlocklist blocklist, WrongPasswords wrongPasswords,
    VisitRecorder recorder, RedirectOutcomes outcomes, IAntiforgery antiforgery, IOptions<ShortlinkOptions> options, TimeProvider clock) : IDisposable
{
    /// <summary>Per client address, as the visitor's quota: counted here since the redirect runs short-circuited.</summary>
    private readonly Quota perClient = new(options.Value.RateLimits.RedirectsPerClientPerMinute);

    public async ValueTask<IResult> FollowAsync(string code, HttpContext context, string? password, bool afterForm)
    {
        var ct = context.RequestAborted;
        if (!perClient.IsOff && perClient.Spend(ClientNetwork.ClientKey(context)) is { } wait)
        {
            return Refused(RedirectRefusal.RateLimited,
                RateLimits.TooManyRequests(wait, "The quota for this address is used up; retry after Retry-After seconds."));
        }
        if (!LinkRules.IsPossibleCode(code))
        {
            return Refused(RedirectRefusal.NotFound, NotFound(context, code));
        }
        var cached = await links.FindAsync(domain.Name, code, ct);
        var now = clock.GetUtcNow().UtcDateTime;
        if (cached is not { Row: var link } || link.ValidFrom > now)
        {
            return Refused(RedirectRefusal.NotFound, NotFound(context, code));
        }
        // Checked on every redirect against the list in memory: blocking a domain stops its links at once, keeping them.
        if (blocklist.Covers(cached.TargetHost, cached.TargetIsAddress))
        {
            return Refused(RedirectRefusal.Blocked,
                Gone(context, LinkProblems.LinkBlocked, $"The link '{code}' leads to a site that is blocked on this service."));
        }
        if (link.ExpiresAt <= now)
        {
            return Refused(RedirectRefusal.Expired, Gone(context, LinkProblems.LinkExpired, $"The link '{code}' expired."));
        }
        if (link.PasswordHash is not null && RefusePassword(context, link, password) is { } refusal)
        {
            return refusal;
        }
        if (link.MaxVisits is not null && !await counters.TryUseAsync(link, HttpMethods.IsHead(context.Request.Method), ct))
        {
            return Refused(RedirectRefusal.LimitReached,
                Gone(context, LinkProblems.VisitLimitReached, $"The link '{code}' has been visited as often as it allows."));
        }
        var location = link.ForwardQuery ? QueryStringMerge.Merge(link.Url, context.Request.QueryString.Value) : link.Url;
        // Whoever gave the password may follow the link; no cache may hand the redirect to anyone else.
        context.Response.Headers.CacheControl = link.PasswordHash is null ? CacheControl(link, options.Value.Redirects, now) : "private, no-store";
        // 303 after the form, whatever the link's type: a 307 or 308 would make the browser post the password on to the target.
        var status = afterForm ? StatusCodes.Status303SeeOther : link.RedirectType;
        outcomes.Redirected(status);
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            recorder.Record(context, link, now);
        }
        // Written here rather than through a redirect result, which would look up a logger for every visit.
        context.Response.StatusCode = status;
        context.Response.Headers.Location = location;
        return Results.Empty;
    }

    /// <summary>
    /// Null when the password is right. Guesses are limited before the (deliberately slow) check runs, and every
    /// answer here is private to its visitor.
    /// </summary>
    private IResult? RefusePassword(HttpContext context, LinkRow link, string? password)
    {
        NeverCache(context.Response);
        if (password is null)
        {
            return Refused(RedirectRefusal.PasswordRequired, AskForPassword(context, LinkProblems.PasswordRequired,
                $"The link '{link.Code}' needs a password: send it in {FollowLink.PasswordHeader}.", null));
        }
        var client = ClientNetwork.ClientKey(context);
        if (wrongPasswords.SecondsUntilAttempt(link.Id, client) is { } wait)
        {
            return Refused(RedirectRefusal.RateLimited, RateLimits.TooManyRequests(wait,
                "Too many wrong passwords for this link or from this address; retry after Retry-After seconds."));
        }
        if (LinkPasswords.Verifies(link.PasswordHash!, password))
        {
            return null;
        }
        wrongPasswords.Record(link.Id, client);
        return Refused(RedirectRefusal.PasswordWrong, AskForPassword(context, LinkProblems.PasswordWrong,
            $"The password for the link '{link.Code}' is wrong.", "That password is not right. Try again."));
    }

    private IResult AskForPassword(HttpContext context, ProblemType type, string detail, string? formMessage)
    {
        context.Response.Headers.WWWAuthenticate = "Link-Password";
        if (!ErrorPage.IsWanted(context.Request))
        {
            return Problems.Of(type, detail);
        }
        var token = antiforgery.GetAndStoreTokens(context).RequestToken;
        // GetAndStoreTokens sets its own no-cache headers; this answer must not be stored at all.
        NeverCache(context.Response);
        var message = formMessage is null ? "" : $"<p role=\"alert\">{WebUtility.HtmlEncode(formMessage)}</p>";
        // No action: the form posts to the very URL it came from, query string included, so it is forwarded too.
        return ErrorPage.HtmlResult(StatusCodes.Status401Unauthorized, "This link is protected", $"""
            {ErrorPage.Paragraph("Enter the link's password to continue.")}{message}
            <form method="post"><input type="hidden" name="token" value="{WebUtility.HtmlEncode(token)}">
            <label for="password">Password</label>
            <input id="password" name="password" type="password" required autofocus autocomplete="off" maxlength="{LinkPasswords.MaxLength}">
            <button type="submit">Continue</button></form>
            """);
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

    /// <summary>Counts the refusal in shortlink_redirects_total and hands its answer on.</summary>
    public IResult Refused(RedirectRefusal refusal, IResult answer)
    {
        outcomes.Refused(refusal);
        return answer;
    }

    public void Dispose() => perClient.Dispose();

    /// <summary>
    /// A 404 or 410 is a page for a browser and problem+json for anyone else, so it varies by Accept; and
    /// no cache may keep it, because a link created or changed a moment later must redirect at once.
    /// </summary>
    internal static void NeverCache(HttpResponse response)
    {
        response.Headers.Vary = "Accept";
        response.Headers.CacheControl = "no-store";
    }
}
