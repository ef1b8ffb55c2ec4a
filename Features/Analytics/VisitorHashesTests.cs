using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Shortlink.Infrastructure;

namespace Shortlink.Features.Analytics;

/// <summary>Each thread keeps an HMAC keyed with the day's salt; a hash must not depend on which thread made it, or on the hash before.</summary>
public sealed class VisitorHashesTests
{
    private const string Browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    private static readonly IPAddress Visitor = IPAddress.Parse("203.0.113.7");
    private static readonly DateTime Today = new(2026, 12, 2, 10, 0, 0, DateTimeKind.Utc);

    // No database: each day gets a salt of this process's own, which is all a hash needs here.
    private readonly VisitorHashes hashes = new(null!, null!, Options.Create(new ShortlinkOptions { Visits = { Enabled = true } }),
        TimeProvider.System, NullLogger<VisitorHashes>.Instance);

    [Test]
    public void A_visitor_hashes_alike_on_every_thread_that_day_and_differently_the_next_day()
    {
        var first = hashes.Hash(Visitor, Browser, Today);
        var onOtherThreads = Enumerable.Range(0, 8).AsParallel().WithDegreeOfParallelism(8)
            .Select(_ => hashes.Hash(Visitor, Browser, Today.AddHours(5))).ToHashSet();
        Assert.Multiple(() =>
        {
            Assert.That(onOtherThreads, Is.EquivalentTo(new[] { first }));
            Assert.That(hashes.Hash(Visitor, Browser, Today.AddDays(1)), Is.Not.EqualTo(first));
            Assert.That(hashes.Hash(Visitor, Browser, Today), Is.EqualTo(first), "back on the first day's salt");
        });
    }

    [Test]
    public void Each_hash_starts_afresh_and_tells_visitors_apart()
    {
        var first = hashes.Hash(Visitor, Browser, Today);
        var otherAddress = hashes.Hash(IPAddress.Parse("203.0.113.8"), Browser, Today);
        var otherBrowser = hashes.Hash(Visitor, Browser.Replace("131", "132", StringComparison.Ordinal), Today);
        var noUserAgent = hashes.Hash(Visitor, null, Today);
        Assert.Multiple(() =>
        {
            Assert.That(new[] { first, otherAddress, otherBrowser, noUserAgent }, Is.Unique);
            Assert.That(hashes.Hash(Visitor, Browser, Today), Is.EqualTo(first));
        });
    }
}
