using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Shortlink.Infrastructure.Caching;
using ZiggyCreatures.Caching.Fusion;
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
    /// One JSON object per line on stdout, with the W3C trace and span ids of the request and the instance's identity
    /// (service, instance, role, region, version); on stderr for a command (migrate, keys), whose stdout is its answer.
    /// Metrics for /metrics, and spans when Telemetry:Tracing says so (Auto: when OTEL_EXPORTER_OTLP_ENDPOINT or its traces
    /// variant is set), exported over OTLP.
    /// </summary>
    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder, bool logToStandardError = false)
    {
        var options = builder.Configuration.GetSection(ShortlinkOptions.Section).Get<ShortlinkOptions>() ?? new ShortlinkOptions();
        var identity = ServiceIdentity.Of(options);
        builder.Services.AddSingleton(identity);
        builder.Services.AddSerilog((services, logger) => logger
            .ReadFrom.Configuration(builder.Configuration)
            .ReadFrom.Services(services)
            .Enrich.FromLogContext()
            .Enrich.WithProperty("service", identity.Service)
            .Enrich.WithProperty("instance", identity.Instance)
            .Enrich.WithProperty("role", identity.Role)
            .Enrich.WithProperty("region", identity.Region)
            .Enrich.WithProperty("version", identity.Version)
            .WriteTo.Console(new ExpressionTemplate(
                    "{ {timestamp: @t, level: @l, message: @m, trace_id: @tr, span_id: @sp, exception: @x, ..@p} }\n"),
                standardErrorFromLevel: logToStandardError ? LogEventLevel.Verbose : null));
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource
                .AddService(identity.Service, serviceVersion: identity.Version, serviceInstanceId: identity.Instance)
                .AddAttributes([new("shortlink.role", identity.Role), new("cloud.region", identity.Region)]))
            .WithMetrics(metrics => metrics
                .AddMeter(ShortlinkMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel",
                    "System.Runtime", "MySqlConnector", FusionCacheDiagnostics.MeterName, FusionCacheDiagnostics.MeterNameMemoryLevel,
                    FusionCacheDiagnostics.MeterNameDistributedLevel)
                .AddView(Renamed)
                // Every scrape fresh: one answered from the exporter's cache could predate what it is read to count, and the
                // endpoint only answers Network:MetricsNetworks.
                .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        builder.Services.AddHostedService<ServiceIdentityMetrics>();
        var exported = OtlpConfigured(builder.Configuration);
        if (options.Telemetry.Tracing == TracingMode.On || (options.Telemetry.Tracing == TracingMode.Auto && exported))
        {
            builder.Services.AddSingleton<DatabaseSpans>();
            telemetry.WithTracing(tracing =>
            {
                tracing
                    .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(options.Telemetry.TraceSampleRatio)))
                    .AddSource(ShortlinkActivities.SourceName, "MySqlConnector")
                    .AddAspNetCoreInstrumentation(aspNetCore =>
                    {
                        // Probes and scrapes every few seconds would drown the traces that matter.
                        aspNetCore.Filter = http => !Unlogged.Contains(http.Request.Path.Value ?? "");
                        aspNetCore.RecordException = true;
                    })
                    .AddHttpClientInstrumentation()
                    .AddRedisInstrumentation()
                    .ConfigureRedisInstrumentation((services, redis) =>
                    {
                        if (services.GetRequiredService<RedisConnection>().Multiplexer is { } multiplexer)
                        {
                            redis.AddConnection(multiplexer);
                        }
                    })
                    .AddProcessor<DatabaseSpans>();
                if (exported)
                {
                    tracing.AddOtlpExporter();
                }
            });
        }
        return builder;
    }

    /// <summary>
    /// What Prometheus's own checks (promtool check metrics) would refuse: a gauge whose name ends in _count, which
    /// reads as a histogram's, and FusionCache's instruments, which carry no description and tag each measurement with
    /// the cache's random instance id (a new series per restart, for nothing). And MySqlConnector's histograms, in
    /// seconds but without advice, which would get OpenTelemetry's default buckets (0, 5, 10... meant for milliseconds).
    /// </summary>
    private static MetricStreamConfiguration? Renamed(Instrument instrument) => (instrument.Meter.Name, instrument.Name) switch
    {
        ("System.Runtime", "dotnet.process.cpu.count") => new MetricStreamConfiguration { Name = "dotnet.process.cpus" },
        ("System.Runtime", "dotnet.assembly.count") => new MetricStreamConfiguration { Name = "dotnet.assemblies.loaded" },
        ("System.Runtime", "dotnet.timer.count") => new MetricStreamConfiguration { Name = "dotnet.timers.active" },
        ("MySqlConnector", _) when instrument is Histogram<double> =>
            new ExplicitBucketHistogramConfiguration { Boundaries = DatabaseSeconds },
        var (meter, name) when meter.StartsWith(FusionCacheDiagnostics.MeterName, StringComparison.Ordinal) =>
            FusionCacheKept.Contains(name)
                ? new MetricStreamConfiguration { TagKeys = FusionCacheTags, Description = $"FusionCache: {name.Replace('.', ' ').Replace('_', ' ')} operations" }
                : MetricStreamConfiguration.Drop,
        _ => null,
    };

    private static readonly double[] DatabaseSeconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>
    /// Hits and misses by level, and the circuit breaker: what the dashboards and rules read. The rest (gets, sets,
    /// removes...) is dropped, which leaves those instruments disabled: FusionCache then skips them, and a redirect
    /// that hits memory pays for two counters, not five.
    /// </summary>
    private static readonly HashSet<string> FusionCacheKept =
    [
        "fusioncache.cache.hit", "fusioncache.cache.miss", "fusioncache.memory.hit", "fusioncache.memory.miss",
        "fusioncache.distributed.hit", "fusioncache.distributed.miss", "fusioncache.distributed.circuit_breaker_change",
    ];

    private static readonly string[] FusionCacheTags =
        ["fusioncache.cache.name", "fusioncache.stale", "fusioncache.memory.evict_reason", "fusioncache.distributed.circuit_breaker.closed"];

    /// <summary>The OpenTelemetry exporter's own variables: without one of them there is nowhere to send spans.</summary>
    private static bool OtlpConfigured(ConfigurationManager configuration) =>
        !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])
        || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]);

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
