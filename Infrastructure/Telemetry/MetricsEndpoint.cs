using Microsoft.Extensions.Options;
using Prometheus;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Infrastructure.Telemetry;

/// <summary>
/// The one scrape endpoint, /metrics: OpenTelemetry's Prometheus exporter writes the service's, ASP.NET Core's, the
/// runtime's, MySqlConnector's and FusionCache's instruments, then prometheus-net appends its process collector. That
/// collector gives the process_* family every Prometheus client library exports under the same names
/// (process_cpu_seconds_total, process_working_set_bytes, process_open_handles, process_start_time_seconds...), which
/// stock alerts and dashboards expect and which OpenTelemetry's .NET runtime meter does not produce.
/// </summary>
internal static class MetricsEndpoint
{
    private static readonly CollectorRegistry Process = ProcessRegistry();

    public static IEndpointConventionBuilder MapMetrics(this WebApplication app) =>
        app.MapPrometheusScrapingEndpoint("/metrics", meterProvider: null, configureBranchedPipeline: branch => branch.Use(AppendProcessAsync),
                optionsName: null)
            .WithMetadata(new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head]))
            .RestrictedTo(app.Services.GetRequiredService<IOptions<ShortlinkOptions>>().Value.Network.MetricsNetworks);

    private static CollectorRegistry ProcessRegistry()
    {
        var registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(registry);
        return registry;
    }

    private static async Task AppendProcessAsync(HttpContext http, RequestDelegate next)
    {
        // The text format: OpenMetrics ends with "# EOF", after which nothing may follow, and a compressed body could
        // not be appended to.
        http.Request.Headers.Accept = "text/plain; version=0.0.4";
        http.Request.Headers.AcceptEncoding = default;
        await next(http);
        if (http.Response.StatusCode == StatusCodes.Status200OK && !HttpMethods.IsHead(http.Request.Method))
        {
            await Process.CollectAndExportAsTextAsync(http.Response.Body, ExpositionFormat.PrometheusText, http.RequestAborted);
        }
    }
}
