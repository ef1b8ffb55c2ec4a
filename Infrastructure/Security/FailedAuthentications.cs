using Microsoft.Extensions.Options;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Infrastructure.Security;

/// <summary>
/// Refused keys per client address, so that guessing keys from one address is slowed to a crawl (429)
/// without a database lookup per guess. A key that authenticated recently is always looked up: a valid
/// key's traffic is never slowed by someone else's bad guesses from the same address.
/// </summary>
internal sealed class FailedAuthentications(IOptions<ShortlinkOptions> options) : IDisposable
{
    private readonly Quota refusals = new(options.Value.RateLimits.FailedAuthenticationsPerClientPerMinute);

    /// <summary>Seconds until the address may be refused again, or null while it still may.</summary>
    public int? SecondsUntilRoom(string client) => refusals.SecondsUntilRoom(client);

    /// <summary>Counts a refusal; the seconds to wait when the address has used up its quota, otherwise null.</summary>
    public int? Record(string client) => refusals.Spend(client);

    public void Dispose() => refusals.Dispose();
}
