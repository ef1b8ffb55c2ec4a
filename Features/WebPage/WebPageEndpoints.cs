using Microsoft.AspNetCore.StaticAssets;
using Microsoft.AspNetCore.StaticAssets.Infrastructure;

namespace Shortlink.Features.WebPage;

/// <summary>
/// The page people use in a browser, at /, talking to the public API with the key they paste. Its scripts and styles
/// are static assets: the build fingerprints and compresses them (gzip and Brotli) and MapStaticAssets serves them
/// with ETags, the fingerprinted names immutable for a year. The page itself names them by fingerprint and is
/// revalidated on every load, so a new release is seen at once and an unchanged one costs a 304.
/// </summary>
internal static class WebPageEndpoints
{
    /// <summary>The first path segment of the page's files; LinkRules keeps it from ever being a slug.</summary>
    public const string AssetsSegment = "page";

    /// <summary>
    /// The page's own scripts and styles only, the API for data, blob: for the QR code it fetched with the key, and
    /// nothing framed, posted or based elsewhere. No inline script and no eval, so injected markup cannot run.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static void MapWebPage(this IEndpointRouteBuilder endpoints)
    {
        // Files need none of the API's pipeline: no authentication, quotas or body limits.
        endpoints.MapStaticAssets().ShortCircuit();
        // Rendered at start-up, from the descriptors MapStaticAssets read from the build's manifest (the helper MVC and
        // Razor components use for the same purpose): a file the page names that the build did not make stops the
        // service here instead of failing every visitor.
        var page = PageDocument.Render(PageDocument.Template(),
            FingerprintedRoutes(StaticAssetsEndpointDataSourceHelper.ResolveStaticAssetDescriptors(endpoints, manifestPath: null)));
        endpoints.MapMethods("/", [HttpMethods.Get, HttpMethods.Head], page.WriteAsync)
            .ExcludeFromDescription()
            .ShortCircuit();
    }

    /// <summary>Each asset's name (page/app.js) and the fingerprinted route it is served under (page/app.3kx9vb1c2d.js).</summary>
    private static Dictionary<string, string> FingerprintedRoutes(IReadOnlyList<StaticAssetDescriptor> files) =>
        files
            .Where(asset => asset.Selectors.Count == 0)
            .Select(asset => (asset.Route, Label: asset.Properties.FirstOrDefault(property => property.Name == "label")?.Value))
            .Where(asset => asset.Label is not null)
            .ToDictionary(asset => asset.Label!, asset => asset.Route, StringComparer.Ordinal);
}
