using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.HttpsPolicy;
using Microsoft.Extensions.Options;

namespace Shortlink.Infrastructure.Web;

/// <summary>
/// Headers that keep browsers from doing more with an answer than it is for: no content sniffing, no framing,
/// no referrer passed on (a short link's path may be private, and the redirect must not tell the target where
/// its visitor came from), a Content-Security-Policy that lets the service's pages load and run nothing, and
/// HSTS over HTTPS. Set when the answer starts, so that they survive an error handler clearing the response; an
/// endpoint that set its own referrer policy or Content-Security-Policy (the web page at /) keeps it.
/// </summary>
internal static partial class SecurityHeaders
{
    private const string SwaggerPath = "/swagger";

    /// <summary>
    /// The pages' policy: their one stylesheet and nothing else. No form-action: browsers hold a form's redirect
    /// to it too, and the password form's answer is a redirect to the link's target, wherever that is.
    /// </summary>
    private static readonly string PagePolicy =
        $"default-src 'none'; style-src {ErrorPage.StylesheetSource}; base-uri 'none'; frame-ancestors 'none'";

    public static IServiceCollection AddSecurityHeaders(this IServiceCollection services)
    {
        services.AddHsts(_ => { });
        services.AddOptions<HstsOptions>().Configure<IOptions<ShortlinkOptions>>((hsts, shortlink) =>
        {
            hsts.MaxAge = TimeSpan.FromSeconds(shortlink.Value.Security.HstsMaxAgeSeconds);
            hsts.IncludeSubDomains = shortlink.Value.Security.HstsIncludeSubDomains;
            // Loopback is excluded by default, which would leave a local HTTPS set-up untested.
            hsts.ExcludedHosts.Clear();
        });
        return services;
    }

    /// <remarks>A static callback with the response as its state: a closure would be allocated on every request.</remarks>
    private static readonly Func<object, Task> AddHeaders = state =>
    {
        var headers = ((HttpResponse)state).Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers.TryAdd("Referrer-Policy", "no-referrer");
        headers.TryAdd("Content-Security-Policy", PagePolicy);
        return Task.CompletedTask;
    };

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app)
    {
        app.Use(async (context, next) =>
        {
            context.Response.OnStarting(AddHeaders, context.Response);
            if (context.Request.Path.StartsWithSegments(SwaggerPath) && context.Request.Path.Value!.EndsWith(".html", StringComparison.Ordinal))
            {
                await WithSwaggerPolicyAsync(context, next);
                return;
            }
            await next(context);
        });
        if (app.ApplicationServices.GetRequiredService<IOptions<ShortlinkOptions>>().Value.Security.HstsMaxAgeSeconds > 0)
        {
            app.UseHsts();
        }
        return app;
    }

    /// <summary>
    /// Swagger UI runs its own scripts and one inline script that sets it up. The page is buffered so that the
    /// policy can allow that script by its hash: scripts and styles from this service only, requests to this
    /// service only (no document from elsewhere through ?url=), nothing framed, nothing posted.
    /// </summary>
    private static async Task WithSwaggerPolicyAsync(HttpContext context, RequestDelegate next)
    {
        var original = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }
        var html = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        // Hashed as the browser sees the script: its HTML parser turns CRLF and CR into LF (the template has CRLF).
        var scripts = InlineScript().Matches(html)
            .Select(match => match.Groups[1].Value.ReplaceLineEndings("\n"))
            .Select(script => $"'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(script)))}'");
        context.Response.Headers.ContentSecurityPolicy =
            $"default-src 'none'; script-src 'self' {string.Join(' ', scripts)}; style-src 'self' 'unsafe-inline'; " +
            "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
        context.Response.ContentLength = buffer.Length;
        buffer.Position = 0;
        await buffer.CopyToAsync(original, context.RequestAborted);
    }

    [GeneratedRegex(@"<script>(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex InlineScript();
}
