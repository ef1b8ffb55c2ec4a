using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.WebPage;

/// <summary>
/// The page and its files over HTTP: the page names its files by fingerprint and is revalidated; the files answer
/// immutable for a year, with ETags, 304 on revalidation and Brotli or gzip when the client takes them.
/// </summary>
public sealed partial class WebPageApiTests : ApiTestBase
{
    private async Task<HttpResponseMessage> GetAsync(string path, string? acceptEncoding = null, string? ifNoneMatch = null, HttpMethod? method = null)
    {
        using var browser = NewClient(key: null);
        using var request = new HttpRequestMessage(method ?? HttpMethod.Get, path);
        if (acceptEncoding is not null)
        {
            request.Headers.AcceptEncoding.ParseAdd(acceptEncoding);
        }
        if (ifNoneMatch is not null)
        {
            request.Headers.IfNoneMatch.Add(EntityTagHeaderValue.Parse(ifNoneMatch));
        }
        return await browser.SendAsync(request);
    }

    private async Task<string> PageAsync()
    {
        using var response = await GetAsync("/");
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The files the page names: stylesheets, scripts and the chart module it loads when stats are opened.</summary>
    private async Task<List<string>> PageFilesAsync() =>
        FileReference().Matches(await PageAsync()).Select(match => match.Groups["path"].Value).Distinct().ToList();

    [Test]
    public async Task The_page_is_at_the_root_under_a_strict_policy_and_revalidated_on_every_load()
    {
        using var response = await GetAsync("/");
        var html = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(Header(response, "Content-Type"), Is.EqualTo("text/html; charset=utf-8"));
            Assert.That(Header(response, "Content-Security-Policy"), Is.EqualTo(WebPageEndpoints.ContentSecurityPolicy));
            Assert.That(Header(response, "Content-Security-Policy"), Does.Contain("script-src 'self';").And.Not.Contain("unsafe"));
            Assert.That(Header(response, "X-Frame-Options"), Is.EqualTo("DENY"));
            Assert.That(Header(response, "Referrer-Policy"), Is.EqualTo("same-origin"));
            Assert.That(Header(response, "X-Content-Type-Options"), Is.EqualTo("nosniff"));
            Assert.That(Header(response, "Cache-Control"), Is.EqualTo("no-cache"));
            Assert.That(Header(response, "ETag"), Is.Not.Empty);
            Assert.That(InlineScript().IsMatch(html), Is.False, "every script is a file of its own");
        });
    }

    [Test]
    public async Task The_page_names_every_file_by_its_fingerprint()
    {
        var files = await PageFilesAsync();
        Assert.That(files, Has.Some.Match(@"^/page/app\.[a-z0-9]+\.js$"));
        Assert.That(files, Has.Some.Match(@"^/page/app\.[a-z0-9]+\.css$"));
        Assert.That(files, Has.Some.Match(@"^/page/vendor/uplot/uPlot\.esm\.[a-z0-9]+\.js$"));
        foreach (var file in files)
        {
            using var response = await GetAsync(file);
            Assert.Multiple(() =>
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), file);
                Assert.That(Header(response, "Cache-Control"), Is.EqualTo("max-age=31536000, immutable"), file);
                Assert.That(Header(response, "ETag"), Is.Not.Empty, file);
            });
        }
    }

    [Test]
    public async Task A_file_revalidated_with_its_etag_answers_304_without_a_body()
    {
        var script = (await PageFilesAsync()).First(file => file.EndsWith(".js", StringComparison.Ordinal));
        using var first = await GetAsync(script);
        using var again = await GetAsync(script, ifNoneMatch: Header(first, "ETag"));
        Assert.Multiple(async () =>
        {
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.NotModified));
            Assert.That(await again.Content.ReadAsByteArrayAsync(), Is.Empty);
        });
    }

    [Test]
    public async Task The_page_revalidated_with_its_etag_answers_304_and_a_head_has_no_body()
    {
        using var first = await GetAsync("/", acceptEncoding: "br");
        using var again = await GetAsync("/", acceptEncoding: "br", ifNoneMatch: Header(first, "ETag"));
        using var otherEncoding = await GetAsync("/", acceptEncoding: "gzip", ifNoneMatch: Header(first, "ETag"));
        using var head = await GetAsync("/", method: HttpMethod.Head);
        Assert.Multiple(async () =>
        {
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.NotModified));
            Assert.That(otherEncoding.StatusCode, Is.EqualTo(HttpStatusCode.OK), "each encoding has an ETag of its own");
            Assert.That(head.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await head.Content.ReadAsByteArrayAsync(), Is.Empty);
        });
    }

    [TestCase("/")]
    [TestCase("script")]
    [TestCase("stylesheet")]
    public async Task Brotli_and_gzip_are_served_to_clients_that_take_them(string which)
    {
        var files = await PageFilesAsync();
        var path = which switch
        {
            "script" => files.First(file => file.EndsWith(".js", StringComparison.Ordinal)),
            "stylesheet" => files.First(file => file.EndsWith(".css", StringComparison.Ordinal)),
            _ => which,
        };
        using var plain = await GetAsync(path);
        var original = await plain.Content.ReadAsByteArrayAsync();
        foreach (var (encoding, decompress) in new (string, Func<Stream, Stream>)[]
                 {
                     ("br", body => new BrotliStream(body, CompressionMode.Decompress)),
                     ("gzip", body => new GZipStream(body, CompressionMode.Decompress)),
                 })
        {
            using var compressed = await GetAsync(path, acceptEncoding: encoding);
            var body = await compressed.Content.ReadAsByteArrayAsync();
            using var decompressed = new MemoryStream();
            await using (var stream = decompress(new MemoryStream(body)))
            {
                await stream.CopyToAsync(decompressed);
            }
            Assert.Multiple(() =>
            {
                Assert.That(Header(compressed, "Content-Encoding"), Is.EqualTo(encoding), path);
                Assert.That(Header(compressed, "Vary"), Does.Contain("Accept-Encoding"), path);
                Assert.That(body, Has.Length.LessThan(original.Length), path);
                Assert.That(decompressed.ToArray(), Is.EqualTo(original), path);
            });
        }
        Assert.That(Header(plain, "Content-Encoding"), Is.Empty, "identity to a client that takes no encoding");
    }

    [Test]
    public async Task A_slug_cannot_take_the_pages_folder()
    {
        using var response = await Http.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/", slug = WebPageEndpoints.AssetsSegment });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [GeneratedRegex(@"(?:href|src|data-[a-z-]+)=""(?<path>/page/[^""]+)""")]
    private static partial Regex FileReference();

    [GeneratedRegex(@"<script(?![^>]*\bsrc=)[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex InlineScript();
}
