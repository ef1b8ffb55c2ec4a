using System.Diagnostics;

namespace Shortlink.Infrastructure.Telemetry;

/// <summary>The service's own spans, beside those of ASP.NET Core and the clients it uses.</summary>
internal static class ShortlinkActivities
{
    public const string SourceName = "Shortlink";

    public static readonly ActivitySource Source = new(SourceName);
}
