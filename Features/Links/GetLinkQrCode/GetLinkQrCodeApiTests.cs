using System.Net;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Links;

public sealed class GetLinkQrCodeApiTests : ApiTestBase
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Test]
    public async Task Qr_defaults_to_a_png_no_wider_than_asked()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/qr" })).GetProperty("code").GetString();
        using var response = await Http.GetAsync($"/api/v1/links/{code}/qr?size=200");
        var png = await response.Content.ReadAsByteArrayAsync();
        var width = (png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19];
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("image/png"));
            Assert.That(png.Take(8), Is.EqualTo(PngSignature));
            Assert.That(width, Is.InRange(100, 200));
        });
    }

    [Test]
    public async Task Qr_answers_carry_an_etag_and_a_matching_if_none_match_gets_304_without_the_image()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/qr-etag" })).GetProperty("code").GetString();
        using var first = await Http.GetAsync($"/api/v1/links/{code}/qr?size=2048");
        using var again = await Http.GetAsync($"/api/v1/links/{code}/qr?size=2048");
        using var otherSize = await Http.GetAsync($"/api/v1/links/{code}/qr?size=1024");
        using var svg = await Http.GetAsync($"/api/v1/links/{code}/qr?size=2048&format=svg");
        using var conditional = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/links/{code}/qr?size=2048");
        conditional.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var notModified = await Http.SendAsync(conditional);
        Assert.Multiple(async () =>
        {
            Assert.That(first.Headers.ETag, Is.Not.Null);
            Assert.That(first.Headers.NonValidated["Cache-Control"].ToString(), Is.EqualTo("private, max-age=86400"));
            Assert.That(again.Headers.ETag, Is.EqualTo(first.Headers.ETag));
            Assert.That(await again.Content.ReadAsByteArrayAsync(), Is.EqualTo(await first.Content.ReadAsByteArrayAsync()));
            Assert.That(otherSize.Headers.ETag, Is.Not.EqualTo(first.Headers.ETag));
            Assert.That(svg.Headers.ETag, Is.Not.EqualTo(first.Headers.ETag));
            Assert.That(notModified.StatusCode, Is.EqualTo(HttpStatusCode.NotModified));
            Assert.That(notModified.Headers.ETag, Is.EqualTo(first.Headers.ETag));
            Assert.That(await notModified.Content.ReadAsByteArrayAsync(), Is.Empty);
        });
    }

    [Test]
    public async Task A_deleted_links_etag_no_longer_gets_304()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/qr-deleted" })).GetProperty("code").GetString();
        using var first = await Http.GetAsync($"/api/v1/links/{code}/qr");
        (await Http.DeleteAsync($"/api/v1/links/{code}")).Dispose();
        using var conditional = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/links/{code}/qr");
        conditional.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var response = await Http.SendAsync(conditional);
        await AssertProblemAsync(response, HttpStatusCode.NotFound, "urn:shortlink:problem:link-not-found");
    }

    [Test]
    public async Task Qr_as_svg()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/qr-svg" })).GetProperty("code").GetString();
        using var response = await Http.GetAsync($"/api/v1/links/{code}/qr?format=svg");
        Assert.Multiple(async () =>
        {
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("image/svg+xml"));
            Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("<svg"));
        });
    }

    [TestCase("size=10", "size")]
    [TestCase("size=5000", "size")]
    [TestCase("format=gif", "format")]
    public async Task Qr_options_are_bounded(string query, string field)
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/qr-bounds" })).GetProperty("code").GetString();
        using var response = await Http.GetAsync($"/api/v1/links/{code}/qr?{query}");
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:shortlink:problem:validation-failed");
        Assert.That(problem.GetProperty("errors").EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { field }));
    }

    [Test]
    public async Task Qr_size_that_is_not_a_number_returns_400()
    {
        using var response = await Http.GetAsync("/api/v1/links/whatever/qr?size=big");
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:shortlink:problem:malformed-request");
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("size"));
    }

    [Test]
    public async Task Qr_of_an_unknown_code_returns_404()
    {
        using var response = await Http.GetAsync("/api/v1/links/missing-qr/qr");
        await AssertProblemAsync(response, HttpStatusCode.NotFound, "urn:shortlink:problem:link-not-found");
    }
}
