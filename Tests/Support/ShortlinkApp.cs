using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serilog.Core;

namespace Shortlink.Tests.Support;

/// <summary>The real service in memory, on its own database, with a clock the test can move.</summary>
internal sealed class ShortlinkApp(string connectionString, IDictionary<string, string?>? settings = null)
    : WebApplicationFactory<Program>
{
    public const string PublicBaseUrl = "https://sho.rt";

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public LogCapture Logs { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Shortlink:Database:ConnectionString", connectionString);
        builder.UseSetting("Shortlink:PublicBaseUrl", PublicBaseUrl);
        builder.UseSetting("Shortlink:Api:CursorSigningKey", "test-cursor-signing-key");
        builder.UseSetting("Shortlink:Security:BootstrapAdminKey", TestKeys.Admin);
        // Tests send far more from one address and key than a client should; RateLimitTests turn the limits on.
        builder.UseSetting("Shortlink:RateLimits:ApiRequestsPerKeyPerMinute", "0");
        builder.UseSetting("Shortlink:RateLimits:RedirectsPerClientPerMinute", "0");
        builder.UseSetting("Shortlink:RateLimits:FailedAuthenticationsPerClientPerMinute", "0");
        builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }
        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(Clock);
            services.AddSingleton<ILogEventSink>(Logs);
        });
    }
}
