using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Infrastructure.Security;

/// <summary>The problem types of authentication and authorization.</summary>
internal static class SecurityProblems
{
    public static readonly ProblemType Unauthorized = new("unauthorized", 401, "An API key is required");
    public static readonly ProblemType Forbidden = CommonProblems.Forbidden;
}

/// <summary>
/// Reads the API key from <c>Authorization: Bearer</c> or <c>X-Api-Key</c>. A missing, malformed,
/// unknown, revoked or expired key is a 401 with <c>WWW-Authenticate: Bearer</c>; a key whose role may not
/// do what it asked is a 403. Both are problem documents that never repeat the key.
/// </summary>
internal sealed class ApiKeyAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger,
    UrlEncoder encoder, ApiKeyStore keys, FailedAuthentications failures, TimeProvider clock, IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";
    private const string RetryAfterItem = "shortlink:failed-authentications-retry-after";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = Presented(Request);
        if (presented is null)
        {
            return AuthenticateResult.NoResult();
        }
        var client = ClientNetwork.ClientKey(Context);
        if (!ApiKeyFormat.IsWellFormed(presented))
        {
            return Refused(client, "malformed", "The API key is malformed: keys look like sl_live_ followed by 43 letters and digits.");
        }
        var hash = ApiKeyFormat.Hash(presented);
        if (failures.SecondsUntilRoom(client) is { } wait && !keys.WasRecentlyValid(hash))
        {
            Context.Items[RetryAfterItem] = wait;
            failures.Throttled();
            return AuthenticateResult.Fail("Too many refused keys from this address.");
        }
        var key = await keys.FindAsync(hash, Context.RequestAborted);
        if (key is null)
        {
            return Refused(client, "unknown", "The API key is not known.");
        }
        if (key.RevokedAt is not null)
        {
            return Refused(client, "revoked", "The API key has been revoked.");
        }
        if (!key.IsUsableAt(clock.GetUtcNow().UtcDateTime))
        {
            return Refused(client, "expired", "The API key has expired.");
        }
        keys.RememberValid(hash);
        await keys.TouchAsync(key, Context.RequestAborted);
        var identity = new ClaimsIdentity(
        [
            new Claim(ApiCaller.KeyIdClaim, key.Id.ToString()),
            new Claim(ApiCaller.OwnerIdClaim, key.OwnerId.ToString()),
            new Claim(ClaimTypes.Name, key.Name),
            new Claim(ClaimTypes.Role, key.Role),
        ], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    private AuthenticateResult Refused(string client, string reasonLabel, string reason)
    {
        if (failures.Record(client, reasonLabel) is { } retryAfter)
        {
            Context.Items[RetryAfterItem] = retryAfter;
        }
        return AuthenticateResult.Fail(reason);
    }

    /// <summary>The key sent with the request, if any: Authorization: Bearer first, then X-Api-Key.</summary>
    internal static string? Presented(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }
        return request.Headers.TryGetValue(HeaderName, out var apiKey) ? apiKey.ToString().Trim() : null;
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var failure = (await HandleAuthenticateOnceSafeAsync()).Failure?.Message;
        if (Context.Items[RetryAfterItem] is int retryAfter)
        {
            await RateLimits.TooManyRequestsAsync(Context, retryAfter,
                "Too many refused API keys came from this address; retry after Retry-After seconds.");
            return;
        }
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = failure is null ? "Bearer" : "Bearer error=\"invalid_token\"";
        await WriteAsync(SecurityProblems.Unauthorized,
            failure ?? "Send an API key as Authorization: Bearer <key> or X-Api-Key: <key>.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        return WriteAsync(SecurityProblems.Forbidden,
            $"A key with the role '{Context.User.FindFirstValue(ClaimTypes.Role)}' may not do this; see the README for what each role may do.");
    }

    private Task WriteAsync(ProblemType type, string detail) =>
        problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = new ProblemDetails { Status = type.Status, Type = type.Uri, Title = type.Title, Detail = detail },
        }).AsTask();
}
