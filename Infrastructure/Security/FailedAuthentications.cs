using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Shortlink.Infrastructure.Telemetry;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Infrastructure.Security;

/// <summary>
/// Refused keys per client address, so that guessing keys from one address is slowed to a crawl (429)
/// without a database lookup per guess. A key that authenticated recently is always looked up: a valid
/// key's traffic is never slowed by someone else's bad guesses from the same address.
/// </summary>
internal sealed class FailedAuthentications(IOptions<ShortlinkOptions> options, IMeterFactory meters) : IDisposable
{
    private readonly Quota refusals = new(options.Value.RateLimits.FailedAuthenticationsPerClientPerMinute);

    private readonly Counter<long> failures = meters.Create(ShortlinkMetrics.MeterName).CreateCounter<long>(
        "shortlink.authentication.failures", "{request}",
        "Requests whose API key was refused, by reason: malformed, unknown, revoked, expired, or throttled (too many refusals from the address)")
        .StartingAtZero("reason", "malformed", "unknown", "revoked", "expired", "throttled");

    /// <summary>Seconds until the address may be refused again, or null while it still may.</summary>
    public int? SecondsUntilRoom(string client) => refusals.SecondsUntilRoom(client);

    /// <summary>Counts a refusal; the seconds to wait when the address has used up its quota, otherwise null.</summary>
    public int? Record(string client, string reason)
    {
        failures.Add(1, new KeyValuePair<string, object?>("reason", reason));
        return refusals.Spend(client);
    }

    /// <summary>Counts a key not even looked up: the address has used up its refusals.</summary>
    public void Throttled() => failures.Add(1, new KeyValuePair<string, object?>("reason", "throttled"));

    public void Dispose() => refusals.Dispose();
}
