using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Shortlink.Infrastructure.Telemetry;
using JsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace Shortlink.Infrastructure.Web;

/// <summary>
/// A stable RFC 9457 problem type: the URI clients branch on, the status it is answered with and its
/// title. Features declare their own beside their slices (LinkProblems); the README lists them all.
/// </summary>
internal sealed record ProblemType(string Name, int Status, string Title)
{
    public const string UriPrefix = "urn:shortlink:problem:";

    public string Uri => UriPrefix + Name;
}

/// <summary>Problem types that any endpoint can answer, whatever its feature.</summary>
internal static class CommonProblems
{
    public static readonly ProblemType ValidationFailed = new("validation-failed", 400, "The request is not valid");
    public static readonly ProblemType MalformedRequest = new("malformed-request", 400, "The request could not be read");
    public static readonly ProblemType NotFound = new("not-found", 404, "Not found");
    public static readonly ProblemType Forbidden = new("forbidden", 403, "Not allowed");
    public static readonly ProblemType MethodNotAllowed = new("method-not-allowed", 405, "Method not allowed");
    public static readonly ProblemType RequestTimeout = new("request-timeout", 408, "The request did not arrive in time");
    public static readonly ProblemType PayloadTooLarge = new("payload-too-large", 413, "The request body is too large");
    public static readonly ProblemType UnsupportedMediaType = new("unsupported-media-type", 415, "Unsupported media type");
    public static readonly ProblemType TooManyRequests = new("too-many-requests", 429, "Too many requests");
    public static readonly ProblemType InternalError = new("internal-error", 500, "An unexpected error occurred");
    public static readonly ProblemType ServiceUnavailable = new("service-unavailable", 503, "The service cannot answer right now");
    public static readonly ProblemType BucketMoving = new("bucket-moving", 503, "The link's shard is changing");

    public const string BucketMovingDetail =
        "Links with this code are being moved to another database shard, and their changes wait for the move's last seconds; " +
        "send the request again after the number of seconds in Retry-After (in a bulk response: after 2 seconds).";

    /// <summary>The type of an answer that carries a status alone (routing, Kestrel, the body reader).</summary>
    public static ProblemType? ForStatus(int status) => status switch
    {
        400 => MalformedRequest,
        404 => NotFound,
        405 => MethodNotAllowed,
        408 => RequestTimeout,
        413 => PayloadTooLarge,
        415 => UnsupportedMediaType,
        503 => ServiceUnavailable,
        >= 500 => InternalError,
        _ => null,
    };
}

internal static class Problems
{
    public static ProblemHttpResult Of(ProblemType type, string detail, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(detail, statusCode: type.Status, title: type.Title, type: type.Uri, extensions: extensions);

    public static IServiceCollection AddProblems(this IServiceCollection services)
    {
        // Registered before AddProblemDetails, so that it comes first and the framework's writer,
        // which gives up when Accept does not name JSON, is never asked.
        services.AddSingleton<IProblemDetailsWriter, ProblemJsonWriter>();
        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemExceptionHandler>();
        return services;
    }

    /// <summary>
    /// Answers the bodiless errors of routing and of the server (404, 405, 408, 413, 415) in the one
    /// error format, or as a small page for a browser that opened a visitor-facing path.
    /// </summary>
    public static IApplicationBuilder UseProblemStatusPages(this IApplicationBuilder app) =>
        app.UseStatusCodePages(async context =>
        {
            var http = context.HttpContext;
            var status = http.Response.StatusCode;
            var type = CommonProblems.ForStatus(status);
            http.Response.Headers.Vary = "Accept";
            if (!http.Request.Path.StartsWithSegments("/api") && ErrorPage.IsWanted(http.Request))
            {
                await ErrorPage.WriteAsync(http, status, type?.Title ?? "Error", status == StatusCodes.Status404NotFound
                    ? "There is nothing at this address." : "The request could not be answered.");
                return;
            }
            await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = http,
                ProblemDetails = new ProblemDetails
                {
                    Status = status,
                    Type = type?.Uri,
                    Title = type?.Title,
                    Detail = status switch
                    {
                        400 => "The request could not be read.",
                        404 => "No endpoint answers this path; /openapi/v1.json lists them.",
                        405 => $"This path answers {http.Response.Headers.Allow} only.",
                        408 => "The request body did not arrive in time.",
                        413 => RequestProblems.TooLargeDetail,
                        415 => RequestProblems.UnsupportedMediaTypeDetail,
                        _ => null,
                    },
                },
            });
        });
}

