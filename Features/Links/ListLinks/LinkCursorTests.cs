using System.Buffers.Text;
using NUnit.Framework;

namespace Shortlink.Features.Links;

public sealed class LinkCursorTests
{
    private static readonly LinkCursor Cursors = new("0123456789abcdef0123456789abcdef"u8.ToArray());

    [Test]
    public void A_cursor_round_trips_under_the_same_filters()
    {
        var id = Guid.CreateVersion7();
        var cursor = Cursors.Encode(id, "campaign", "sale", null);
        Assert.That(Cursors.TryDecode(cursor, "campaign", "sale", null, out var decoded), Is.True);
        Assert.That(decoded, Is.EqualTo(id));
    }

    [TestCase("other", "sale")]
    [TestCase(null, "sale")]
    [TestCase("campaign", null)]
    [TestCase("campaign", "sales")]
    public void A_cursor_is_refused_under_other_filters(string? tag, string? q) =>
        Assert.That(Cursors.TryDecode(Cursors.Encode(Guid.CreateVersion7(), "campaign", "sale", null), tag, q, null, out _), Is.False);

    [Test]
    public void A_cursor_is_refused_for_another_owner()
    {
        var owner = Guid.CreateVersion7();
        var cursor = Cursors.Encode(Guid.CreateVersion7(), null, null, owner);
        Assert.Multiple(() =>
        {
            Assert.That(Cursors.TryDecode(cursor, null, null, owner, out _), Is.True);
            Assert.That(Cursors.TryDecode(cursor, null, null, Guid.CreateVersion7(), out _), Is.False);
            Assert.That(Cursors.TryDecode(cursor, null, null, null, out _), Is.False, "an owner's cursor is not an admin's");
        });
    }

    [Test]
    public void A_cursor_of_another_listing_is_refused()
    {
        var id = Guid.CreateVersion7();
        var visits = Cursors.Encode(id, "visits|one-link", null);
        Assert.Multiple(() =>
        {
            Assert.That(Cursors.TryDecode(visits, "visits|one-link", null, out var decoded) && decoded == id, Is.True);
            Assert.That(Cursors.TryDecode(visits, "visits|another-link", null, out _), Is.False);
            Assert.That(Cursors.TryDecode(visits, null, null, null, out _), Is.False, "a visits cursor is no links cursor");
            Assert.That(Cursors.TryDecode(Cursors.Encode(id, null, null, null), "visits|one-link", null, out _), Is.False);
        });
    }

    [Test]
    public void Changing_any_byte_of_a_cursor_is_detected()
    {
        var bytes = Base64Url.DecodeFromChars(Cursors.Encode(Guid.CreateVersion7(), null, null, null));
        for (var i = 0; i < bytes.Length; i++)
        {
            var forged = (byte[])bytes.Clone();
            forged[i] ^= 0x01;
            Assert.That(Cursors.TryDecode(Base64Url.EncodeToString(forged), null, null, null, out _), Is.False, $"byte {i}");
        }
    }

    [Test]
    public void A_cursor_signed_with_another_key_is_refused()
    {
        var other = new LinkCursor(new byte[32]);
        Assert.That(Cursors.TryDecode(other.Encode(Guid.CreateVersion7(), null, null, null), null, null, null, out _), Is.False);
    }

    [TestCase("")]
    [TestCase("not-a-cursor")]
    [TestCase("!!!!")]
    [TestCase("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [TestCase("' OR 1=1 --")]
    public void Garbage_is_refused(string cursor) =>
        Assert.That(Cursors.TryDecode(cursor, null, null, null, out _), Is.False);

    [Test]
    public void Very_long_input_is_refused() =>
        Assert.That(Cursors.TryDecode(new string('A', 10_000), null, null, null, out _), Is.False);
}
