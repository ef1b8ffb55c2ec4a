using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Serilog.Core;

namespace Shortlink.Tests.Support;

/// <summary>The real service in memory, on its own database, with a clock the test can move.</summary>
internal sealed class ShortlinkApp(string connectionString, IDictionary<string, string?>? settings = null,
    Action<IServiceCollection>? configureServices = null)
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
            configureServices?.Invoke(services);
        });
    }

    protected override IHost CreateHost(IHostBuilder builder) => new StoppedByProgram(base.CreateHost(builder));

    /// <summary>
    /// Program.cs runs <c>app.RunAsync()</c> under the factory too. When the factory stopped the host, RunAsync saw
    /// ApplicationStopping, stopped the same host a second time on its own thread and disposed it, so a hosted
    /// service's last flush could meet a disposed data source (dotnet/aspnetcore#40271). Here the factory only asks
    /// the application to stop and waits for Program's own stop to finish: the host stops once, as in production.
    /// </summary>
    private sealed class StoppedByProgram(IHost host) : IHost
    {
        private static readonly TimeSpan StopTimeout = TimeSpan.FromMinutes(1);

        public IServiceProvider Services => host.Services;

        public Task StartAsync(CancellationToken cancellationToken) => host.StartAsync(cancellationToken);

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
            var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using var registration = lifetime.ApplicationStopped.Register(() => stopped.TrySetResult());
            lifetime.StopApplication();
            await stopped.Task.WaitAsync(StopTimeout, cancellationToken);
        }

        /// <summary>Program's RunAsync disposes the host once it has stopped.</summary>
        public void Dispose()
        {
        }
    }
}
