using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Shortlink.Infrastructure.Web;

/// <summary>
/// The small HTML pages a browser gets on a visitor-facing path: errors instead of problem+json, and the
/// password form. They load nothing and run no script; their one inline stylesheet is allowed by its hash
/// in the Content-Security-Policy, so that nothing injected into a page could style or script it.
/// </summary>
internal static class ErrorPage
{
    private const string Stylesheet =
        "body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:15vh auto;padding:0 1rem;color:#222}" +
        "input,button{font:inherit;padding:.4rem .6rem}label{display:block;margin:1rem 0 .5rem}";

    /// <summary>The CSP source that allows the pages' stylesheet and nothing else.</summary>
    public static readonly string StylesheetSource =
        $"'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(Stylesheet)))}'";

    public static bool IsWanted(HttpRequest request) =>
        request.GetTypedHeaders().Accept.Any(accept =>
            accept.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase) && accept.Quality is not 0);

    public static IResult Result(int status, string title, string message) =>
        HtmlResult(status, title, Paragraph(message));

    public static IResult HtmlResult(int status, string title, string bodyHtml) =>
        TypedResults.Content(Render(title, bodyHtml), "text/html; charset=utf-8", statusCode: status);

    public static Task WriteAsync(HttpContext http, int status, string title, string message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "text/html; charset=utf-8";
        http.Response.Headers.CacheControl = "no-store";
        return http.Response.WriteAsync(Render(title, Paragraph(message)), http.RequestAborted);
    }

    public static string Paragraph(string text) => $"<p>{WebUtility.HtmlEncode(text)}</p>";

    private static string Render(string title, string bodyHtml) => $"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="robots" content="noindex"><title>{WebUtility.HtmlEncode(title)}</title>
        <style>{Stylesheet}</style>
        </head><body><h1>{WebUtility.HtmlEncode(title)}</h1>{bodyHtml}</body></html>
        """;
}
