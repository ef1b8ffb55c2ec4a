using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Infrastructure.Web;

/// <summary>
/// Caps the API requests served at once below the database pool, and queues the rest in arrival order:
/// a burst of any size waits its turn or is answered 503 with Retry-After, and redirects, which are not
/// limited, always find a free connection.
/// </summary>
internal static class ApiConcurrency
{
    public const string Policy = "api";

    public static IServiceCollection AddApiConcurrency(this IServiceCollection services)
    {
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<ShortlinkOptions>>((limiter, shortlink) =>
        {
            var api = shortlink.Value.Api;
            limiter.RejectionStatusCode = StatusCodes.Status503ServiceUnavailable;
            limiter.OnRejected = RejectAsync;
            limiter.AddConcurrencyLimiter(Policy, options =>
            {
                options.PermitLimit = api.MaxConcurrentRequests;
                options.QueueLimit = api.MaxQueuedRequests;
                options.QueueProcessingOrder = QueueProcessingOrder.OldestFirst;
            });
        });
        return services;
    }

    /// <summary>Limits the group's endpoints and notes when they are served again after a full queue.</summary>
    public static RouteGroupBuilder WithApiConcurrency(this RouteGroupBuilder group)
    {
        group.RequireRateLimiting(Policy);
        group.AddEndpointFilter((context, next) =>
        {
            context.HttpContext.RequestServices.GetRequiredService<Outages>().ApiQueue.Succeeded();
            return next(context);
        });
        return group;
    }

    private static ValueTask RejectAsync(OnRejectedContext context, CancellationToken ct)
    {
        var http = context.HttpContext;
        http.RequestServices.GetRequiredService<Outages>().ApiQueue.Failed(reason: "every permit is taken and the queue is full");
        http.Response.Headers.RetryAfter = "1";
        return http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = new ProblemDetails
            {
                Status = CommonProblems.ServiceUnavailable.Status,
                Type = CommonProblems.ServiceUnavailable.Uri,
                Title = CommonProblems.ServiceUnavailable.Title,
                Detail = "Too many API requests are waiting; retry after the number of seconds in Retry-After.",
            },
        });
    }
}
