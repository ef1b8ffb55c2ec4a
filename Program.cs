using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Shortlink.Features.Links;
using Shortlink.Features.Redirects;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Telemetry;
using Shortlink.Infrastructure.Web;

// Before the host is built: a container health check must answer fast and needs no configuration.
if (args is ["health", .. var healthArguments])
{
    return await HealthProbe.RunAsync(healthArguments.FirstOrDefault());
}

var builder = WebApplication.CreateBuilder(args);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);

builder.Services.AddOptions<ShortlinkOptions>()
    .BindConfiguration(ShortlinkOptions.Section)
    .ValidateOnStart();
builder.Services.AddSingleton<IValidateOptions<ShortlinkOptions>, ShortlinkOptionsValidator>();
builder.AddTelemetry();
builder.Services.AddData();
builder.Services.AddWeb();
builder.Services.AddLinks();

var app = builder.Build();

if (args is ["migrate", ..])
{
    await app.Services.GetRequiredService<Migrator>().MigrateAsync(CancellationToken.None);
    return 0;
}

app.UseRequestLogging();
app.UseExceptionHandler();
app.UseProblemStatusPages();
app.UseRateLimiter();
app.UseRequestBodies();
app.UseOpenApiDocuments();

HttpMethodMetadata readOnly = new([HttpMethods.Get, HttpMethods.Head]);
app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).WithMetadata(readOnly);
app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") }).WithMetadata(readOnly);
app.MapPrometheusScrapingEndpoint("/metrics").WithMetadata(readOnly);
app.MapLinks();
FollowLink.Map(app);

app.Lifetime.ApplicationStarted.Register(() => app.Logger.LogInformation(
    "Short URLs start with {ShortUrlBase} (Shortlink:PublicBaseUrl)", app.Services.GetRequiredService<ShortDomain>().ShortUrl("")));
await app.RunAsync();
return 0;

public partial class Program;
