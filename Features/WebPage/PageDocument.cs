using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Headers;
using Microsoft.Net.Http.Headers;

namespace Shortlink.Features.WebPage;

/// <summary>
/// The page's HTML with its files named by fingerprint, compressed once with Brotli and gzip. Each encoding has an
/// ETag of its own, as MapStaticAssets gives its files, so that a cache never hands one out for another.
/// </summary>
internal sealed partial class PageDocument
{
    private const string TemplateResource = "WebPage.index.html";

    private readonly Representation identity;
    private readonly Representation brotli;
    private readonly Representation gzip;

    private sealed record Representation(byte[] Body, string? Encoding, EntityTagHeaderValue ETag);

    private PageDocument(byte[] html)
    {
        var hash = Convert.ToBase64String(SHA256.HashData(html)).TrimEnd('=');
        identity = new Representation(html, null, new EntityTagHeaderValue($"\"{hash}\""));
        brotli = new Representation(Compress(html, body => new BrotliStream(body, CompressionLevel.SmallestSize)), "br",
            new EntityTagHeaderValue($"\"{hash}-br\""));
        gzip = new Representation(Compress(html, body => new GZipStream(body, CompressionLevel.SmallestSize)), "gzip",
            new EntityTagHeaderValue($"\"{hash}-gzip\""));
    }

    public static string Template()
    {
        using var stream = typeof(PageDocument).Assembly.GetManifestResourceStream(TemplateResource)
            ?? throw new InvalidOperationException($"The page's template {TemplateResource} is not embedded in the service.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// Every attribute that names one of the page's files by its path (/page/app.js) is given its fingerprinted
    /// route instead. A name that is not one of its files stops the page here rather than in a visitor's browser.
    /// </summary>
    public static PageDocument Render(string template, IReadOnlyDictionary<string, string> fingerprintedRoutes)
    {
        var html = AssetReference().Replace(template, reference =>
        {
            var name = reference.Groups["name"].Value;
            return fingerprintedRoutes.TryGetValue(name, out var route)
                ? $"\"/{route}\""
                : throw new InvalidOperationException($"The page names /{name}, which is not one of its files.");
        });
        return new PageDocument(Encoding.UTF8.GetBytes(html));
    }

    public Task WriteAsync(HttpContext context)
    {
        var request = context.Request.GetTypedHeaders();
        var chosen = Accepts(request, "br") ? brotli : Accepts(request, "gzip") ? gzip : identity;
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = WebPageEndpoints.ContentSecurityPolicy;
        // Same-origin: the API may see that the page called it; no other site learns where its visitor came from.
        headers["Referrer-Policy"] = "same-origin";
        headers.CacheControl = "no-cache";
        headers.Vary = "Accept-Encoding";
        headers.ETag = chosen.ETag.ToString();
        if (request.IfNoneMatch.Any(tag => tag.Compare(chosen.ETag, useStrongComparison: false) || tag.Equals(EntityTagHeaderValue.Any)))
        {
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }
        context.Response.ContentType = "text/html; charset=utf-8";
        if (chosen.Encoding is not null)
        {
            headers.ContentEncoding = chosen.Encoding;
        }
        context.Response.ContentLength = chosen.Body.Length;
        return HttpMethods.IsHead(context.Request.Method)
            ? Task.CompletedTask
            : context.Response.Body.WriteAsync(chosen.Body, context.RequestAborted).AsTask();
    }

    private static bool Accepts(RequestHeaders request, string encoding) =>
        request.AcceptEncoding.Any(accepted => accepted.Value.Equals(encoding, StringComparison.OrdinalIgnoreCase) && accepted.Quality is not 0);

    private static byte[] Compress(byte[] content, Func<Stream, Stream> compressor)
    {
        using var compressed = new MemoryStream();
        using (var stream = compressor(compressed))
        {
            stream.Write(content);
        }
        return compressed.ToArray();
    }

    [GeneratedRegex($"\"/(?<name>{WebPageEndpoints.AssetsSegment}/[^\"]+)\"")]
    private static partial Regex AssetReference();
}
