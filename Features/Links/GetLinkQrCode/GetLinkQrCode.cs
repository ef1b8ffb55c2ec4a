using System.Security.Cryptography;
using System.Text;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Net.Http.Headers;
using QRCoder;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Links;

internal static class GetLinkQrCode
{
    public const int MinSize = 64;
    public const int MaxSize = 2048;
    public const int DefaultSize = 300;

    /// <summary>Browsers and apps may keep an image a day; the ETag makes revalidating it cost one lookup.</summary>
    public const string CacheControl = "private, max-age=86400";

    internal sealed record Query(
        [FromQuery(Name = "format")] string? Format,
        [FromQuery(Name = "size")] int? Size);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Format).Must(f => f is null or "png" or "svg").WithMessage("format must be png or svg.");
            RuleFor(q => q.Size).InclusiveBetween(MinSize, MaxSize).WithMessage($"size must be between {MinSize} and {MaxSize} pixels.");
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/{code}/qr", Handle)
            .WithName("GetLinkQrCode")
            .WithSummary("A QR code of the short URL")
            .WithDescription("PNG or SVG, at most size pixels wide (the nearest whole number of pixels per module). " +
                             "Answers carry an ETag; send it back in If-None-Match to get 304 without the image.")
            .RejectsRepeatedQueryParameters<Query>()
            .Validate<Query>()
            .Produces(StatusCodes.Status200OK, contentType: "image/png", additionalContentTypes: "image/svg+xml")
            .Produces(StatusCodes.Status304NotModified)
            .WithResponseHeader(StatusCodes.Status200OK, "ETag", "Names this image; send it back in If-None-Match.")
            .WithResponseHeader(StatusCodes.Status304NotModified, "ETag", "The image's ETag, unchanged.")
            .ProducesProblems(LinkProblems.LinkNotFound)
            .TakesCodeInPath();

    public static async Task<Results<FileContentHttpResult, StatusCodeHttpResult, ValidationProblem, ProblemHttpResult>> Handle(
        string code, [AsParameters] Query query, Databases databases, ShortDomain domain, Images images,
        HttpContext http, CancellationToken ct)
    {
        if (!LinkRules.IsPossibleCode(code))
        {
            return LinkProblems.NotFound(code);
        }
        LinkRow? link;
        await using (var connection = await databases.OpenForCodeAsync(domain.Name, code, ct))
        {
            link = await LinkSql.FindVisibleAsync(connection, domain.Name, code, ApiCaller.From(http.User), ct);
        }
        if (link is null)
        {
            return LinkProblems.NotFound(code);
        }
        var svg = query.Format == "svg";
        var size = query.Size ?? DefaultSize;
        var etag = ETag(link.Id, svg, size);
        http.Response.Headers.CacheControl = CacheControl;
        if (http.Request.GetTypedHeaders().IfNoneMatch.Any(tag => tag.Compare(etag, useStrongComparison: false) || tag == EntityTagHeaderValue.Any))
        {
            http.Response.Headers.ETag = etag.ToString();
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }
        var image = images.GetOrRender(domain.ShortUrl(code), size, svg);
        return TypedResults.File(image, svg ? "image/svg+xml" : "image/png", entityTag: etag);
    }

    /// <summary>
    /// What the image depends on: the link (its short URL never changes, and a deleted code is never
    /// handed out again), the format, the size and the renderer that drew it.
    /// </summary>
    internal static EntityTagHeaderValue ETag(Guid linkId, bool svg, int size)
    {
        var identity = Encoding.UTF8.GetBytes($"{linkId:N}|{(svg ? "svg" : "png")}|{size}|{Images.RendererVersion}");
        return new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(identity).AsSpan(0, 12))}\"");
    }

    internal static byte[] Render(string shortUrl, int size, bool svg)
    {
        using var data = QRCodeGenerator.GenerateQrCode(shortUrl, QRCodeGenerator.ECCLevel.M);
        var pixelsPerModule = Math.Max(1, size / data.ModuleMatrix.Count);
        return svg
            ? Encoding.UTF8.GetBytes(new SvgQRCode(data).GetGraphic(pixelsPerModule))
            : new PngByteQRCode(data).GetGraphic(pixelsPerModule);
    }

    /// <summary>
    /// Rendered images kept in memory, bounded by their total size, so a loop over large QR requests
    /// costs one indexed lookup each instead of a render.
    /// </summary>
    internal sealed class Images(Func<string, int, bool, byte[]> render) : IDisposable
    {
        public const long MaxCachedBytes = 32 * 1024 * 1024;
        public static readonly string RendererVersion = typeof(QRCodeGenerator).Assembly.GetName().Version?.ToString() ?? "0";

        private readonly MemoryCache cache = new(new MemoryCacheOptions { SizeLimit = MaxCachedBytes });

        public Images() : this(Render)
        {
        }

        public byte[] GetOrRender(string shortUrl, int size, bool svg) =>
            cache.GetOrCreate((shortUrl, size, svg), entry =>
            {
                var image = render(shortUrl, size, svg);
                entry.Size = image.Length;
                entry.SlidingExpiration = TimeSpan.FromHours(1);
                return image;
            })!;

        public void Dispose() => cache.Dispose();
    }
}
