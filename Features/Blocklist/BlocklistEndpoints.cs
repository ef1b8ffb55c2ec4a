using Microsoft.Extensions.Options;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Blocklist;

/// <summary>A blocked host as the API shows it: from the configuration, or added through the API.</summary>
internal sealed record BlockedDomain(string Domain, string Source, DateTimeOffset? CreatedAt)
{
    public const string FromConfiguration = "configuration";
    public const string FromApi = "api";

    public static string Location(string domain) => $"/api/v1/blocklist/{domain}";
}

internal static class BlocklistProblems
{
    public static readonly ProblemType NotBlocked = new("domain-not-blocked", 404, "The domain is not on the blocklist");
    public static readonly ProblemType Configured = new("domain-blocked-by-configuration", 409, "The domain is blocked by the configuration");

    public const string InvalidDomain = "Name a host: a domain such as evil.example, or an IP address.";
}

internal static class BlocklistEndpoints
{
    public static IServiceCollection AddBlocklist(this IServiceCollection services)
    {
        services.AddSingleton<DomainBlocklist>();
        services.AddHostedService(provider => provider.GetRequiredService<DomainBlocklist>());
        return services;
    }

    public static IEndpointRouteBuilder MapBlocklist(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.ServiceProvider.GetRequiredService<IOptions<ShortlinkOptions>>().Value.Api;
        var group = endpoints.MapGroup("/api/v1/blocklist")
            .WithTags("Blocklist")
            .WithRequestSizeLimit(api.MaxBodyBytes)
            .RequireApiKey()
            .WithApiLimits()
            .ProducesProblems(CommonProblems.ServiceUnavailable, CommonProblems.InternalError);
        ListBlockedDomains.Map(group);
        BlockDomain.Map(group);
        UnblockDomain.Map(group);
        return endpoints;
    }
}
