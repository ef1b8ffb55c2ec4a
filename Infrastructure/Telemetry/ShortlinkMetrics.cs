using System.Diagnostics.Metrics;

namespace Shortlink.Infrastructure.Telemetry;

/// <summary>
/// Business counters and the service's own gauges; exported at /metrics as shortlink_links_created_total and
/// shortlink_redis_connected. Features add theirs to the same meter (shortlink_redirects_total, shortlink_visits_*).
/// </summary>
internal static class ShortlinkMetrics
{
    public const string MeterName = "Shortlink";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> LinksCreated = Meter.CreateCounter<long>("shortlink.links.created", "{link}",
        "Links created through the API");

    /// <summary>Once a meter provider listens: a measurement before it would go unheard.</summary>
    public static void Start() => LinksCreated.StartingAtZero();

    /// <summary>
    /// Reports 1 while the given check says Redis is connected, 0 otherwise, on a meter of the service instance's
    /// own (the gauge lives as long as the connection it reads); nothing without Redis.
    /// </summary>
    public static void ObserveRedis(IMeterFactory meters, Func<bool> isConnected) =>
        meters.Create(MeterName).CreateObservableGauge("shortlink.redis.connected", () => isConnected() ? 1 : 0, "{connected}",
            "1 while the connection to Redis is up; 0 while the cache goes on without it");

    /// <summary>
    /// The counter's series, each reported as 0 from the start: Prometheus's rate() and increase() miss the first
    /// increment of a series that appears at 1, and an alert on it would never fire for the first event.
    /// </summary>
    public static Counter<long> StartingAtZero(this Counter<long> counter, string? label = null, params string[] values)
    {
        if (label is null)
        {
            counter.Add(0);
            return counter;
        }
        foreach (var value in values)
        {
            counter.Add(0, new KeyValuePair<string, object?>(label, value));
        }
        return counter;
    }

    public static void LinkCreated(int count = 1)
    {
        if (count > 0)
        {
            LinksCreated.Add(count);
        }
    }
}
