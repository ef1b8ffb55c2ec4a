using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Shortlink.Features.Analytics;
using Shortlink.Features.Blocklist;
using Shortlink.Features.Keys;
using Shortlink.Features.Links;
using Shortlink.Features.Redirects;
using Shortlink.Features.Stats;
using Shortlink.Features.WebPage;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Caching;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Telemetry;
using Shortlink.Infrastructure.Web;

// Before the host is built: a container health check must answer fast and needs no configuration.
if (args is ["health", .. var healthArguments])
{
    return await HealthProbe.RunAsync(healthArguments.FirstOrDefault());
}

var builder = WebApplication.CreateBuilder(args);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
// The web page's files from the build output (a published app has them in wwwroot and no manifest for this).
builder.WebHost.UseStaticWebAssets();

builder.Services.AddOptions<ShortlinkOptions>()
    .BindConfiguration(ShortlinkOptions.Section)
    .ValidateOnStart();
builder.Services.AddSingleton<IValidateOptions<ShortlinkOptions>, ShortlinkOptionsValidator>();
builder.AddTelemetry(logToStandardError: args is ["migrate", ..] or ["keys", ..] or ["buckets", ..]);
builder.Services.AddData();
builder.Services.AddCaching();
builder.Services.AddWeb();
builder.Services.AddSecurity();
builder.Services.AddLinks();
builder.Services.AddKeys();
builder.Services.AddBlocklist();
builder.Services.AddRedirects();
builder.Services.AddAnalytics();
builder.Services.AddStats();

var app = builder.Build();

if (args is ["migrate", ..])
{
    await app.Services.GetRequiredService<Migrator>().MigrateAsync(CancellationToken.None);
    await app.Services.GetRequiredService<BootstrapAdminKey>().StartAsync(CancellationToken.None);
    return 0;
}
if (args is ["keys", ..])
{
    return await KeysCommand.RunAsync(app.Services, args);
}
if (args is ["buckets", ..])
{
    return await BucketsCommand.RunAsync(app.Services, args, CancellationToken.None);
}

app.UseTrustedForwardedHeaders();
app.UseSecurityHeaders();
app.UseRequestLogging();
app.UseExceptionHandler();
// Routing here, not first: the redirect is short-circuited from this point, so everything below is the API's.
// Status pages come after it: the redirect writes its own error bodies, and in .NET 10 the middleware costs
// every request it wraps a dictionary in HttpContext.Items.
app.UseRouting();
app.UseProblemStatusPages();
app.UseAuthentication();
app.UseAuthorization();
app.UseNetworkRestrictions();
app.UseRateLimiter();
app.UseRequestBodies();
app.UseOpenApiDocuments();

HttpMethodMetadata readOnly = new([HttpMethods.Get, HttpMethods.Head]);
app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).WithMetadata(readOnly);
app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") }).WithMetadata(readOnly);
app.MapMetrics();
// A worker answers only health and metrics: its job is the visit queue.
if (app.Services.GetRequiredService<IOptions<ShortlinkOptions>>().Value.ServesApi)
{
    app.MapLinks();
    app.MapKeys();
    app.MapBlocklist();
    app.MapStats();
    app.MapWebPage();
    FollowLink.Map(app);
}

app.Lifetime.ApplicationStarted.Register(() => app.Logger.LogInformation(
    "Short URLs start with {ShortUrlBase} (Shortlink:PublicBaseUrl)", app.Services.GetRequiredService<ShortDomain>().ShortUrl("")));
await app.RunAsync();
return 0;

public partial class Program;
