using Microsoft.Extensions.Options;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Redirects;

/// <summary>
/// Wrong link passwords, counted per link (guesses from many addresses at one link) and per client address
/// (one address guessing at many links). Once either quota is used up, attempts wait before any password is
/// checked, the right one too: otherwise guessing would go on, only answered differently.
/// </summary>
internal sealed class WrongPasswords(IOptions<ShortlinkOptions> options) : IDisposable
{
    private readonly Quota perLink = new(options.Value.RateLimits.WrongPasswordsPerLinkPerMinute);
    private readonly Quota perClient = new(options.Value.RateLimits.WrongPasswordsPerClientPerMinute);

    /// <summary>Seconds until a password for this link from this client may be checked, or null when it may be now.</summary>
    public int? SecondsUntilAttempt(Guid linkId, string client) =>
        perLink.SecondsUntilRoom(linkId.ToString()) ?? perClient.SecondsUntilRoom(client);

    public void Record(Guid linkId, string client)
    {
        perLink.Spend(linkId.ToString());
        perClient.Spend(client);
    }

    public void Dispose()
    {
        perLink.Dispose();
        perClient.Dispose();
    }
}
