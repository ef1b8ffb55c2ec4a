using System.Diagnostics.Metrics;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Shortlink.Infrastructure.Telemetry;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Backplane.StackExchangeRedis;
using ZiggyCreatures.Caching.Fusion.Serialization.SystemTextJson;

namespace Shortlink.Infrastructure.Caching;

/// <summary>
/// One cache for the hot reads (links by code, API keys): FusionCache, with an in-process level (L1) and, when
/// Redis is configured, Redis as the second level (L2) and as the backplane that tells every instance to drop an
/// entry the moment it changes. Chosen over Microsoft's HybridCache for the backplane (HybridCache has none, so
/// instances would serve a changed link until their L1 entry expired), fail-safe and timeouts that let the cache
/// go on without Redis, and per-entry durations for "no such code". Without Redis it is the same code path with
/// L1 alone.
/// </summary>
internal static class Caching
{
    public static IServiceCollection AddCaching(this IServiceCollection services)
    {
        services.AddSingleton<RedisConnection>();
        services.AddSingleton<CacheKeys>();
        services.AddSingleton<IFusionCache>(Create);
        services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", tags: ["ready"]);
        return services;
    }

    private static FusionCache Create(IServiceProvider provider)
    {
        var options = provider.GetRequiredService<IOptions<ShortlinkOptions>>().Value;
        var redisTimeout = TimeSpan.FromMilliseconds(options.Redis.TimeoutMilliseconds);
        var cacheOptions = new FusionCacheOptions
        {
            CacheName = "shortlink",
            // Keys carry Redis:Prefix already (CacheKeys): prefixing them here would allocate a second string per lookup.
            MissingCacheKeyPrefixWarningLogLevel = LogLevel.Debug,
            BackplaneChannelPrefix = options.Redis.Prefix,
            // A Redis that fails is left alone for a while instead of being waited for on every lookup.
            DistributedCacheCircuitBreakerDuration = TimeSpan.FromSeconds(2),
            BackplaneCircuitBreakerDuration = TimeSpan.FromSeconds(2),
            ReThrowOriginalExceptions = true,
            // Redis trouble is logged once per change of state by RedisConnection, a database outage by Outages, and a
            // bug by the exception handler the error reaches: not once per lookup here.
            FactoryErrorsLogLevel = LogLevel.Debug,
            FactorySyntheticTimeoutsLogLevel = LogLevel.Debug,
            DistributedCacheErrorsLogLevel = LogLevel.Debug,
            DistributedCacheSyntheticTimeoutsLogLevel = LogLevel.Debug,
            BackplaneErrorsLogLevel = LogLevel.Debug,
            BackplaneSyntheticTimeoutsLogLevel = LogLevel.Debug,
            FailSafeActivationLogLevel = LogLevel.Debug,
            DefaultEntryOptions = new FusionCacheEntryOptions
            {
                Size = 1,
                JitterMaxDuration = TimeSpan.FromSeconds(options.Cache.JitterSeconds),
                SkipMemoryCacheRead = !options.Cache.MemoryEnabled,
                SkipMemoryCacheWrite = !options.Cache.MemoryEnabled,
                DistributedCacheSoftTimeout = redisTimeout,
                DistributedCacheHardTimeout = redisTimeout,
                // Writes to Redis and backplane messages do not hold up the request that caused them.
                AllowBackgroundDistributedCacheOperations = true,
                AllowBackgroundBackplaneOperations = true,
            },
        };
        var memory = new MemoryCache(new MemoryCacheOptions { SizeLimit = options.Cache.MemoryEntries });
        var cache = new FusionCache(cacheOptions, memory, provider.GetRequiredService<ILogger<FusionCache>>());
        if (provider.GetRequiredService<RedisConnection>().Multiplexer is { } multiplexer)
        {
            ObserveCircuit(cache, provider.GetRequiredService<IMeterFactory>());
            var connect = () => Task.FromResult<IConnectionMultiplexer>(multiplexer);
            cache.SetupDistributedCache(new RedisCache(new RedisCacheOptions { ConnectionMultiplexerFactory = connect }),
                new FusionCacheSystemTextJsonSerializer());
            cache.SetupBackplane(new RedisBackplane(new RedisBackplaneOptions { ConnectionMultiplexerFactory = connect },
                provider.GetRequiredService<ILogger<RedisBackplane>>()));
        }
        return cache;
    }

    /// <summary>
    /// shortlink_cache_redis_circuit_open: 1 while the cache leaves Redis alone after a failure (for the circuit breaker's
    /// duration), which the connection's own state does not show when Redis is up but too slow.
    /// </summary>
    private static void ObserveCircuit(FusionCache cache, IMeterFactory meters)
    {
        var open = 0;
        cache.Events.Distributed.CircuitBreakerChange += (_, change) => Volatile.Write(ref open, change.IsClosed ? 0 : 1);
        meters.Create(ShortlinkMetrics.MeterName).CreateObservableGauge("shortlink.cache.redis_circuit.open",
            () => Volatile.Read(ref open), "{circuit}", "1 while the cache skips Redis after a failure; 0 while it uses it");
    }
}

