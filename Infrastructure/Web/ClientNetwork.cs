using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Shortlink.Infrastructure.Web;

/// <summary>
/// Who the client is: the connection's address, or the one a trusted proxy reports in X-Forwarded-For.
/// Only proxies in <see cref="NetworkOptions.TrustedProxies"/> are believed (none by default, not even
/// loopback), so a client cannot pick its own address to dodge a limit.
/// </summary>
internal static class ClientNetwork
{
    public static IServiceCollection AddClientNetwork(this IServiceCollection services)
    {
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ShortlinkOptions>>((forwarded, shortlink) =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // The framework trusts loopback out of the box, in the old list as well as the new one.
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
#pragma warning disable ASPDEPR005 // The obsolete list is still consulted, so it must be emptied too.
            forwarded.KnownNetworks.Clear();
#pragma warning restore ASPDEPR005
            foreach (var network in shortlink.Value.Network.TrustedProxies)
            {
                forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }
            // Each trusted proxy on the way adds one address; believe as many as there can be trusted hops.
            forwarded.ForwardLimit = null;
        });
        return services;
    }

    /// <summary>
    /// Reads X-Forwarded-For from trusted proxies only. Without any, the middleware stays out: it would
    /// take empty lists to mean "trust every proxy".
    /// </summary>
    public static IApplicationBuilder UseTrustedForwardedHeaders(this IApplicationBuilder app)
    {
        var trusted = app.ApplicationServices.GetRequiredService<IOptions<ShortlinkOptions>>().Value.Network.TrustedProxies
            .Select(System.Net.IPNetwork.Parse).ToArray();
        if (trusted.Length == 0)
        {
            return app;
        }
        // Noted before the forwarded headers replace the connection's address with the client's.
        app.Use((context, next) =>
        {
            if (context.Connection.RemoteIpAddress is { } peer && Array.Exists(trusted, network => network.Contains(Unmapped(peer))))
            {
                context.Features.Set(ViaTrustedProxy.Instance);
            }
            return next(context);
        });
        return app.UseForwardedHeaders();
    }

    /// <summary>True when the request reached the service through one of the trusted proxies, so its edge headers may be believed.</summary>
    public static bool CameThroughTrustedProxy(HttpContext context) => context.Features.Get<ViaTrustedProxy>() is not null;

    private static IPAddress Unmapped(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private sealed class ViaTrustedProxy
    {
        public static readonly ViaTrustedProxy Instance = new();
    }

    /// <summary>
    /// The key a client's limits are counted under: its address, or for IPv6 its /64 (one subscriber's
    /// network), since a single host can pick any address within it.
    /// </summary>
    public static string ClientKey(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress;
        if (address is null)
        {
            return "unknown";
        }
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        return address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? new System.Net.IPNetwork(address, 64).BaseAddress + "/64"
            : address.ToString();
    }

    /// <summary>Answers the endpoint only to clients in the given networks (403 for anyone else); none means everyone.</summary>
    public static TBuilder RestrictedTo<TBuilder>(this TBuilder builder, IReadOnlyList<string> networks)
        where TBuilder : IEndpointConventionBuilder =>
        networks.Count == 0 ? builder : builder.WithMetadata(new AllowedNetworks(networks.Select(System.Net.IPNetwork.Parse).ToList()));

    public static IApplicationBuilder UseNetworkRestrictions(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<AllowedNetworks>() is { } allowed && !allowed.Contains(context.Connection.RemoteIpAddress))
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails = new ProblemDetails
                    {
                        Status = StatusCodes.Status403Forbidden,
                        Type = CommonProblems.Forbidden.Uri,
                        Title = CommonProblems.Forbidden.Title,
                        Detail = "This endpoint answers configured networks only.",
                    },
                });
                return;
            }
            await next(context);
        });

    private sealed record AllowedNetworks(IReadOnlyList<System.Net.IPNetwork> Networks)
    {
        public bool Contains(IPAddress? address)
        {
            if (address is null)
            {
                return false;
            }
            var candidate = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
            return Networks.Any(network => network.Contains(candidate));
        }
    }
}