/// <summary>
/// Writes every problem as application/problem+json, whatever the request's Accept header says: the
/// API has one error format, and a client that asked for something else still gets it rather than
/// text. Fills what a result left open: the type (from the status), the title and the trace id.
/// </summary>
internal sealed class ProblemJsonWriter(IOptions<JsonOptions> json) : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        var problem = context.ProblemDetails;
        var status = problem.Status ??= http.Response.StatusCode;
        if (problem.Type is null or "about:blank" || problem.Type.StartsWith("https://tools.ietf.org/", StringComparison.Ordinal))
        {
            var type = problem is HttpValidationProblemDetails ? CommonProblems.ValidationFailed : CommonProblems.ForStatus(status);
            problem.Type = type?.Uri ?? "about:blank";
            problem.Title = type?.Title ?? problem.Title;
            if (problem is HttpValidationProblemDetails)
            {
                problem.Detail ??= "One or more fields failed validation; see errors.";
            }
        }
        problem.Title ??= ReasonPhrase(status);
        problem.Detail ??= problem.Title;
        problem.Extensions["traceId"] = Activity.Current?.TraceId.ToString() ?? http.TraceIdentifier;
        http.Response.StatusCode = status;
        // An error is about this moment (a link may exist a second later): no cache, CDN or browser keeps it.
        if (!http.Response.Headers.ContainsKey(HeaderNames.CacheControl))
        {
            http.Response.Headers.CacheControl = "no-store";
        }
        return new ValueTask(http.Response.WriteAsJsonAsync(problem, problem.GetType(), json.Value.SerializerOptions,
            "application/problem+json", http.RequestAborted));
    }

    private static string ReasonPhrase(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : $"HTTP {status}";
}

/// <summary>
/// Turns request-reading failures into precise 4xx problems, an unreachable or saturated database into
/// 503 with Retry-After, and anything else into a 500 that carries a trace id but never a stack trace
/// or SQL. Aborted requests never get here: the exception handler middleware answers them 499.
/// </summary>
internal sealed class ProblemExceptionHandler(IProblemDetailsService problemDetails, Outages outages,
    ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails problem;
        if (exception is BadHttpRequestException bad)
        {
            problem = RequestProblems.From(bad);
        }
        else if (exception is Data.BucketMovingException moving)
        {
            httpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(moving.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            problem = Problem(CommonProblems.BucketMoving, CommonProblems.BucketMovingDetail);
        }
        else if (Data.DatabaseFailures.IsUnavailable(exception))
        {
            outages.Database.Failed(exception);
            httpContext.Response.Headers.RetryAfter = Outages.RetryAfterSeconds;
            problem = Problem(CommonProblems.ServiceUnavailable,
                "The database is unavailable or saturated; retry after the number of seconds in Retry-After.");
        }
        else
        {
            var where = httpContext.Features.Get<IExceptionHandlerPathFeature>();
            logger.LogError(exception, "Unhandled exception on {RequestMethod} {RequestPath} ({RouteTemplate})",
                httpContext.Request.Method, where?.Path ?? httpContext.Request.Path.Value,
                (where?.Endpoint as RouteEndpoint)?.RoutePattern.RawText ?? "(unmatched)");
            problem = Problem(CommonProblems.InternalError, "The error was logged; quote the traceId when reporting it.");
        }
        httpContext.Response.StatusCode = problem.Status!.Value;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    private static ProblemDetails Problem(ProblemType type, string detail) =>
        new() { Status = type.Status, Type = type.Uri, Title = type.Title, Detail = detail };
}

/// <summary>What a client did wrong while its request was read, named as precisely as the failure allows.</summary>
internal static partial class RequestProblems
{
    public const string TooLargeDetail = "The request body exceeds the limit for this endpoint; see the README for the limits.";
    public const string UnsupportedMediaTypeDetail = "Send the body as JSON with the Content-Type this operation accepts (see /openapi/v1.json).";

    public static ProblemDetails From(BadHttpRequestException exception)
    {
        var json = FindInner<JsonException>(exception);
        var type = exception.StatusCode switch
        {
            StatusCodes.Status413PayloadTooLarge => CommonProblems.PayloadTooLarge,
            StatusCodes.Status415UnsupportedMediaType => CommonProblems.UnsupportedMediaType,
            StatusCodes.Status408RequestTimeout => CommonProblems.RequestTimeout,
            _ => CommonProblems.MalformedRequest,
        };
        var problem = new ProblemDetails
        {
            Status = type.Status,
            Type = type.Uri,
            Title = type.Title,
            Detail = type == CommonProblems.PayloadTooLarge ? TooLargeDetail
                : type == CommonProblems.UnsupportedMediaType ? UnsupportedMediaTypeDetail
                : type == CommonProblems.RequestTimeout ? "The request body did not arrive in time."
                : json is null ? RequestFailure(exception) : JsonFailures.Describe(json),
        };
        if (json is not null && JsonFailures.PathOf(json) is { Length: > 0 } path)
        {
            problem.Extensions["path"] = path;
        }
        return problem;
    }

    private static string RequestFailure(BadHttpRequestException exception)
    {
        if (BindFailure().Match(exception.Message) is { Success: true } bind)
        {
            return $"The value of '{JsonNamingPolicy.CamelCase.ConvertName(bind.Groups["name"].Value)}' has the wrong format.";
        }
        return exception.Message.Contains("body", StringComparison.OrdinalIgnoreCase)
            ? "The request body is missing or could not be read as JSON."
            : "A route, query or header value has the wrong format.";
    }

    [System.Text.RegularExpressions.GeneratedRegex("""^Failed to bind parameter "[^"]*?(?<name>\w+)" from""")]
    private static partial System.Text.RegularExpressions.Regex BindFailure();

    private static T? FindInner<T>(Exception exception) where T : Exception
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is T match)
            {
                return match;
            }
        }
        return null;
    }
}
