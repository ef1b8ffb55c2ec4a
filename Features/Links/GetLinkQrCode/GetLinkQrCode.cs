using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using QRCoder;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Links;

internal static class GetLinkQrCode
{
    public const int MinSize = 64;
    public const int MaxSize = 2048;
    public const int DefaultSize = 300;

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
            .WithDescription("PNG or SVG, at most size pixels wide (the nearest whole number of pixels per module).")
            .Validate<Query>()
            .Produces(StatusCodes.Status200OK, contentType: "image/png", additionalContentTypes: "image/svg+xml")
            .ProducesProblem(StatusCodes.Status404NotFound);

    public static async Task<Results<FileContentHttpResult, ValidationProblem, ProblemHttpResult>> Handle(
        string code, [AsParameters] Query query, Databases databases, ShortDomain domain,
        HttpResponse response, CancellationToken ct)
    {
        if (!LinkRules.IsPossibleCode(code))
        {
            return Problems.LinkNotFound(code);
        }
        await using (var connection = await databases.OpenForCodeAsync(code, ct))
        {
            if (await LinkSql.FindAsync(connection, domain.Name, code, ct) is null)
            {
                return Problems.LinkNotFound(code);
            }
        }
        // The image depends on the short URL alone, which never changes for a code.
        response.Headers.CacheControl = "public, max-age=86400";
        var svg = query.Format == "svg";
        var image = Render(domain.ShortUrl(code), query.Size ?? DefaultSize, svg);
        return TypedResults.File(image, svg ? "image/svg+xml" : "image/png");
    }

    internal static byte[] Render(string shortUrl, int size, bool svg)
    {
        using var data = QRCodeGenerator.GenerateQrCode(shortUrl, QRCodeGenerator.ECCLevel.M);
        var pixelsPerModule = Math.Max(1, size / data.ModuleMatrix.Count);
        return svg
            ? System.Text.Encoding.UTF8.GetBytes(new SvgQRCode(data).GetGraphic(pixelsPerModule))
            : new PngByteQRCode(data).GetGraphic(pixelsPerModule);
    }
}
