using System.Diagnostics.Metrics;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Infrastructure.Web;

/// <summary>
/// The API's limits, counted per instance by the rate-limiting middleware:
/// <list type="bullet">
/// <item>requests per key per minute (token bucket: bursts up to the minute's quota, refilled steadily);</item>
/// <item>requests served at once, below the database pool, the rest queued in arrival order, so that a burst
/// waits its turn or gets 503 and redirects always find a connection.</item>
/// </list>
/// A rate limit answers 429 with Retry-After; a full queue 503 with Retry-After. The redirect counts its own
/// limit per client address with a <see cref="Quota"/>, since it runs short-circuited, past the middleware.
/// </summary>
internal static class RateLimits
{
    private const string ApiConcurrency = "api-concurrency";

    public static IServiceCollection AddRateLimits(this IServiceCollection services)
    {
        services.AddSingleton<RateLimitRejections>();
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<ShortlinkOptions>>((limiter, shortlink) =>
        {
            var options = shortlink.Value;
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = RejectAsync;
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context => Partition(context, options.RateLimits));
            limiter.AddConcurrencyLimiter(ApiConcurrency, concurrency =>
            {
                concurrency.PermitLimit = options.Api.MaxConcurrentRequests;
                concurrency.QueueLimit = options.Api.MaxQueuedRequests;
                concurrency.QueueProcessingOrder = QueueProcessingOrder.OldestFirst;
            });
        });
        return services;
    }

    /// <summary>The group's endpoints count against their key's quota and the API's concurrency limit.</summary>
    public static RouteGroupBuilder WithApiLimits(this RouteGroupBuilder group)
    {
        group.RequireRateLimiting(ApiConcurrency);
        group.WithMetadata(new PerKey());
        group.AddEndpointFilter((context, next) =>
        {
            context.HttpContext.RequestServices.GetRequiredService<Outages>().ApiQueue.Succeeded();
            return next(context);
        });
        group.ProducesProblems(CommonProblems.TooManyRequests);
        group.WithResponseHeader(StatusCodes.Status429TooManyRequests, "Retry-After", "Seconds until the quota has room again.");
        return group;
    }

    /// <summary>
    /// Declares the 429 of a limit the endpoint counts itself (the redirect's, per client address: it runs short-circuited,
    /// past this middleware).
    /// </summary>
    public static RouteHandlerBuilder AnswersTooManyRequests(this RouteHandlerBuilder builder) =>
        builder.ProducesProblems(CommonProblems.TooManyRequests)
            .WithResponseHeader(StatusCodes.Status429TooManyRequests, "Retry-After", "Seconds until the quota has room again.");

    /// <summary>
    /// A bucket that holds a minute's quota and refills at exactly the quota a minute: a sixtieth of it about
    /// every second, or, below 60 a minute, one token every 60/quota seconds.
    /// </summary>
    public static TokenBucketRateLimiterOptions PerMinute(int quota)
    {
        var tokensPerPeriod = Math.Max(1, quota / 60);
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = quota,
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1) * tokensPerPeriod / quota,
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }

    private static RateLimitPartition<string> Partition(HttpContext context, RateLimitOptions limits)
    {
        var metadata = context.GetEndpoint()?.Metadata;
        if (metadata?.GetMetadata<PerKey>() is not null && limits.ApiRequestsPerKeyPerMinute > 0
            && context.User.FindFirst(ApiCaller.KeyIdClaim)?.Value is { } keyId)
        {
            return RateLimitPartition.GetTokenBucketLimiter("key:" + keyId, _ => PerMinute(limits.ApiRequestsPerKeyPerMinute));
        }
        return RateLimitPartition.GetNoLimiter("unlimited");
    }

    private static async ValueTask RejectAsync(OnRejectedContext context, CancellationToken ct)
    {
        var http = context.HttpContext;
        if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
        {
            await TooManyRequestsAsync(http, RetryAfterSeconds(retryAfter), "The quota for this key or address is used up; retry after Retry-After seconds.");
            return;
        }
        // Only the concurrency limiter refuses without a time to wait: its queue is full.
        http.RequestServices.GetRequiredService<Outages>().ApiQueue.Failed(reason: "every permit is taken and the queue is full");
        http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        http.Response.Headers.RetryAfter = "1";
        await WriteAsync(http, CommonProblems.ServiceUnavailable, "Too many API requests are waiting; retry after the number of seconds in Retry-After.");
    }

    /// <summary>
    /// Seconds a refused client is told to wait for a refill the limiter expects after the given time. A bucket
    /// refills on a timer, in fractions of a token, so the whole token may come one tick later than that; a
    /// second more keeps Retry-After a promise rather than a guess.
    /// </summary>
    public static int RetryAfterSeconds(TimeSpan refill) => (int)Math.Ceiling(refill.TotalSeconds) + 1;

    /// <summary>An endpoint's own 429, for a limit that only the endpoint can count.</summary>
    public static IResult TooManyRequests(int retryAfterSeconds, string detail) => new Refusal(retryAfterSeconds, detail);

    private sealed class Refusal(int retryAfterSeconds, string detail) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => TooManyRequestsAsync(httpContext, retryAfterSeconds, detail);
    }

    /// <summary>429 with Retry-After: a page for a browser on a visitor-facing path, problem+json otherwise.</summary>
    public static async Task TooManyRequestsAsync(HttpContext http, int retryAfterSeconds, string detail)
    {
        http.RequestServices.GetRequiredService<RateLimitRejections>().Rejected(http);
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        http.Response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!http.Request.Path.StartsWithSegments("/api") && ErrorPage.IsWanted(http.Request))
        {
            await ErrorPage.WriteAsync(http, StatusCodes.Status429TooManyRequests, CommonProblems.TooManyRequests.Title,
                $"Please try again in {retryAfterSeconds} second(s).");
            return;
        }
        await WriteAsync(http, CommonProblems.TooManyRequests, detail);
    }

    private static ValueTask WriteAsync(HttpContext http, ProblemType type, string detail) =>
        http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = new ProblemDetails { Status = type.Status, Type = type.Uri, Title = type.Title, Detail = detail },
        });

    private sealed record PerKey;

}

/// <summary>
/// Every 429 the service answers, whichever limit refused it: a key's API quota, an address's redirects, or an
/// address's refused keys. The label says which side of the service refused (api or redirect), never who.
/// </summary>
internal sealed class RateLimitRejections(IMeterFactory meters)
{
    private static readonly KeyValuePair<string, object?> Api = new("surface", "api");
    private static readonly KeyValuePair<string, object?> Redirect = new("surface", "redirect");

    private readonly Counter<long> rejections = meters.Create(ShortlinkMetrics.MeterName).CreateCounter<long>(
        "shortlink.rate_limit.rejections", "{request}", "Requests refused with 429 by a rate limit").StartingAtZero("surface", "api", "redirect");

    public void Rejected(HttpContext http) => rejections.Add(1, http.Request.Path.StartsWithSegments("/api") ? Api : Redirect);
}