/// <summary>
/// The shared connection to Redis, when one is configured. The service starts and serves without Redis: the
/// connection is made in the background and made again whenever it drops, and each change of state is logged
/// once (a Warning when Redis goes, an Information line when it is back).
/// </summary>
internal sealed class RedisConnection(IOptions<ShortlinkOptions> options, TimeProvider clock, IMeterFactory meters,
    ILogger<RedisConnection> logger) : IDisposable
{
    private readonly Lazy<ConnectionMultiplexer?> multiplexer = new(() => Connect(options.Value.Redis, clock, meters, logger));

    public IConnectionMultiplexer? Multiplexer => multiplexer.Value;

    public bool IsConfigured => options.Value.Redis.Configuration.Length > 0;

    private static ConnectionMultiplexer? Connect(RedisOptions redis, TimeProvider clock, IMeterFactory meters, ILogger logger)
    {
        if (redis.Configuration.Length == 0)
        {
            return null;
        }
        var configuration = ConfigurationOptions.Parse(redis.Configuration);
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = Math.Max(1000, redis.TimeoutMilliseconds * 4);
        configuration.SyncTimeout = redis.TimeoutMilliseconds;
        configuration.AsyncTimeout = redis.TimeoutMilliseconds;
        configuration.ClientName = "shortlink";
        var connection = ConnectionMultiplexer.Connect(configuration);
        var state = new RedisState(clock, logger, connection.IsConnected);
        var failures = meters.Create(ShortlinkMetrics.MeterName).CreateCounter<long>("shortlink.redis.connection.failures",
            "{failure}", "Connections to Redis that failed or dropped").StartingAtZero();
        connection.ConnectionFailed += (_, failed) =>
        {
            failures.Add(1);
            state.Lost(failed.Exception?.Message ?? failed.FailureType.ToString());
        };
        connection.ConnectionRestored += (_, _) => state.Restored();
        if (!connection.IsConnected)
        {
            state.Lost("no connection at start");
        }
        ShortlinkMetrics.ObserveRedis(meters, () => connection.IsConnected);
        return connection;
    }

    public void Dispose()
    {
        if (multiplexer.IsValueCreated)
        {
            multiplexer.Value?.Dispose();
        }
    }

    /// <summary>Logs Redis's state when it changes; the multiplexer reports each of its connections, so repeats are dropped.</summary>
    private sealed class RedisState(TimeProvider clock, ILogger logger, bool connected)
    {
        private readonly Lock gate = new();
        private bool available = connected;
        private DateTimeOffset lostAt;

        public void Lost(string reason)
        {
            lock (gate)
            {
                if (!available && lostAt != default)
                {
                    return;
                }
                available = false;
                lostAt = clock.GetUtcNow();
            }
            logger.LogWarning("Redis is unavailable ({Reason:l}); the cache goes on with this instance's memory and the database until it returns",
                reason);
        }

        public void Restored()
        {
            TimeSpan lasted;
            lock (gate)
            {
                if (available)
                {
                    return;
                }
                available = true;
                lasted = clock.GetUtcNow() - lostAt;
            }
            logger.LogInformation("Redis is available again after {Duration:0.0} s", lasted.TotalSeconds);
        }
    }
}

/// <summary>Redis down is "degraded", never "unhealthy": redirects and the API go on without it.</summary>
internal sealed class RedisHealthCheck(RedisConnection redis) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(!redis.IsConfigured ? HealthCheckResult.Healthy("Redis is not configured; the cache is in process only.")
            : redis.Multiplexer!.IsConnected ? HealthCheckResult.Healthy()
            : HealthCheckResult.Degraded("Redis is unavailable; the cache goes on in process and the database."));
}

/// <summary>Cache keys, each built in one allocation and led by Redis:Prefix, so that deployments can share one Redis.</summary>
internal sealed class CacheKeys(IOptions<ShortlinkOptions> options)
{
    private readonly string links = options.Value.Redis.Prefix + ":link:";
    private readonly string keys = options.Value.Redis.Prefix + ":key:";
    private readonly string visits = options.Value.Redis.Prefix + ":visits:";

    public string Link(string domain, string code) => string.Concat(links, domain, ":", code);

    /// <summary>A link's visit counter: not a cache entry (no expiry, never evicted by volatile-lru), kept until the link is deleted.</summary>
    public string VisitCounter(string domain, string code) => string.Concat(visits, domain, ":", code);

    public string VisitCounterPattern => visits + "*";

    /// <summary>The (domain, code) of a visit counter's key, or null for any other key.</summary>
    public (string Domain, string Code)? ParseVisitCounter(string key)
    {
        if (!key.StartsWith(visits, StringComparison.Ordinal) || key.LastIndexOf(':') is var colon && colon <= visits.Length)
        {
            return null;
        }
        return (key[visits.Length..colon], key[(colon + 1)..]);
    }

    public string ApiKey(byte[] keyHash) => keys + Convert.ToHexString(keyHash);
}
