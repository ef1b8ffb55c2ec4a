using NUnit.Framework;

namespace Shortlink.Features.Links;

public sealed class LinkIdsTests
{
    private static string Ordered(Guid id) => Convert.ToHexString(id.ToByteArray(bigEndian: true));

    [Test]
    public void Ids_are_version_7_with_the_rfc_variant()
    {
        var id = LinkIds.Next(DateTimeOffset.UtcNow);
        Assert.Multiple(() =>
        {
            Assert.That(id.Version, Is.EqualTo(7));
            Assert.That(id.Variant, Is.InRange(8, 11));
        });
    }

    [Test]
    public void Ids_increase_within_one_millisecond_and_across_a_stalled_clock()
    {
        var frozen = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, 10_000).Select(_ => Ordered(LinkIds.Next(frozen))).ToList();
        Assert.That(ids, Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal).And.Unique);
    }

    [Test]
    public void Ids_carry_the_millisecond_they_were_made_in()
    {
        var at = DateTimeOffset.UtcNow.AddDays(2);
        var id = LinkIds.Next(at);
        var milliseconds = Convert.ToInt64(Ordered(id)[..12], 16);
        Assert.That(milliseconds, Is.EqualTo(at.ToUnixTimeMilliseconds()).Within(1));
    }
}
