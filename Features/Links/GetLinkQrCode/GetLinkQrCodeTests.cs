using NUnit.Framework;

namespace Shortlink.Features.Links;

public sealed class GetLinkQrCodeTests
{
    [Test]
    public void An_image_is_rendered_once_and_then_served_from_memory()
    {
        var renders = 0;
        using var images = new GetLinkQrCode.Images((url, size, svg) =>
        {
            renders++;
            return GetLinkQrCode.Render(url, size, svg);
        });
        var first = images.GetOrRender("https://sho.rt/abc", 2048, svg: false);
        for (var i = 0; i < 50; i++)
        {
            Assert.That(images.GetOrRender("https://sho.rt/abc", 2048, svg: false), Is.SameAs(first));
        }
        images.GetOrRender("https://sho.rt/abc", 2048, svg: true);
        images.GetOrRender("https://sho.rt/abc", 300, svg: false);
        Assert.That(renders, Is.EqualTo(3));
    }

    [Test]
    public void The_etag_names_the_link_format_and_size()
    {
        var link = Guid.CreateVersion7();
        var etag = GetLinkQrCode.ETag(link, svg: false, 300);
        Assert.Multiple(() =>
        {
            Assert.That(GetLinkQrCode.ETag(link, svg: false, 300), Is.EqualTo(etag));
            Assert.That(GetLinkQrCode.ETag(link, svg: true, 300), Is.Not.EqualTo(etag));
            Assert.That(GetLinkQrCode.ETag(link, svg: false, 301), Is.Not.EqualTo(etag));
            Assert.That(GetLinkQrCode.ETag(Guid.CreateVersion7(), svg: false, 300), Is.Not.EqualTo(etag));
            Assert.That(etag.IsWeak, Is.False);
        });
    }
}
