using Microsoft.AspNetCore.Http.HttpResults;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Links;

/// <summary>The problem types of links and their redirects; the README lists them with the common ones.</summary>
internal static class LinkProblems
{
    public static readonly ProblemType LinkNotFound = new("link-not-found", 404, "Link not found");
    public static readonly ProblemType SlugTaken = new("slug-taken", 409, "The slug is taken");
    public static readonly ProblemType WriteConflict = new("write-conflict", 409, "Concurrent writes got in the way");
    public static readonly ProblemType InvalidCursor = new("invalid-cursor", 400, "The cursor is not valid");
    public static readonly ProblemType LinkExpired = new("link-expired", 410, "The link has expired");
    public static readonly ProblemType VisitLimitReached = new("visit-limit-reached", 410, "The link's visit limit is reached");
    public static readonly ProblemType LinkBlocked = new("link-blocked", 410, "The link leads to a blocked site");
    public static readonly ProblemType UrlBlocked = new("url-blocked", 422, "The URL's host is blocked");
    public static readonly ProblemType RedirectLoop = new("redirect-loop", 422, "The URL leads back to this service");
    public static readonly ProblemType PasswordRequired = new("link-password-required", 401, "The link needs a password");
    public static readonly ProblemType PasswordWrong = new("link-password-wrong", 401, "The password is wrong");
    public static readonly ProblemType FormRejected = new("form-rejected", 400, "The form was not accepted");

    public static ProblemHttpResult NotFound(string code) =>
        Problems.Of(LinkNotFound, $"No link with code '{code}' exists.");

    public static string SlugTakenDetail(string slug) =>
        $"The slug '{slug}' is already in use or was used by a deleted link; choose another.";

    public const string WriteConflictDetail =
        "Other requests were writing the same codes at the same moment and this one gave way; send it again.";
}
