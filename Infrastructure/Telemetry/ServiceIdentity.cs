using System.Diagnostics.Metrics;
using System.Reflection;
using Microsoft.Extensions.Options;

namespace Shortlink.Infrastructure.Telemetry;

/// <summary>
/// Which process this is, as every log line, span and scrape names it: the service, the instance (the host name, a
/// container's id under Docker), its role, region and version.
/// </summary>
internal sealed record ServiceIdentity(string Service, string Instance, string Role, string Region, string Version)
{
    public static ServiceIdentity Of(ShortlinkOptions options) => new(
        "shortlink",
        Environment.MachineName,
        options.Role.ToString().ToLowerInvariant(),
        options.Visits.Region,
        typeof(ServiceIdentity).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown");

    /// <summary>
    /// shortlink_build_info{version, role, region} = 1, the usual way to count instances by role and version in
    /// Prometheus; and shortlink_process_memory_limit_bytes, what the memory alert compares the working set with.
    /// </summary>
    public static void Observe(IMeterFactory meters, IOptions<ShortlinkOptions> options)
    {
        var identity = Of(options.Value);
        var meter = meters.Create(ShortlinkMetrics.MeterName);
        meter.CreateObservableGauge("shortlink.build.info", () => new Measurement<int>(1,
            new KeyValuePair<string, object?>("version", identity.Version), new KeyValuePair<string, object?>("role", identity.Role),
            new KeyValuePair<string, object?>("region", identity.Region)), description: "1 for each running instance, by version, role and region");
        // The GC's own limit: the container's memory limit under Docker, else the machine's memory.
        meter.CreateObservableGauge("shortlink.process.memory.limit", () => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, "By",
            "The memory this process may use: its container's limit, or the machine's memory");
    }
}

/// <summary>
/// Starts the identity's gauges with the service (not with a command such as migrate). Registered before every other
/// hosted service and taking the meter provider, it makes the provider listen before they are constructed: the zeros
/// their counters start at (so that the first increase is seen by rate() and increase()) would otherwise go unheard.
/// </summary>
internal sealed class ServiceIdentityMetrics(IMeterFactory meters, IOptions<ShortlinkOptions> options, OpenTelemetry.Metrics.MeterProvider listening)
    : IHostedService
{
    public OpenTelemetry.Metrics.MeterProvider Provider => listening;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        ServiceIdentity.Observe(meters, options);
        ShortlinkMetrics.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
