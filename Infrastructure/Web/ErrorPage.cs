using System.Net;

namespace Shortlink.Infrastructure.Web;

/// <summary>The small HTML page a browser gets instead of problem+json on a visitor-facing path.</summary>
internal static class ErrorPage
{
    public static bool IsWanted(HttpRequest request) =>
        request.GetTypedHeaders().Accept.Any(accept =>
            accept.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase) && accept.Quality is not 0);

    public static IResult Result(int status, string title, string message) =>
        TypedResults.Content(Render(title, message), "text/html; charset=utf-8", statusCode: status);

    public static Task WriteAsync(HttpContext http, int status, string title, string message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "text/html; charset=utf-8";
        http.Response.Headers.CacheControl = "no-store";
        return http.Response.WriteAsync(Render(title, message), http.RequestAborted);
    }

    private static string Render(string title, string message) => $"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{WebUtility.HtmlEncode(title)}</title>
        <style>body{"{"}font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:15vh auto;padding:0 1rem;color:#222{"}"}</style>
        </head><body><h1>{WebUtility.HtmlEncode(title)}</h1><p>{WebUtility.HtmlEncode(message)}</p></body></html>
        """;
}
