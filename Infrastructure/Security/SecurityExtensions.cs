using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using MySqlConnector;
using Microsoft.Extensions.Options;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Telemetry;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Infrastructure.Security;

internal static class SecurityExtensions
{
    public static IServiceCollection AddSecurity(this IServiceCollection services)
    {
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<FailedAuthentications>();
        services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(ApiPolicies.AnyKey, policy => policy.RequireAuthenticatedUser())
            .AddPolicy(ApiPolicies.WriteLinks, policy => policy.RequireRole(ApiRoles.Admin, ApiRoles.Member))
            .AddPolicy(ApiPolicies.Admin, policy => policy.RequireRole(ApiRoles.Admin));
        // Also run by the migrate command, so that a deployment that migrates as its own step gets the key then.
        services.AddSingleton<BootstrapAdminKey>();
        services.AddHostedService(provider => provider.GetRequiredService<BootstrapAdminKey>());
        services.AddDataProtection().SetApplicationName("shortlink");
        services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(provider => new ConfigureOptions<KeyManagementOptions>(options =>
            options.XmlRepository = new DatabaseKeyRing(provider.GetRequiredService<ControlDatabase>().DataSource, provider.GetRequiredService<TimeProvider>())));
        // The password form's token: a cookie the browser sends back only to this site, and a field in the form.
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "shortlink-form";
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.FormFieldName = "token";
            options.HeaderName = null;
            options.SuppressXFrameOptionsHeader = true;
        });
        // The framework reads the key ring at start. Read when the first password form needs it instead, an
        // instance starts without the database, and an outage at start is reported once, by the outage log.
        foreach (var eagerLoad in services.Where(descriptor => descriptor.ServiceType == typeof(IHostedService)
                     && descriptor.ImplementationType?.FullName == "Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService").ToList())
        {
            services.Remove(eagerLoad);
        }
        return services;
    }

    /// <summary>Every endpoint of the group needs a valid API key (401 without one).</summary>
    public static TBuilder RequireApiKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(ApiPolicies.AnyKey)
            .ProducesProblems(SecurityProblems.Unauthorized)
            .WithResponseHeader(StatusCodes.Status401Unauthorized, "WWW-Authenticate", "Bearer, with error=\"invalid_token\" when a key was sent but refused.");

    /// <summary>The endpoint needs a key whose role the policy admits (403 otherwise).</summary>
    public static RouteHandlerBuilder Requires(this RouteHandlerBuilder builder, string policy) =>
        builder.RequireAuthorization(policy).ProducesProblems(SecurityProblems.Forbidden);
}

/// <summary>
/// On start, creates the admin key from <c>Shortlink:Security:BootstrapAdminKey</c> when the service has
/// no usable admin key yet, so a new deployment can be reached without a shell. The key is never logged.
/// </summary>
internal sealed class BootstrapAdminKey(ApiKeyStore keys, Databases databases, Migrator migrator, TimeProvider clock,
    IOptions<ShortlinkOptions> options, Outages outages, ILogger<BootstrapAdminKey> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Security.BootstrapAdminKey.Length == 0)
        {
            return;
        }
        try
        {
            if ((await migrator.PendingMigrationsAsync(cancellationToken)).Count > 0)
            {
                logger.LogWarning("Shortlink:Security:BootstrapAdminKey waits for the schema: the migrate command creates the key");
                return;
            }
            await CreateUnlessAdminExistsAsync(cancellationToken);
        }
        catch (Exception ex) when (DatabaseFailures.IsUnavailable(ex))
        {
            // The service still starts (it answers 503 until the database is back); the next start tries again.
            outages.Database.Failed(ex);
        }
    }

    private async Task CreateUnlessAdminExistsAsync(CancellationToken cancellationToken)
    {
        const string adminKeys = "SELECT COUNT(*) FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @Now)";
        var key = options.Value.Security.BootstrapAdminKey;
        if (await keys.FindAsync(ApiKeyFormat.Hash(key), cancellationToken) is not null)
        {
            return;
        }
        await using var connection = await databases.OpenControlAsync(cancellationToken);
        var existing = await Dapper.SqlMapper.ExecuteScalarAsync<long>(connection,
            new Dapper.CommandDefinition(adminKeys, new { Now = DatabaseTime.Stored(clock.GetUtcNow()) }, cancellationToken: cancellationToken));
        if (existing > 0)
        {
            logger.LogWarning("Shortlink:Security:BootstrapAdminKey is ignored: the service already has an admin key");
            return;
        }
        var stored = await keys.CreateAsync(key, "bootstrap", ApiRoles.Admin, null, null, connection, cancellationToken);
        await keys.ForgetAsync(ApiKeyFormat.Hash(key));
        logger.LogInformation("Created the bootstrap admin key {KeyPrefix}… ({KeyId})", stored.Prefix, stored.Id);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
