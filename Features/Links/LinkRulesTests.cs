using NUnit.Framework;

namespace Shortlink.Features.Links;

public sealed class LinkRulesTests
{
    [Test]
    public void NewCode_is_seven_base62_characters()
    {
        for (var i = 0; i < 1000; i++)
        {
            var code = LinkRules.NewCode();
            Assert.That(code, Has.Length.EqualTo(7).And.Match("^[0-9A-Za-z]{7}$"));
        }
    }

    [Test]
    public void NewCode_draws_from_the_whole_alphabet_without_repeats()
    {
        var codes = Enumerable.Range(0, 20_000).Select(_ => LinkRules.NewCode()).ToList();
        var characters = codes.SelectMany(c => c).Distinct().Count();
        Assert.Multiple(() =>
        {
            Assert.That(codes.Distinct(StringComparer.Ordinal).Count(), Is.EqualTo(codes.Count));
            Assert.That(characters, Is.EqualTo(62));
        });
    }

    [TestCase("abc", true)]
    [TestCase("My_Slug-2026", true)]
    [TestCase("ab", false)]
    [TestCase("a-very-long-slug-that-goes-on-and-on-and-on-past-sixty-four-chars-x", false)]
    [TestCase("with space", false)]
    [TestCase("dot.ted", false)]
    [TestCase("slash/ed", false)]
    [TestCase("ünïcode", false)]
    [TestCase("semi;colon", false)]
    [TestCase("abc\n", false)]
    public void Slug_shape(string slug, bool wellFormed) =>
        Assert.That(LinkRules.IsWellFormedSlug(slug), Is.EqualTo(wellFormed));

    [TestCase("api")]
    [TestCase("API")]
    [TestCase("Swagger")]
    [TestCase("openapi")]
    [TestCase("metrics")]
    [TestCase("health")]
    [TestCase("static")]
    [TestCase("favicon")]
    public void Reserved_words_are_refused_in_any_case(string slug) =>
        Assert.That(LinkRules.IsReserved(slug), Is.True);

    [Test]
    public void The_web_pages_folder_is_a_slug_no_one_can_take() =>
        Assert.Multiple(() =>
        {
            Assert.That(LinkRules.IsWellFormedSlug(WebPage.WebPageEndpoints.AssetsSegment), Is.True, "shaped like a slug, so it must be reserved");
            Assert.That(LinkRules.IsReserved(WebPage.WebPageEndpoints.AssetsSegment), Is.True);
        });

    [TestCase("favicon.ico")]
    [TestCase("robots.txt")]
    [TestCase(".well-known")]
    public void Static_file_names_can_never_be_slugs(string path) =>
        Assert.That(LinkRules.IsWellFormedSlug(path), Is.False);

    [TestCase("https://example.com")]
    [TestCase("http://example.com/path?q=1#frag")]
    [TestCase("HTTPS://Example.COM/Case/Kept")]
    [TestCase("https://example.com:8443/x")]
    [TestCase("https://[2001:db8::1]/x")]
    [TestCase("https://example.com/a%20b?x=%C3%A9")]
    public void Valid_urls_are_kept_exactly(string url)
    {
        Assert.That(LinkRules.TryNormalizeUrl(url, out var normalized, out var error), Is.True, error);
        Assert.That(normalized, Is.EqualTo(url));
    }

    [TestCase("https://bücher.example/straße?q=ü#é", "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC#%C3%A9")]
    [TestCase("https://example.com/a b", "https://example.com/a%20b")]
    [TestCase("https://example.com/<script>", "https://example.com/%3Cscript%3E")]
    [TestCase("  https://example.com/trimmed  ", "https://example.com/trimmed")]
    [TestCase("https://例え.jp:8080/パス", "https://xn--r8jz45g.jp:8080/%E3%83%91%E3%82%B9")]
    [TestCase("https://example.com/emoji/😀", "https://example.com/emoji/%F0%9F%98%80")]
    [TestCase("https://example.com/%zz?q=100%&r=%4", "https://example.com/%25zz?q=100%25&r=%254")]
    [TestCase("https://example.com/ok%20?q=%e9%C3%A9", "https://example.com/ok%20?q=%e9%C3%A9")]
    public void Urls_are_made_ascii_for_the_location_header(string url, string expected)
    {
        Assert.That(LinkRules.TryNormalizeUrl(url, out var normalized, out var error), Is.True, error);
        Assert.That(normalized, Is.EqualTo(expected));
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("   ")]
    [TestCase("example.com")]
    [TestCase("/relative/path")]
    [TestCase("//example.com/protocol-relative")]
    [TestCase("javascript:alert(1)")]
    [TestCase("JavaScript://example.com/%0aalert(1)")]
    [TestCase("data:text/html,<script>alert(1)</script>")]
    [TestCase("file:///etc/passwd")]
    [TestCase("ftp://example.com/file")]
    [TestCase("mailto:someone@example.com")]
    [TestCase("http://")]
    [TestCase("https:///no-host")]
    [TestCase("http:\\\\example.com")]
    [TestCase("https://example.com/\u0000null")]
    [TestCase("https://example.com/\r\nSet-Cookie: x=1")]
    [TestCase("https://exa mple.com/")]
    [TestCase("https://good.example@evil.example/")]
    [TestCase("https://user:password@example.com/")]
    [TestCase("https://good.example%40evil.example@evil.example/")]
    [TestCase("https://p\u0430ypal.com/")]
    [TestCase("https://xn--pypal-4ve.com/")]
    [TestCase("https://\u0430pple.com/")]
    [TestCase("https://g\u03BFogle.com/")]
    public void Refused_urls(string? url) =>
        Assert.That(LinkRules.TryNormalizeUrl(url, out _, out var error), Is.False, $"accepted {url}: {error}");

    [TestCase("https://bücher.example/")]
    [TestCase("https://例え.jp/")]
    [TestCase("https://яндекс.рф/")]
    [TestCase("https://ελληνικά.gr/")]
    [TestCase("https://Sony-ソニー.jp/")]
    [TestCase("https://xn--r8jz45g.jp/")]
    [TestCase("https://a1-b2.example/")]
    public void Hosts_in_one_script_or_an_allowed_mix_are_accepted(string url) =>
        Assert.That(LinkRules.TryNormalizeUrl(url, out _, out var error), Is.True, error);

    [Test]
    public void Url_length_is_capped_at_2048()
    {
        var prefix = "https://example.com/";
        var fits = prefix + new string('a', 2048 - prefix.Length);
        Assert.Multiple(() =>
        {
            Assert.That(LinkRules.TryNormalizeUrl(fits, out _, out _), Is.True);
            Assert.That(LinkRules.TryNormalizeUrl(fits + "a", out _, out _), Is.False);
        });
    }

    [TestCase("campaign", true)]
    [TestCase("Ünïcödé tag", true)]
    [TestCase("", false)]
    [TestCase(" padded", false)]
    [TestCase("tab\there", false)]
    [TestCase("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", false)]
    public void Tag_shape(string tag, bool valid) =>
        Assert.That(LinkRules.IsValidTag(tag), Is.EqualTo(valid));

    [TestCase("abc", true)]
    [TestCase("A", true)]
    [TestCase("", false)]
    [TestCase("abc ", false)]
    [TestCase("favicon.ico", false)]
    [TestCase("a%20b", false)]
    public void Possible_codes_gate_lookups(string value, bool possible) =>
        Assert.That(LinkRules.IsPossibleCode(value), Is.EqualTo(possible));
}
