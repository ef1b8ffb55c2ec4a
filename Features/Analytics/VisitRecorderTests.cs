using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Shortlink.Features.Links;
using Shortlink.Infrastructure;

namespace Shortlink.Features.Analytics;

public sealed class VisitRecorderTests
{
    [Test]
    public void A_visit_keeps_at_most_512_characters_of_its_user_agent_so_the_buffer_has_a_hard_memory_bound()
    {
        var options = Options.Create(new ShortlinkOptions { Visits = { Enabled = true } });
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        // No database: each day gets a salt of this process's own, which is all a hash needs here.
        var hashes = new VisitorHashes(null!, null!, options, TimeProvider.System, NullLogger<VisitorHashes>.Instance);
        using var countries = new VisitorCountries(options, NullLogger<VisitorCountries>.Instance);
        var recorder = new VisitRecorder(hashes, countries, options, services.GetRequiredService<IMeterFactory>(),
            NullLogger<VisitRecorder>.Instance);
        var link = new LinkRow(Guid.CreateVersion7(), "short.example", "AbCdEf1", Guid.CreateVersion7(), "https://example.com/target", null, 302,
            false, null, null, null, 0, DateTime.UtcNow, DateTime.UtcNow);
        var browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        foreach (var userAgent in new[] { browser, browser + new string('x', 30_000) })
        {
            var context = new DefaultHttpContext();
            context.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.7");
            context.Request.Headers.UserAgent = userAgent;
            recorder.Record(context, link, DateTime.UtcNow);
        }
        Assert.Multiple(() =>
        {
            Assert.That(recorder.Reader.TryRead(out var ordinary) ? ordinary.UserAgent : null, Is.EqualTo(browser));
            Assert.That(recorder.Reader.TryRead(out var huge) ? huge.UserAgent : null,
                Is.EqualTo((browser + new string('x', 30_000))[..VisitRecorder.MaxUserAgentLength]));
        });
    }
}
