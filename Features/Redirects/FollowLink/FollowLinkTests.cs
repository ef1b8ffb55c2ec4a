using NUnit.Framework;
using Shortlink.Features.Links;
using Shortlink.Infrastructure;

namespace Shortlink.Features.Redirects;

public sealed class FollowLinkTests
{
    private static readonly DateTime Now = new(2026, 11, 25, 12, 0, 0, DateTimeKind.Utc);
    private static readonly RedirectOptions Options = new() { PermanentMaxAgeSeconds = 3600 };

    private static LinkRow Link(int redirectType, DateTime? expiresAt = null, int? maxVisits = null) =>
        new(Guid.CreateVersion7(), "sho.rt", "abc", Guid.CreateVersion7(), "https://example.com", null, redirectType, true, null, expiresAt,
            maxVisits, 0, Now, Now);

    [TestCase(302, "private, max-age=0")]
    [TestCase(307, "private, max-age=0")]
    [TestCase(301, "public, max-age=3600")]
    [TestCase(308, "public, max-age=3600")]
    public void Temporary_redirects_are_never_cached_permanent_ones_are(int type, string expected) =>
        Assert.That(Visits.CacheControl(Link(type), Options, Now), Is.EqualTo(expected));

    [Test]
    public void A_permanent_redirect_is_not_cached_past_the_links_expiry() =>
        Assert.That(Visits.CacheControl(Link(301, expiresAt: Now.AddSeconds(90)), Options, Now),
            Is.EqualTo("public, max-age=90"));

    [Test]
    public void A_permanent_redirect_with_a_visit_limit_is_not_cached() =>
        Assert.That(Visits.CacheControl(Link(308, maxVisits: 5), Options, Now), Is.EqualTo("private, max-age=0"));

    [Test]
    public void A_zero_max_age_means_uncached() =>
        Assert.That(Visits.CacheControl(Link(301), new RedirectOptions { PermanentMaxAgeSeconds = 0 }, Now),
            Is.EqualTo("private, max-age=0"));
}
