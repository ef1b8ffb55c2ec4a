using System.Buffers;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Net.Http.Headers;

namespace Shortlink.Infrastructure.Web;

/// <summary>
/// Reads the body of a JSON endpoint to its end, within the endpoint's limit, before the endpoint binds
/// it from memory. A client that goes away in the middle of its body is then seen here, by the read that
/// fails, and recorded as 499 with its connection closed: otherwise the framework answers 400 and Kestrel,
/// draining a body reader left mid-read, logs an Error (dotnet/aspnetcore#52324), so that any client
/// could write to the error log.
/// </summary>
internal static class RequestBodies
{
    /// <summary>Caps the body of an endpoint, or of every endpoint of a group; the innermost limit wins.</summary>
    public static TBuilder WithRequestSizeLimit<TBuilder>(this TBuilder builder, long maxBytes)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new BodyLimit(maxBytes));

    /// <summary>Marks an endpoint that binds a JSON body, with what can go wrong while it is read.</summary>
    public static RouteHandlerBuilder ReadsJsonBody(this RouteHandlerBuilder builder) =>
        builder
            .WithMetadata(new ReadsBody())
            .ProducesProblems(CommonProblems.MalformedRequest, CommonProblems.RequestTimeout,
                CommonProblems.PayloadTooLarge, CommonProblems.UnsupportedMediaType);

    /// <summary>Marks an endpoint that reads an HTML form (application/x-www-form-urlencoded), within the given limit.</summary>
    public static RouteHandlerBuilder ReadsFormBody<TForm>(this RouteHandlerBuilder builder, long maxBytes) where TForm : notnull =>
        builder
            .Accepts<TForm>("application/x-www-form-urlencoded")
            .WithRequestSizeLimit(maxBytes)
            .WithMetadata(new ReadsBody())
            .ProducesProblems(CommonProblems.RequestTimeout, CommonProblems.PayloadTooLarge, CommonProblems.UnsupportedMediaType);

    public static IApplicationBuilder UseRequestBodies(this IApplicationBuilder app) => app.Use(ReadAsync);

    private static async Task ReadAsync(HttpContext context, RequestDelegate next)
    {
        var metadata = context.GetEndpoint()?.Metadata;
        if (metadata?.GetMetadata<ReadsBody>() is null
            || context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false })
        {
            await next(context);
            return;
        }
        if (!IsAccepted(context.Request, metadata.GetMetadata<IAcceptsMetadata>()))
        {
            throw new BadHttpRequestException("The request body's media type is not accepted here.",
                StatusCodes.Status415UnsupportedMediaType);
        }
        var limit = metadata.GetMetadata<BodyLimit>()?.MaxBytes;
        byte[] body;
        try
        {
            body = await ReadToEndAsync(context, limit);
        }
        catch (Exception ex) when (ClientWentAway(ex, context))
        {
            context.Response.StatusCode = StatusCodes.Status499ClientClosedRequest;
            context.Abort();
            return;
        }
        context.Request.Body = new MemoryStream(body, writable: false);
        await next(context);
    }

    private static async Task<byte[]> ReadToEndAsync(HttpContext context, long? limit)
    {
        if (limit is { } max)
        {
            // Kestrel then refuses an announced Content-Length over the limit before reading (and before
            // answering Expect: 100-continue); the count below covers servers without the feature.
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
            {
                feature.MaxRequestBodySize = max;
            }
            if (context.Request.ContentLength > max)
            {
                throw TooLarge();
            }
        }
        var reader = context.Request.BodyReader;
        var buffer = new ArrayBufferWriter<byte>((int)Math.Min(context.Request.ContentLength ?? 4096, limit ?? 4096) + 1);
        while (true)
        {
            var result = await reader.ReadAsync(context.RequestAborted);
            foreach (var segment in result.Buffer)
            {
                buffer.Write(segment.Span);
            }
            reader.AdvanceTo(result.Buffer.End);
            if (buffer.WrittenCount > limit)
            {
                throw TooLarge();
            }
            if (result.IsCompleted)
            {
                return buffer.WrittenSpan.ToArray();
            }
        }
    }

    /// <summary>
    /// Exactly a media type the endpoint declares (a merge-patch endpoint does not read a JSON Patch, whose
    /// "+json" suffix the framework would let through), in UTF-8, the only encoding JSON bodies are read in.
    /// </summary>
    private static bool IsAccepted(HttpRequest request, IAcceptsMetadata? accepts)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType))
        {
            return false;
        }
        var charset = contentType.Charset.Value;
        return (charset is null || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
            && (accepts?.ContentTypes ?? ["application/json"]).Any(accepted =>
                contentType.MediaType.Equals(accepted, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// A reset connection surfaces as an IOException of the transport, a closed one as Kestrel's "unexpected
    /// end of request content", a noticed abort as a cancellation; too large, too slow or malformed is the client's mistake.
    /// </summary>
    private static bool ClientWentAway(Exception exception, HttpContext context) =>
        context.RequestAborted.IsCancellationRequested
        || exception is BadHttpRequestException { StatusCode: StatusCodes.Status400BadRequest } bad
            && bad.Message.StartsWith("Unexpected end of request content", StringComparison.Ordinal)
        || exception is IOException and not BadHttpRequestException;

    private static BadHttpRequestException TooLarge() =>
        new("The request body is larger than this endpoint accepts.", StatusCodes.Status413PayloadTooLarge);

    private sealed record BodyLimit(long MaxBytes);

    private sealed record ReadsBody;
}
