using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Templates;

namespace Shortlink.Infrastructure.Telemetry;

internal static class TelemetryExtensions
{
    private static readonly HashSet<string> Unlogged = new(StringComparer.OrdinalIgnoreCase)
    {
        "/health/live", "/health/ready", "/metrics",
    };

    /// <summary>
    /// One JSON object per line on stdout, with the W3C trace and span ids of the request; on stderr for a
    /// command (migrate, keys), whose stdout is its answer.
    /// </summary>
    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder, bool logToStandardError = false)
    {
        builder.Services.AddSerilog((services, logger) => logger
            .ReadFrom.Configuration(builder.Configuration)
            .ReadFrom.Services(services)
            .Enrich.FromLogContext()
            .WriteTo.Console(new ExpressionTemplate(
                    "{ {timestamp: @t, level: @l, message: @m, trace_id: @tr, span_id: @sp, exception: @x, ..@p} }\n"),
                standardErrorFromLevel: logToStandardError ? LogEventLevel.Verbose : null));
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("shortlink"))
            .WithMetrics(metrics => metrics
                .AddMeter(ShortlinkMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel",
                    "System.Runtime")
                .AddPrometheusExporter());
        return builder;
    }

    /// <summary>
    /// Marks the visitor's redirect, whose request lines are logged at <see cref="TelemetryOptions.VisitLogLevel"/>
    /// (Debug by default): a line per click at Information would cost more than the redirect itself.
    /// </summary>
    public static RouteHandlerBuilder LoggedAsVisit(this RouteHandlerBuilder builder) => builder.WithMetadata(Visit.Instance);

    /// <summary>
    /// One line per request with the status the client really got, so it must wrap the exception handler.
    /// </summary>
    public static IApplicationBuilder UseRequestLogging(this IApplicationBuilder app)
    {
        var visitLevel = app.ApplicationServices.GetRequiredService<IOptions<ShortlinkOptions>>().Value.Telemetry.VisitLogLevel;
        // Given once: left unset, the middleware would ask the static logger for a contextual one on every request.
        var requestLogger = app.ApplicationServices.GetRequiredService<Serilog.ILogger>().ForContext(Constants.SourceContextPropertyName, "Serilog.AspNetCore.RequestLoggingMiddleware");
        return app.UseSerilogRequestLogging(options =>
        {
            options.Logger = requestLogger;
            options.MessageTemplate = "HTTP {RequestMethod} {RouteTemplate} responded {StatusCode} in {Elapsed:0.000} ms";
            options.EnrichDiagnosticContext = (diagnostics, http) =>
            {
                // After an exception the handler has cleared the endpoint; its feature still knows it.
                var endpoint = http.GetEndpoint() ?? http.Features.Get<IExceptionHandlerFeature>()?.Endpoint;
                diagnostics.Set("RouteTemplate", (endpoint as RouteEndpoint)?.RoutePattern.RawText ?? "(unmatched)");
            };
            options.GetLevel = (http, _, exception) => LevelOf(http.Request.Path.Value, http.Response.StatusCode, exception,
                http.GetEndpoint()?.Metadata.GetMetadata<Visit>() is null ? LogEventLevel.Information : visitLevel);
        });
    }

    /// <summary>
    /// A client's mistake (4xx) or its abort (499) is normal traffic, not an error: otherwise anyone could
    /// fill the error log and trip alerts. A 503 is logged once per outage by <see cref="Outages"/>. Anything
    /// else is logged at the level of its kind of traffic: Information for the API, the visit level for redirects.
    /// </summary>
    internal static LogEventLevel LevelOf(string? path, int status, Exception? exception, LogEventLevel trafficLevel = LogEventLevel.Information) =>
        Unlogged.Contains(path ?? "") ? LogEventLevel.Verbose
        : exception is not null || (status >= 500 && status != StatusCodes.Status503ServiceUnavailable) ? LogEventLevel.Error
        : trafficLevel;

    private sealed class Visit
    {
        public static readonly Visit Instance = new();
    }
}
