using Dapper;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using MySqlConnector;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Infrastructure.Data;

internal static class DataServiceCollectionExtensions
{
    public static IServiceCollection AddData(this IServiceCollection services)
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        services.AddSingleton(provider => DataSource(provider.GetRequiredService<IOptions<ShortlinkOptions>>().Value.Database.ConnectionString,
            DatabaseNames.Primary(0), provider.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton(provider =>
            provider.GetRequiredService<IOptions<ShortlinkOptions>>().Value.Database.ControlConnectionString is { Length: > 0 } control
                ? new ControlDatabase(DataSource(control, DatabaseNames.Control, provider.GetRequiredService<ILoggerFactory>()))
                : new ControlDatabase(provider.GetRequiredService<MySqlDataSource>()));
        services.AddSingleton<ShardSet>();
        services.AddSingleton<BucketMap>();
        services.AddSingleton<Databases>();
        services.AddSingleton<BucketMover>();
        services.AddSingleton<Migrator>();
        services.AddHostedService<MigrateOnStartup>();
        // After the migration, which hosted services' sequential start finishes first: the map and heartbeat tables are there.
        services.AddSingleton<BucketMapRefresher>();
        services.AddHostedService(provider => provider.GetRequiredService<BucketMapRefresher>());
        services.AddHostedService<ReplicaMonitor>();
        services.AddHealthChecks()
            .AddCheck<DatabaseReadyCheck>("database", tags: ["ready"]);
        return services;
    }

    /// <summary>
    /// Connections to one database (a primary, the control database, a replica) with the settings the SQL relies on,
    /// in a pool named as <see cref="DatabaseNames"/> says: the pool_name of the db_client_connections_* metrics.
    /// </summary>
    internal static MySqlDataSource DataSource(string connectionString, string name, ILoggerFactory loggers) =>
        new MySqlDataSourceBuilder(WithRequiredSettings(connectionString))
            .UseName(name)
            .UseLoggerFactory(loggers)
            .Build();

    /// <summary>
    /// Settings the SQL relies on, whatever the operator's connection string says. Pooled sessions are not reset
    /// when they are taken from the pool: the reset was a round trip per request, as costly as a redirect's lookup,
    /// and the service keeps no session state (no SET, no temporary tables, no user locks; transactions end with
    /// their unit of work, and the migration runs outside the pool).
    /// </summary>
    internal static string WithRequiredSettings(string connectionString) =>
        new MySqlConnectionStringBuilder(connectionString)
        {
            GuidFormat = MySqlGuidFormat.Binary16,
            DateTimeKind = MySqlDateTimeKind.Utc,
            CharacterSet = "utf8mb4",
            UseAffectedRows = false,
            ConnectionReset = false,
        }.ConnectionString;
}

/// <summary>
/// The names of the connection pools, which carry each database's shard and role into metrics and spans: never the
/// connection string, which holds the server, the user and, without this, would be the pool's name.
/// </summary>
internal static class DatabaseNames
{
    public const string Control = "control";

    public static string Primary(int shard) => $"shard{shard}-primary";

    public static string Replica(int shard, int index) => $"shard{shard}-replica{index}";
}

/// <summary>
/// The control database's connections (Database:ControlConnectionString): the primary's own data source when none is
/// configured, so that one server needs no second pool.
/// </summary>
internal sealed record ControlDatabase(MySqlDataSource DataSource);

internal sealed class MigrateOnStartup(Migrator migrator, IOptions<ShortlinkOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        options.Value.Database.MigrateOnStartup ? migrator.MigrateAsync(cancellationToken) : Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// Ready when every database answers and has every embedded migration, and the bucket map is read. An unreachable
/// database goes to the outage log, which writes once per change of state rather than once per probe.
/// </summary>
internal sealed class DatabaseReadyCheck(Migrator migrator, BucketMap map, BucketMapRefresher mapRefresher, Outages outages) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var pending = await migrator.PendingMigrationsAsync(cancellationToken);
            outages.Database.Succeeded();
            if (pending.Count == 0 && !map.IsLoaded)
            {
                // Migrated since the last poll (the migrate command): no need to wait for the next.
                await mapRefresher.RefreshAsync(cancellationToken);
            }
            return pending.Count > 0 ? HealthCheckResult.Unhealthy($"migration(s) not applied: {string.Join(", ", pending)}")
                : !map.IsLoaded ? HealthCheckResult.Unhealthy("the bucket map is not read yet")
                : HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (DatabaseFailures.IsUnavailable(ex))
        {
            outages.Database.Failed(ex);
            return HealthCheckResult.Unhealthy("database unreachable");
        }
    }
}
