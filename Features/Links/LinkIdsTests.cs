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

    [Test]
    public void Ids_made_on_several_threads_at_once_are_unique_and_each_has_random_bits_of_its_own()
    {
        var ids = Enumerable.Range(0, 4).AsParallel().WithDegreeOfParallelism(4)
            .SelectMany(_ => Enumerable.Range(0, 20_000).Select(_ => LinkIds.Next(DateTimeOffset.UtcNow)).ToList())
            .ToList();
        Assert.Multiple(() =>
        {
            Assert.That(ids, Is.Unique);
            Assert.That(ids.Select(id => Ordered(id)[16..]), Is.Unique, "the 62 random bits after the counter");
        });
    }
}
