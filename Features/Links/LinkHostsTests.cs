using NUnit.Framework;

namespace Shortlink.Features.Links;

public sealed class LinkHostsTests
{
    [TestCase("https://Evil.Example./x", "evil.example")]
    [TestCase("https://EVIL.example:8443/x", "evil.example")]
    [TestCase("https://bücher.example/", "xn--bcher-kva.example")]
    [TestCase("http://2130706433/", "127.0.0.1")]
    [TestCase("http://0x7f.0.0.1/", "127.0.0.1")]
    [TestCase("http://0177.0.0.1/", "127.0.0.1")]
    [TestCase("http://127.1/", "127.0.0.1")]
    [TestCase("http://0x7f000001/", "127.0.0.1")]
    [TestCase("http://[::ffff:127.0.0.1]/", "127.0.0.1")]
    [TestCase("http://[0:0:0:0:0:ffff:7f00:1]/", "127.0.0.1")]
    [TestCase("http://[2001:DB8:0:0::1]/", "2001:db8::1")]
    public void Every_notation_of_a_host_has_one_canonical_form(string url, string canonical) =>
        Assert.That(LinkHosts.Canonical(new Uri(url)), Is.EqualTo(canonical));

    [TestCase("Evil.Example.", "evil.example")]
    [TestCase("bücher.example", "xn--bcher-kva.example")]
    [TestCase("0x7f.1", "127.0.0.1")]
    [TestCase("[::ffff:7f00:1]", "127.0.0.1")]
    [TestCase("2001:db8::1", "2001:db8::1")]
    [TestCase("evil.example/path", null)]
    [TestCase("user@evil.example", null)]
    [TestCase("evil.example:8080", null)]
    [TestCase("", null)]
    public void A_host_written_alone_is_made_canonical_or_refused(string host, string? canonical) =>
        Assert.That(LinkHosts.CanonicalOf(host), Is.EqualTo(canonical));

    [Test]
    public void A_host_is_covered_by_itself_and_every_domain_above_it() =>
        Assert.That(LinkHosts.AndParents("a.b.evil.example"), Is.EqualTo(new[] { "a.b.evil.example", "b.evil.example", "evil.example", "example" }));

    [Test]
    public void An_address_is_covered_only_by_itself() =>
        Assert.That(LinkHosts.AndParents("10.1.2.3"), Is.EqualTo(new[] { "10.1.2.3" }));
}
