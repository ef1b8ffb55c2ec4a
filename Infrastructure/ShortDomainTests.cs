using NUnit.Framework;

namespace Shortlink.Infrastructure;

public sealed class ShortDomainTests
{
    [TestCase("https://sho.rt", "sho.rt", "https://sho.rt/abc")]
    [TestCase("https://Sho.RT/", "sho.rt", "https://sho.rt/abc")]
    [TestCase("http://localhost:8080", "localhost", "http://localhost:8080/abc")]
    [TestCase("https://example.com/s", "example.com", "https://example.com/s/abc")]
    [TestCase("https://kürz.example", "xn--krz-hoa.example", "https://xn--krz-hoa.example/abc")]
    public void Domain_and_short_urls_come_from_the_public_base_url(string publicBaseUrl, string domain, string shortUrl)
    {
        var shortDomain = new ShortDomain(publicBaseUrl);
        Assert.Multiple(() =>
        {
            Assert.That(shortDomain.Name, Is.EqualTo(domain));
            Assert.That(shortDomain.ShortUrl("abc"), Is.EqualTo(shortUrl));
        });
    }
}
