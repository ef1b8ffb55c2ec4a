using Microsoft.AspNetCore.Http;
using NUnit.Framework;

namespace Shortlink.Features.WebPage;

public sealed class PageDocumentTests
{
    private static readonly Dictionary<string, string> Routes = new()
    {
        ["page/app.js"] = "page/app.abc123.js",
        ["page/app.css"] = "page/app.def456.css",
    };

    private static async Task<string> BodyAsync(PageDocument page)
    {
        var context = new DefaultHttpContext();
        using var body = new MemoryStream();
        context.Response.Body = body;
        await page.WriteAsync(context);
        return System.Text.Encoding.UTF8.GetString(body.ToArray());
    }

    [Test]
    public async Task The_files_the_page_names_get_their_fingerprinted_routes()
    {
        var page = PageDocument.Render("""<link href="/page/app.css"><script src="/page/app.js" data-x="/elsewhere.js"></script>""", Routes);
        Assert.That(await BodyAsync(page),
            Is.EqualTo("""<link href="/page/app.def456.css"><script src="/page/app.abc123.js" data-x="/elsewhere.js"></script>"""));
    }

    [Test]
    public void A_file_the_build_did_not_make_stops_the_page_from_being_rendered() =>
        Assert.That(() => PageDocument.Render("""<script src="/page/missing.js"></script>""", Routes),
            Throws.InvalidOperationException.With.Message.Contains("/page/missing.js"));

    [Test]
    public void The_page_is_embedded_in_the_service_naming_its_files_by_path()
    {
        var template = PageDocument.Template();
        Assert.That(template, Does.Contain("\"/page/app.js\"").And.Contain("\"/page/app.css\""));
    }
}
