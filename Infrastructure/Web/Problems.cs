using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Shortlink.Infrastructure.Web;

/// <summary>The stable RFC 9457 problem types of the API; the README lists them.</summary>
internal static class ProblemTypes
{
    private const string Prefix = "urn:shortlink:problem:";
    public const string ValidationFailed = Prefix + "validation-failed";
    public const string MalformedRequest = Prefix + "malformed-request";
    public const string InvalidCursor = Prefix + "invalid-cursor";
    public const string UnsupportedMediaType = Prefix + "unsupported-media-type";
    public const string PayloadTooLarge = Prefix + "payload-too-large";
    public const string SlugTaken = Prefix + "slug-taken";
    public const string IdempotencyKeyReused = Prefix + "idempotency-key-reused";
    public const string IdempotencyKeyInUse = Prefix + "idempotency-key-in-use";
    public const string LinkNotFound = Prefix + "link-not-found";
    public const string LinkExpired = Prefix + "link-expired";
    public const string VisitLimitReached = Prefix + "visit-limit-reached";
    public const string NotFound = Prefix + "not-found";
    public const string MethodNotAllowed = Prefix + "method-not-allowed";
    public const string InternalError = Prefix + "internal-error";

    public static string ForStatus(int status) => status switch
    {
        StatusCodes.Status400BadRequest => MalformedRequest,
        StatusCodes.Status404NotFound => NotFound,
        StatusCodes.Status405MethodNotAllowed => MethodNotAllowed,
        StatusCodes.Status413PayloadTooLarge => PayloadTooLarge,
        StatusCodes.Status415UnsupportedMediaType => UnsupportedMediaType,
        >= 500 => InternalError,
        _ => "about:blank",
    };
}

internal static class Problems
{
    public static ProblemHttpResult Of(int status, string type, string title, string detail,
        IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(detail, statusCode: status, title: title, type: type, extensions: extensions);

    public static ProblemHttpResult LinkNotFound(string code) =>
        Of(StatusCodes.Status404NotFound, ProblemTypes.LinkNotFound, "Link not found",
            $"No link with code '{code}' exists.");

    public static IServiceCollection AddProblems(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            var status = problem.Status ?? context.HttpContext.Response.StatusCode;
            if (problem.Type is null || problem.Type.StartsWith("https://tools.ietf.org/", StringComparison.Ordinal))
            {
                problem.Type = ProblemTypes.ForStatus(status);
            }
            if (problem is HttpValidationProblemDetails && problem.Type == ProblemTypes.MalformedRequest)
            {
                problem.Type = ProblemTypes.ValidationFailed;
                problem.Title = "The request is not valid";
                problem.Detail ??= "One or more fields failed validation; see errors.";
            }
            problem.Extensions["traceId"] = Activity.Current?.TraceId.ToString() ?? context.HttpContext.TraceIdentifier;
        });
        services.AddExceptionHandler<ProblemExceptionHandler>();
        return services;
    }
}

/// <summary>
/// Turns request-reading failures into precise 4xx problems and anything else into a 500 that
/// carries a trace id but never a stack trace or SQL.
/// </summary>
internal sealed partial class ProblemExceptionHandler(IProblemDetailsService problemDetails, ILogger<ProblemExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var problem = exception switch
        {
            BadHttpRequestException bad => FromBadRequest(bad),
            _ => null,
        };
        if (problem is null)
        {
            if (httpContext.RequestAborted.IsCancellationRequested)
            {
                return true;
            }
            logger.LogError(exception, "Unhandled exception on {Method} {Route}", httpContext.Request.Method,
                (httpContext.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText);
            problem = new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Type = ProblemTypes.InternalError,
                Title = "An unexpected error occurred",
                Detail = "The error was logged; quote the traceId when reporting it.",
            };
        }
        httpContext.Response.StatusCode = problem.Status!.Value;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    private static ProblemDetails FromBadRequest(BadHttpRequestException exception)
    {
        var status = exception.StatusCode;
        if (status == StatusCodes.Status413PayloadTooLarge)
        {
            return new ProblemDetails
            {
                Status = status,
                Type = ProblemTypes.PayloadTooLarge,
                Title = "The request body is too large",
                Detail = "The request body exceeds the limit for this endpoint; see the README for the limits.",
            };
        }
        if (status == StatusCodes.Status415UnsupportedMediaType)
        {
            return new ProblemDetails
            {
                Status = status,
                Type = ProblemTypes.UnsupportedMediaType,
                Title = "Unsupported media type",
                Detail = "Send the body as application/json.",
            };
        }
        var json = FindInner<JsonException>(exception);
        var problem = new ProblemDetails
        {
            Status = StatusCodes.Status400BadRequest,
            Type = ProblemTypes.MalformedRequest,
            Title = "The request could not be read",
            Detail = json is null ? RequestFailure(exception) : JsonFailure(json),
        };
        if (json?.Path is { Length: > 0 } path)
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

    [GeneratedRegex("""^Failed to bind parameter "[^"]*?(?<name>\w+)" from""")]
    private static partial Regex BindFailure();

    // System.Text.Json messages name .NET types; clients get the JSON path and what went wrong instead.
    private static string JsonFailure(JsonException exception)
    {
        var where = string.IsNullOrEmpty(exception.Path) || exception.Path == "$" ? "the body" : exception.Path;
        if (exception.Message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            return $"Unknown field at {where}; the schema in /openapi/v1.json lists the accepted fields.";
        }
        if (exception.Message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return $"The value at {where} has the wrong type.";
        }
        return $"The body is not valid JSON (at {where}, line {exception.LineNumber + 1}, byte {exception.BytePositionInLine + 1}).";
    }

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
