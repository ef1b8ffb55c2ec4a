using System.Diagnostics.Metrics;

namespace Shortlink.Infrastructure.Telemetry;

/// <summary>Business counters; exported at /metrics as shortlink_links_created_total and shortlink_redirects_total.</summary>
internal static class ShortlinkMetrics
{
    public const string MeterName = "Shortlink";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> LinksCreated = Meter.CreateCounter<long>("shortlink.links.created", "{link}",
        "Links created through the API");
    private static readonly Counter<long> Redirects = Meter.CreateCounter<long>("shortlink.redirects", "{redirect}",
        "Redirects answered, by status code");

    public static void LinkCreated(int count = 1)
    {
        if (count > 0)
        {
            LinksCreated.Add(count);
        }
    }

    public static void Redirected(int status) =>
        Redirects.Add(1, new KeyValuePair<string, object?>("http.response.status_code", status));
}
