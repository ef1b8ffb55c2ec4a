using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Shortlink.Features.Links;
using Shortlink.Features.Redirects;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Telemetry;
using Shortlink.Infrastructure.Web;

var builder = WebApplication.CreateBuilder(args);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);

builder.Services.AddOptions<ShortlinkOptions>()
    .BindConfiguration(ShortlinkOptions.Section)
    .ValidateDataAnnotations()
    .ValidateOnStart();
builder.AddTelemetry();
builder.Services.AddData();
builder.Services.AddWeb();
builder.Services.AddLinks();

var app = builder.Build();

if (args is ["migrate", ..])
{
    await app.Services.GetRequiredService<Migrator>().MigrateAsync(CancellationToken.None);
    return;
}

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseRequestLogging();
app.UseOpenApiDocuments();

app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
app.MapPrometheusScrapingEndpoint("/metrics");
app.MapLinks();
FollowLink.Map(app);

await app.RunAsync();

public partial class Program;
