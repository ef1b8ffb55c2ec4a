using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Serilog;
using Serilog.Events;
using Serilog.Templates;

namespace Shortlink.Infrastructure.Telemetry;

internal static class TelemetryExtensions
{
    private static readonly HashSet<string> Unlogged = new(StringComparer.OrdinalIgnoreCase)
    {
        "/health/live", "/health/ready", "/metrics",
    };

    /// <summary>One JSON object per line on stdout, with the W3C trace and span ids of the request.</summary>
    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSerilog((services, logger) => logger
            .ReadFrom.Configuration(builder.Configuration)
            .Enrich.FromLogContext()
            .WriteTo.Console(new ExpressionTemplate(
                "{ {timestamp: @t, level: @l, message: @m, trace_id: @tr, span_id: @sp, exception: @x, ..@p} }\n")));
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("shortlink"))
            .WithMetrics(metrics => metrics
                .AddMeter(ShortlinkMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel",
                    "System.Runtime")
                .AddPrometheusExporter());
        return builder;
    }

    public static IApplicationBuilder UseRequestLogging(this IApplicationBuilder app) =>
        app.UseSerilogRequestLogging(options =>
        {
            options.MessageTemplate = "HTTP {RequestMethod} {RouteTemplate} responded {StatusCode} in {Elapsed:0.000} ms";
            options.EnrichDiagnosticContext = (diagnostics, http) =>
                diagnostics.Set("RouteTemplate", (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(unmatched)");
            options.GetLevel = (http, _, exception) =>
                Unlogged.Contains(http.Request.Path.Value ?? "") ? LogEventLevel.Verbose
                : exception is not null || http.Response.StatusCode >= 500 ? LogEventLevel.Error
                : LogEventLevel.Information;
        });
}
