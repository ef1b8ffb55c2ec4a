using NUnit.Framework;

namespace Shortlink.Features.Analytics;

public sealed class UserAgentsTests
{
    private static readonly UserAgents Agents = UserAgents.Embedded.Value;

    [TestCase("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Chrome", "Windows", Devices.Desktop)]
    [TestCase("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        "Safari", "Mac OS X", Devices.Desktop)]
    [TestCase("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox", "Linux", Devices.Desktop)]
    [TestCase("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mobile Safari", "iOS", Devices.Mobile)]
    [TestCase("Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
        "Mobile Safari", "iOS", Devices.Tablet)]
    [TestCase("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        "Chrome Mobile", "Android", Devices.Mobile)]
    [TestCase("Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Chrome", "Android", Devices.Tablet)]
    public void Browsers_systems_and_devices_come_from_uap_core(string userAgent, string browser, string os, string device) =>
        Assert.That(Agents.Classify(userAgent), Is.EqualTo(new UserAgentClass(browser, os, device, false)));

    [TestCase("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")]
    [TestCase("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")]
    [TestCase("Twitterbot/1.0")]
    [TestCase("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)")]
    [TestCase("LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)")]
    [TestCase("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)")]
    [TestCase("WhatsApp/2.23.20.0 A")]
    [TestCase("TelegramBot (like TwitterBot)")]
    [TestCase("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0")]
    [TestCase("curl/8.5.0")]
    [TestCase("python-requests/2.32.3")]
    public void Crawlers_and_link_preview_fetchers_are_bots(string userAgent)
    {
        var found = Agents.Classify(userAgent);
        Assert.Multiple(() =>
        {
            Assert.That(found.IsBot, Is.True, userAgent);
            Assert.That(found.Device, Is.EqualTo(Devices.Bot));
        });
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("   ")]
    public void A_missing_user_agent_is_unknown(string? userAgent) =>
        Assert.That(Agents.Classify(userAgent), Is.EqualTo(UserAgentClass.Unknown));

    [Test]
    public void Answers_are_remembered_per_string_and_the_memory_is_bounded()
    {
        var agents = UserAgents.From("""
            user_agent_parsers:
              - regex: '(Browser)/(\d+)'
            os_parsers:
              - regex: '(Os)'
            device_parsers:
              - regex: 'Other'
                device_replacement: 'Other'
            """, ["bot"]);
        for (var i = 0; i < UserAgents.MaxRemembered + 10; i++)
        {
            Assert.That(agents.Classify($"Browser/{i} Os").Browser, Is.EqualTo("Browser"));
        }
        Assert.That(agents.Classify("a bot").IsBot, Is.True);
    }
}
