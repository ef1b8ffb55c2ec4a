using System.Security.Cryptography;
using System.Text;
using FluentValidation;
using Microsoft.Extensions.Options;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Links;

/// <summary>Examples for the OpenAPI document, written as a client sees the JSON.</summary>
internal static class LinkExamples
{
    public static readonly object Create = new
    {
        url = "https://example.com/spring-sale?utm_source=newsletter",
        slug = "spring-sale",
        title = "Spring sale",
        tags = new[] { "campaign", "2026" },
        expiresAt = "2026-12-31T23:59:59Z",
        maxVisits = 10000,
        redirectType = 302,
        forwardQuery = true,
    };

    public static readonly object Link = new
    {
        code = "spring-sale",
        shortUrl = "https://sho.rt/spring-sale",
        url = "https://example.com/spring-sale?utm_source=newsletter",
        title = "Spring sale",
        tags = new[] { "2026", "campaign" },
        redirectType = 302,
        forwardQuery = true,
        validFrom = (string?)null,
        expiresAt = "2026-12-31T23:59:59.000+00:00",
        maxVisits = 10000,
        createdAt = "2026-11-25T09:30:00.000+00:00",
        updatedAt = "2026-11-25T09:30:00.000+00:00",
        hasPassword = false,
    };
}

internal static class LinksEndpoints
{
    public static IServiceCollection AddLinks(this IServiceCollection services)
    {
        services.AddSingleton<IValidator<CreateLink.Request>, CreateLink.Validator>();
        services.AddSingleton<IValidator<CreateLinksBulk.Request>, CreateLinksBulk.Validator>();
        services.AddSingleton<IValidator<ListLinks.Query>, ListLinks.Validator>();
        services.AddSingleton<IValidator<UpdateLink.Request>, UpdateLink.Validator>();
        services.AddSingleton<IValidator<GetLinkQrCode.Query>, GetLinkQrCode.Validator>();
        services.AddSingleton(_ => new GetLinkQrCode.Images());
        services.AddSingleton<LinkTargets>();
        services.AddSingleton<LinkCache>();
        services.AddSingleton<VisitCounters>();
        services.AddHostedService(provider => provider.GetRequiredService<VisitCounters>());
        services.AddSingleton(provider => CreateCursor(
            provider.GetRequiredService<IOptions<ShortlinkOptions>>().Value,
            provider.GetRequiredService<ILogger<LinkCursor>>()));
        return services;
    }

    public static IEndpointRouteBuilder MapLinks(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.ServiceProvider.GetRequiredService<IOptions<ShortlinkOptions>>().Value.Api;
        var group = endpoints.MapGroup("/api/v1/links")
            .WithTags("Links")
            .WithRequestSizeLimit(api.MaxBodyBytes)
            .RequireApiKey()
            .WithApiLimits()
            .ProducesProblems(CommonProblems.ServiceUnavailable, CommonProblems.InternalError);
        CreateLink.Map(group);
        CreateLinksBulk.Map(group, api.MaxBulkBodyBytes);
        ListLinks.Map(group);
        GetLink.Map(group);
        UpdateLink.Map(group);
        DeleteLink.Map(group);
        GetLinkQrCode.Map(group);
        return endpoints;
    }

    private static LinkCursor CreateCursor(ShortlinkOptions options, ILogger logger)
    {
        if (options.Api.CursorSigningKey.Length > 0)
        {
            return new LinkCursor(SHA256.HashData(Encoding.UTF8.GetBytes(options.Api.CursorSigningKey)));
        }
        logger.LogWarning("Shortlink:Api:CursorSigningKey is not set: list cursors are signed with a key of this " +
                          "process only and will not work across instances or restarts");
        return new LinkCursor(RandomNumberGenerator.GetBytes(32));
    }
}
