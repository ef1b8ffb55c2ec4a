using System.Text;
using System.Text.Json;
using NUnit.Framework;
using RabbitMQ.Client;

namespace Shortlink.Features.Analytics.Queue;

public sealed class VisitMessagesTests
{
    private static readonly BasicProperties Current = new() { Type = VisitMessages.Type };

    private static VisitEvent Visit(string code = "AbCdEf1", string? referrer = null, string? userAgent = null, string? country = null,
        string region = "eu-west-1") =>
        new(Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7(), code, new DateTime(2026, 3, 29, 1, 30, 15, 123, DateTimeKind.Utc)
            .AddTicks(4567), referrer, userAgent, country, 0xFEDC_BA98_7654_3210, region);

    [Test]
    public void A_message_gives_back_every_field_of_every_visit_including_the_absent_ones()
    {
        List<VisitEvent> visits =
        [
            Visit(),
            Visit("Zz9", "news.example.org", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Ünïcødé ☃", "DE", ""),
            Visit("AbCdEf1", "news.example.org", null, "FR"),
        ];

        var read = VisitMessages.TryDecode(Current, VisitMessages.Encode(visits));

        Assert.That(read, Is.EqualTo(visits));
        Assert.That(read!.Select(visit => visit.OccurredAt.Kind), Is.All.EqualTo(DateTimeKind.Utc));
    }

    [Test]
    public void A_string_shared_by_the_visits_of_a_message_is_carried_once()
    {
        var userAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        List<VisitEvent> visits = [.. Enumerable.Range(0, 200).Select(_ => Visit(referrer: "news.example.org", userAgent: userAgent, country: "DE"))];

        var bytesPerVisit = VisitMessages.Encode(visits).Length / 200.0;

        Assert.That(bytesPerVisit, Is.LessThan(75), "64 bytes of ids, time and hash, 5 string references, and the strings once");
    }

    [Test]
    public void A_message_queued_as_json_by_an_older_version_is_still_read()
    {
        List<VisitEvent> visits = [Visit(referrer: "news.example.org", userAgent: "curl/8.5.0", country: "DE")];
        var json = JsonSerializer.SerializeToUtf8Bytes(visits, VisitMessageJson.Default.ListVisitEvent);

        Assert.That(VisitMessages.TryDecode(new BasicProperties { Type = VisitMessages.JsonType }, json), Is.EqualTo(visits));
    }

    [Test]
    public void A_body_cut_short_lengthened_of_another_version_or_of_another_type_is_no_visits_message()
    {
        var body = VisitMessages.Encode([Visit(referrer: "news.example.org"), Visit()]);
        var otherVersion = body.ToArray();
        otherVersion[0] = 3;

        Assert.Multiple(() =>
        {
            for (var length = 0; length < body.Length; length++)
            {
                Assert.That(VisitMessages.TryDecode(Current, body.AsSpan(0, length)), Is.Null, $"cut to {length} bytes");
            }
            Assert.That(VisitMessages.TryDecode(Current, [.. body, 0]), Is.Null, "a byte too many");
            Assert.That(VisitMessages.TryDecode(Current, otherVersion), Is.Null, "version 3");
            Assert.That(VisitMessages.TryDecode(new BasicProperties { Type = "something.else.v2" }, body), Is.Null, "another type");
            Assert.That(VisitMessages.TryDecode(new BasicProperties { Type = VisitMessages.JsonType }, body), Is.Null, "binary typed as JSON");
        });
    }

    [Test]
    public void A_body_with_a_string_that_is_not_utf8_or_a_reference_past_its_strings_is_no_visits_message()
    {
        var body = VisitMessages.Encode([Visit(code: "Ab")]);
        // Version, 2 strings, then "Ab" (length 2) and "eu-west-1": corrupt the code's first byte.
        Assert.That(body[..5], Is.EqualTo(new byte[] { 2, 2, 2, (byte)'A', (byte)'b' }));
        var notUtf8 = body.ToArray();
        notUtf8[3] = 0xFF;
        var pastStrings = body.ToArray();
        // The code's reference, the first byte after the visit's 64 fixed bytes.
        pastStrings[body.Length - 5] = 9;

        Assert.Multiple(() =>
        {
            Assert.That(VisitMessages.TryDecode(Current, notUtf8), Is.Null, "not UTF-8");
            Assert.That(VisitMessages.TryDecode(Current, pastStrings), Is.Null, "string 9 of 2");
            Assert.That(VisitMessages.TryDecode(Current, body), Is.Not.Null, "the body before it was corrupted");
        });
    }

    [Test]
    public void A_message_of_no_visits_or_of_a_visit_without_its_ids_is_no_visits_message()
    {
        Assert.Multiple(() =>
        {
            Assert.That(VisitMessages.TryDecode(Current, VisitMessages.Encode([])), Is.Null, "no visits");
            Assert.That(VisitMessages.TryDecode(Current, VisitMessages.Encode([Visit() with { LinkId = Guid.Empty }])), Is.Null, "no link id");
        });
    }
}
