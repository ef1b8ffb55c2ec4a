using Microsoft.AspNetCore.Http.Metadata;

namespace Shortlink.Infrastructure.Web;

internal static class RequestSizeLimitExtensions
{
    /// <summary>Caps the request body; the innermost limit wins, so an endpoint can override its group.</summary>
    public static TBuilder WithRequestSizeLimit<TBuilder>(this TBuilder builder, long maxBytes)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequestSizeLimit(maxBytes));

    private sealed class RequestSizeLimit(long maxBytes) : IRequestSizeLimitMetadata
    {
        public long? MaxRequestBodySize => maxBytes;
    }
}
