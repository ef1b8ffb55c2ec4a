using System.Collections.Frozen;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Telemetry;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Links;

/// <summary>
/// Where no link may lead: a host on the blocklist, or this service itself (its short domain or an alias,
/// where the redirect would loop). Hosts are compared in canonical form, so letter case, a trailing dot, a
/// port or another notation of an IP address slips nothing past.
/// </summary>
internal sealed class LinkTargets(Blocklist.DomainBlocklist blocklist, ShortDomain domain, IOptions<ShortlinkOptions> options,
    IMeterFactory meters)
{
    private readonly Counter<long> blockedRefusals = meters.Create(ShortlinkMetrics.MeterName).CreateCounter<long>(
        "shortlink.blocked_domain.refusals", "{url}", "URLs refused for a link (create, update, bulk) because their host is blocked").StartingAtZero();

    private readonly FrozenSet<string> ownHosts = options.Value.ShortDomainAliases.Append(domain.Name)
        .Select(LinkHosts.CanonicalOf).OfType<string>().ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Why a link may not lead to this (normalised) URL, or null when it may.</summary>
    public (ProblemType Type, string Detail)? Refusal(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return null;
        }
        var host = LinkHosts.Canonical(uri);
        if (ownHosts.Contains(host))
        {
            return (LinkProblems.RedirectLoop, $"The URL leads to {host}, which is this service: the redirect would loop.");
        }
        if (blocklist.Covering(url) is not { } entry)
        {
            return null;
        }
        blockedRefusals.Add(1);
        return (LinkProblems.UrlBlocked, $"Links to {entry} and the names below it are blocked on this service.");
    }
}
