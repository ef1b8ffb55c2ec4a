namespace Shortlink.Infrastructure;

/// <summary>
/// The short domain and the base of short URLs, worked out once from the validated PublicBaseUrl
/// rather than on every request.
/// </summary>
internal sealed class ShortDomain
{
    private readonly string baseUrl;

    public ShortDomain(string publicBaseUrl)
    {
        var publicBase = new Uri(publicBaseUrl.TrimEnd('/') + "/");
        Name = publicBase.IdnHost.ToLowerInvariant();
        // Short URLs go into QR codes and messages: an internationalised host is given in punycode.
        baseUrl = new UriBuilder(publicBase) { Host = Name }.Uri.AbsoluteUri;
    }

    /// <summary>The domain every link is stored under until custom domains exist.</summary>
    public string Name { get; }

    // A code is only URL-safe characters ([A-Za-z0-9_-]), so it is appended as it is.
    public string ShortUrl(string code) => baseUrl + code;
}
