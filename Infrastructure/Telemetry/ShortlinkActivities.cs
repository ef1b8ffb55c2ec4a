using System.Diagnostics;

namespace Shortlink.Infrastructure.Telemetry;

/// <summary>The service's own spans, beside those of ASP.NET Core and the clients it uses.</summary>
internal static class ShortlinkActivities
{
    public const string SourceName = "Shortlink";

    /// <summary>"hit" when Redis (or memory) had the link, "loaded" when the database was asked.</summary>
    public const string CacheResultTag = "shortlink.cache.result";

    public const string LinkFoundTag = "shortlink.link.found";

    public static readonly ActivitySource Source = new(SourceName);
}
