namespace Shortlink.Infrastructure.Web;

/// <summary>The problem types an endpoint answers; the OpenAPI document lists them per status, with an example.</summary>
internal sealed record ProblemResponses(IReadOnlyList<ProblemType> Types);

/// <summary>Statuses at which an endpoint answers a browser with a small HTML page instead of problem+json.</summary>
internal sealed record HtmlPageResponses(IReadOnlyList<int> Statuses);

/// <summary>A header an endpoint sends with a status; the OpenAPI document declares it on that response.</summary>
internal sealed record ResponseHeader(int Status, string Name, string Description);

internal static class ProblemResponseExtensions
{
    /// <summary>Declares the problems an endpoint (or every endpoint of a group) may answer.</summary>
    public static TBuilder ProducesProblems<TBuilder>(this TBuilder builder, params ProblemType[] types)
        where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in types.Select(type => type.Status).Distinct())
        {
            builder.ProducesProblem(status);
        }
        if (types.Contains(CommonProblems.ServiceUnavailable))
        {
            builder.WithResponseHeader(StatusCodes.Status503ServiceUnavailable, "Retry-After", "Seconds to wait before sending the request again.");
        }
        if (types.Contains(CommonProblems.MethodNotAllowed))
        {
            builder.WithResponseHeader(StatusCodes.Status405MethodNotAllowed, "Allow", "The methods the path does answer.");
        }
        return builder.WithMetadata(new ProblemResponses(types));
    }

    public static TBuilder WithResponseHeader<TBuilder>(this TBuilder builder, int status, string name, string description)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ResponseHeader(status, name, description));

    /// <summary>
    /// A code of "." or ".." is a dot-segment that the server removes before routing, so such a request
    /// reaches the parent path: 404 there, or 405 where the parent answers other methods.
    /// </summary>
    public static RouteHandlerBuilder TakesCodeInPath(this RouteHandlerBuilder builder, bool parentAnswersOtherMethods = false) =>
        parentAnswersOtherMethods
            ? builder.ProducesProblems(CommonProblems.NotFound, CommonProblems.MethodNotAllowed)
            : builder.ProducesProblems(CommonProblems.NotFound);

    public static RouteHandlerBuilder ProducesHtmlPages(this RouteHandlerBuilder builder, params int[] statuses) =>
        builder.WithMetadata(new HtmlPageResponses(statuses));
}
