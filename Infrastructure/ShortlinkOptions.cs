using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MySqlConnector;

namespace Shortlink.Infrastructure;

internal sealed class ShortlinkOptions : IValidatableObject
{
    public const string Section = "Shortlink";

    /// <summary>Scheme, host and optional port under which short links are served, e.g. https://sho.rt.</summary>
    [Required, Url]
    public string PublicBaseUrl { get; set; } = "http://localhost:8080";

    /// <summary>
    /// What this instance does: <c>Api</c> serves the API and redirects, <c>Worker</c> writes the visits it takes
    /// from RabbitMQ, <c>All</c> (the default) both, so that one process is a whole service and each part scales apart.
    /// </summary>
    public ServiceRole Role { get; set; } = ServiceRole.All;

    /// <summary>Other hosts this service answers on; no link may lead to them, or to PublicBaseUrl's host.</summary>
    public string[] ShortDomainAliases { get; set; } = [];

    [Required, ValidateObjectMembers]
    public DatabaseOptions Database { get; set; } = new();

    [Required, ValidateObjectMembers]
    public RedirectOptions Redirects { get; set; } = new();

    [Required, ValidateObjectMembers]
    public ApiOptions Api { get; set; } = new();

    [Required, ValidateObjectMembers]
    public SecurityOptions Security { get; set; } = new();

    [Required, ValidateObjectMembers]
    public RateLimitOptions RateLimits { get; set; } = new();

    [Required]
    public NetworkOptions Network { get; set; } = new();

    [Required, ValidateObjectMembers]
    public RedisOptions Redis { get; set; } = new();

    [Required, ValidateObjectMembers]
    public CacheOptions Cache { get; set; } = new();

    [Required]
    [ValidateObjectMembers]
    public TelemetryOptions Telemetry { get; set; } = new();

    [Required, ValidateObjectMembers]
    public VisitOptions Visits { get; set; } = new();

    [Required, ValidateObjectMembers]
    public RabbitMqOptions RabbitMq { get; set; } = new();

    public bool ServesApi => Role is ServiceRole.All or ServiceRole.Api;

    /// <summary>Visits travel through RabbitMQ; otherwise the instance that records them also writes them.</summary>
    public bool QueuesVisits => RabbitMq.ConnectionString.Length > 0;

    /// <summary>This instance writes visits to the database: a worker taking them from RabbitMQ, or the embedded writer.</summary>
    public bool WritesVisits => QueuesVisits ? Role != ServiceRole.Api : Visits.Enabled && ServesApi;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // The API's permits are taken from the same pool as the redirect's lookups: with at least as many
        // permits as pooled connections, a burst of API calls could take every connection and stall redirects.
        if (Database.PoolSize() is { } poolSize && Api.MaxConcurrentRequests >= poolSize)
        {
            yield return new ValidationResult(
                $"Api:MaxConcurrentRequests ({Api.MaxConcurrentRequests}) must be below the database pool size " +
                $"(Maximum Pool Size={poolSize}) so that redirects always find a connection.",
                [$"{nameof(Api)}.{nameof(ApiOptions.MaxConcurrentRequests)}"]);
        }
        if (Database.ControlConnectionString.Length > 0 && !DatabaseOptions.IsConnectionString(Database.ControlConnectionString))
        {
            yield return new ValidationResult(
                "Database:ControlConnectionString is no MySQL connection string (e.g. Server=control;User ID=shortlink;Password=...;Database=shortlink_control).",
                [$"{nameof(Database)}.{nameof(DatabaseOptions.ControlConnectionString)}"]);
        }
        if (Database.HeartbeatMilliseconds > Database.MaxReplicaLagSeconds * 1000 / 2)
        {
            yield return new ValidationResult(
                $"Database:HeartbeatMilliseconds ({Database.HeartbeatMilliseconds}) must be at most half of Database:MaxReplicaLagSeconds " +
                $"({Database.MaxReplicaLagSeconds} s): a replica's lag is measured in whole heartbeats.",
                [$"{nameof(Database)}.{nameof(DatabaseOptions.HeartbeatMilliseconds)}"]);
        }
        for (var i = 0; i < Database.Replicas.Count; i++)
        {
            if (!DatabaseOptions.IsConnectionString(Database.Replicas[i]))
            {
                yield return new ValidationResult(
                    $"Database:Replicas:{i} is no MySQL connection string (e.g. Server=replica-1;User ID=shortlink;Password=...;Database=shortlink).",
                    [$"{nameof(Database)}.{nameof(DatabaseOptions.Replicas)}"]);
            }
        }
        foreach (var (number, _) in Database.Shards.Where(shard => shard.Value.ConnectionString.Length == 0 && shard.Value.Replicas.Count > 0))
        {
            yield return new ValidationResult($"Database:Shards:{number} has replicas but no ConnectionString, its primary.",
                [$"{nameof(Database)}.{nameof(DatabaseOptions.Shards)}"]);
        }
        foreach (var (number, shard) in Database.ConfiguredShards)
        {
            if (number < 1)
            {
                yield return new ValidationResult(
                    $"Database:Shards:{number}: shards are numbered from 1 (shard 0 is Database:ConnectionString).",
                    [$"{nameof(Database)}.{nameof(DatabaseOptions.Shards)}"]);
            }
            foreach (var (key, connectionString) in shard.Replicas.Select((replica, i) => ($"Replicas:{i}", replica)).Prepend(("ConnectionString", shard.ConnectionString)))
            {
                if (!DatabaseOptions.IsConnectionString(connectionString))
                {
                    yield return new ValidationResult(
                        $"Database:Shards:{number}:{key} is no MySQL connection string (e.g. Server=shard-{number};User ID=shortlink;Password=...;Database=shortlink).",
                        [$"{nameof(Database)}.{nameof(DatabaseOptions.Shards)}"]);
                }
            }
        }
        foreach (var (name, networks) in new[] { ("TrustedProxies", Network.TrustedProxies), ("MetricsNetworks", Network.MetricsNetworks) })
        {
            foreach (var network in networks.Where(network => !System.Net.IPNetwork.TryParse(network, out _)))
            {
                yield return new ValidationResult($"Network:{name} holds '{network}', which is no network in CIDR notation (e.g. 10.0.0.0/8).",
                    [$"{nameof(Network)}.{name}"]);
            }
        }
        if (Redis.Configuration.Length > 0 && !Redis.IsValid())
        {
            yield return new ValidationResult(
                "Redis:Configuration is no StackExchange.Redis configuration (e.g. 127.0.0.1:6380 or redis:6379,password=...).",
                [$"{nameof(Redis)}.{nameof(RedisOptions.Configuration)}"]);
        }
        if (RabbitMq.ConnectionString.Length > 0 && !RabbitMq.IsValid())
        {
            yield return new ValidationResult(
                "RabbitMq:ConnectionString is no AMQP URI (e.g. amqp://shortlink:secret@127.0.0.1:5673/shortlink).",
                [$"{nameof(RabbitMq)}.{nameof(RabbitMqOptions.ConnectionString)}"]);
        }
        if (Role == ServiceRole.Worker && !QueuesVisits)
        {
            yield return new ValidationResult(
                "Role Worker takes visits from RabbitMQ: set RabbitMq:ConnectionString, or run with Role All.",
                [nameof(Role)]);
        }
        if (Security.BootstrapAdminKey.Length > 0 && !Security.ApiKeyFormatIsValid())
        {
            yield return new ValidationResult(
                "Security:BootstrapAdminKey must be a key as the service makes them: sl_live_ followed by 43 letters and digits.",
                [$"{nameof(Security)}.{nameof(SecurityOptions.BootstrapAdminKey)}"]);
        }
    }
}

/// <summary>Validates nested sections too, which ValidateDataAnnotations alone never did.</summary>
[OptionsValidator]
internal sealed partial class ShortlinkOptionsValidator : IValidateOptions<ShortlinkOptions>;

internal sealed class DatabaseOptions
{
    [Required]
    public string ConnectionString { get; set; } = "";

    public bool MigrateOnStartup { get; set; } = true;

    /// <summary>
    /// The control database: API keys and owners, the domain blocklist, idempotency records, visitor salts and the
    /// shared key ring, which belong to no link. Empty: ConnectionString's database holds them too.
    /// </summary>
    public string ControlConnectionString { get; set; } = "";

    /// <summary>
    /// Read replicas of this database, for lists, stats and redirect misses. None by default: every read then goes to
    /// ConnectionString, the primary, which takes every write.
    /// </summary>
    public List<string> Replicas { get; set; } = [];

    /// <summary>
    /// Shards beyond the first, by number from 1 (Database:Shards:1:ConnectionString, Database:Shards:1:Replicas:0). The
    /// first, shard 0, is ConnectionString with Replicas. A shard holds the links of the buckets the control database's
    /// bucket map gives it, with their visits and rollups; a new one holds none until buckets are moved to it. One with
    /// an empty ConnectionString is no shard, so that a deployment file can name it for those who turn it on.
    /// </summary>
    public Dictionary<int, ShardOptions> Shards { get; set; } = [];

    /// <summary>The shards beyond the first that are configured, by number.</summary>
    public IEnumerable<KeyValuePair<int, ShardOptions>> ConfiguredShards => Shards.Where(shard => shard.Value.ConnectionString.Length > 0);

    /// <summary>How far a replica's heartbeat may trail the primary's before the replica leaves the read rotation.</summary>
    [Range(0.1, 3600)]
    public double MaxReplicaLagSeconds { get; set; } = 2;

    /// <summary>How often the primary's heartbeat is written and each replica's read back.</summary>
    [Range(50, 10_000)]
    public int HeartbeatMilliseconds { get; set; } = 250;

    public static bool IsConnectionString(string value)
    {
        try
        {
            return new MySqlConnectionStringBuilder(value).Server.Length > 0;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public uint? PoolSize()
    {
        try
        {
            return new MySqlConnectionStringBuilder(ConnectionString).MaximumPoolSize;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}

/// <summary>A shard beyond the first: its primary and its read replicas.</summary>
internal sealed class ShardOptions
{
    public string ConnectionString { get; set; } = "";

    public List<string> Replicas { get; set; } = [];
}

internal sealed class RedirectOptions
{
    [Range(0, 31_536_000)]
    public int PermanentMaxAgeSeconds { get; set; } = 3600;
}

internal sealed class ApiOptions
{
    /// <summary>Key for signing list cursors; all instances of one deployment must share it.</summary>
    public string CursorSigningKey { get; set; } = "";

    [Range(1024, 64 * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 64 * 1024;

    [Range(1024, 256 * 1024 * 1024)]
    public int MaxBulkBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>API requests served at once; the rest wait in a queue.</summary>
    [Range(1, 10_000)]
    public int MaxConcurrentRequests { get; set; } = 32;

    /// <summary>API requests that may wait for a permit; beyond it they are answered 503 with Retry-After.</summary>
    [Range(0, 1_000_000)]
    public int MaxQueuedRequests { get; set; } = 1000;
}

internal sealed class SecurityOptions
{
    /// <summary>An admin key created on start while the service has no admin key (a new deployment). Never logged.</summary>
    public string BootstrapAdminKey { get; set; } = "";

    /// <summary>Hosts no link may lead to, each with every name below it; the API can add more.</summary>
    public string[] BlockedDomains { get; set; } = [];

    /// <summary>How long an instance trusts what it read about a key; a revocation elsewhere takes effect within it.</summary>
    [Range(0, 300)]
    public int KeyCacheSeconds { get; set; } = 10;

    /// <summary>Strict-Transport-Security max-age on answers over HTTPS; 0 sends none.</summary>
    [Range(0, 2 * 365 * 24 * 3600)]
    public int HstsMaxAgeSeconds { get; set; } = 365 * 24 * 3600;

    /// <summary>Whether HSTS also covers every subdomain of the host that answered.</summary>
    public bool HstsIncludeSubDomains { get; set; }

    public bool ApiKeyFormatIsValid() => Security.ApiKeyFormat.IsWellFormed(BootstrapAdminKey);
}

/// <summary>Per-instance limits; 0 turns a limit off.</summary>
internal sealed class RateLimitOptions
{
    [Range(0, 10_000_000)]
    public int ApiRequestsPerKeyPerMinute { get; set; } = 1200;

    /// <summary>Behind a load balancer or CDN, set Network:TrustedProxies, or every visitor shares the proxy's quota.</summary>
    [Range(0, 10_000_000)]
    public int RedirectsPerClientPerMinute { get; set; } = 1200;

    /// <summary>Refused keys per client address; a valid key's requests are never slowed by them.</summary>
    [Range(0, 10_000_000)]
    public int FailedAuthenticationsPerClientPerMinute { get; set; } = 30;

    /// <summary>Wrong passwords for one link, from anywhere; beyond it every attempt on the link waits, the right password too.</summary>
    [Range(0, 10_000_000)]
    public int WrongPasswordsPerLinkPerMinute { get; set; } = 20;

    /// <summary>Wrong link passwords from one client address, whichever links they were for.</summary>
    [Range(0, 10_000_000)]
    public int WrongPasswordsPerClientPerMinute { get; set; } = 10;
}

internal sealed class NetworkOptions
{
    /// <summary>Proxies (CIDR) whose X-Forwarded-For is believed; none by default, not even loopback.</summary>
    public string[] TrustedProxies { get; set; } = [];

    /// <summary>Networks (CIDR) that may read /metrics; none means everyone.</summary>
    public string[] MetricsNetworks { get; set; } = [];
}

/// <summary>Redis, for the cache's second level and its backplane; none configured means the in-process cache alone.</summary>
internal sealed class RedisOptions
{
    /// <summary>A StackExchange.Redis configuration string (host:port[,password=...]); empty: no Redis.</summary>
    public string Configuration { get; set; } = "";

    /// <summary>Prefixes every key and channel, so that deployments (or test runs) can share one Redis.</summary>
    [Required, RegularExpression("^[A-Za-z0-9:_.-]{1,64}$")]
    public string Prefix { get; set; } = "shortlink";

    /// <summary>How long a Redis operation may take before the cache goes on without it.</summary>
    [Range(10, 60_000)]
    public int TimeoutMilliseconds { get; set; } = 250;

    public bool IsValid()
    {
        try
        {
            StackExchange.Redis.ConfigurationOptions.Parse(Configuration);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}

internal enum ServiceRole
{
    All,
    Api,
    Worker,
}

/// <summary>RabbitMQ, which carries visits from the instances that redirect to the workers that write them.</summary>
internal sealed class RabbitMqOptions
{
    /// <summary>An AMQP URI (amqp://user:password@host:port/vhost); empty: visits are written by the instance that records them.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>The durable exchange and quorum queue visits go through; the dead-letter exchange and queue add ".dead".</summary>
    [Required, RegularExpression("^[A-Za-z0-9._-]{1,200}$")]
    public string VisitsQueue { get; set; } = "shortlink.visits";

    /// <summary>Deliveries of one message before it is dead-lettered (a batch the database refuses every time).</summary>
    [Range(1, 100)]
    public int DeliveryLimit { get; set; } = 5;

    /// <summary>Visits in one message: large enough that publishing keeps up at 20,000 visits/s, small enough to redeliver cheaply.</summary>
    [Range(1, 5_000)]
    public int VisitsPerMessage { get; set; } = 200;

    /// <summary>
    /// Messages a worker holds unacknowledged: with VisitsPerMessage, a batch of Visits:BatchSize for each of
    /// Visits:Writers and the next one, which gathers while they are written.
    /// </summary>
    [Range(1, 10_000)]
    public int Prefetch { get; set; } = 50;

    public bool IsValid() =>
        Uri.TryCreate(ConnectionString, UriKind.Absolute, out var uri) && uri.Scheme is "amqp" or "amqps" && uri.Host.Length > 0;
}

/// <summary>How long lookups are kept, in this process (L1) and in Redis (L2).</summary>
internal sealed class CacheOptions
{
    /// <summary>False turns the cache off: every lookup reads the database (for measuring, not for production).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>False keeps nothing in process, so every lookup asks Redis (for measuring L2).</summary>
    public bool MemoryEnabled { get; set; } = true;

    /// <summary>How long an instance keeps a link. With Redis, changes reach every instance at once anyway.</summary>
    [Range(1, 86_400)]
    public int LinkMemorySeconds { get; set; } = 300;

    [Range(1, 604_800)]
    public int LinkDistributedSeconds { get; set; } = 3600;

    /// <summary>How long "no such code" is kept, so that a flood of made-up codes costs one query per code.</summary>
    [Range(1, 3600)]
    public int MissingLinkSeconds { get; set; } = 60;

    /// <summary>Up to this much is added to each entry's life, so that entries made together do not expire together.</summary>
    [Range(0, 3600)]
    public int JitterSeconds { get; set; } = 5;

    /// <summary>Entries held in process at most (links and keys); the least used go first.</summary>
    [Range(100, 100_000_000)]
    public int MemoryEntries { get; set; } = 200_000;
}

internal sealed class TelemetryOptions
{
    /// <summary>
    /// The level of the redirect's request lines (errors stay Error): Debug keeps a log line per click out of the
    /// default level, where it would cost more than the redirect; Information logs every visit.
    /// </summary>
    public Serilog.Events.LogEventLevel VisitLogLevel { get; set; } = Serilog.Events.LogEventLevel.Debug;

    /// <summary>
    /// Spans of requests, queries, the cache and the visit pipeline, exported over OTLP when the standard
    /// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set. Auto: traced when that exporter is
    /// configured, and no tracer is built otherwise, since its spans would go nowhere. On: traced whatever the exporter,
    /// e.g. for one added in code.
    /// </summary>
    public TracingMode Tracing { get; set; } = TracingMode.Auto;

    /// <summary>
    /// The share of traces started here that are recorded; a trace whose caller sampled it (traceparent) follows the
    /// caller's decision, so a trace is never cut in half between services.
    /// </summary>
    [Range(0.0, 1.0)]
    public double TraceSampleRatio { get; set; } = 1.0;
}

internal enum TracingMode
{
    Auto,
    On,
    Off,
}

/// <summary>The visit pipeline: from the redirect through a bounded buffer to the batch writer.</summary>
internal sealed class VisitOptions
{
    /// <summary>
    /// True records every redirected visit. Off by default while the pipeline's writing shares the redirect's
    /// cores (bench/redirect's l1-hit-recording scenario shows the cost); redirects and visit limits never depend on it.
    /// </summary>
    public bool Enabled { get; set; }

    /// <summary>Visits held between the redirect and the writer; beyond it visits are dropped and counted (60 s at 5,000/s).</summary>
    [Range(1_000, 10_000_000)]
    public int BufferCapacity { get; set; } = 300_000;

    /// <summary>
    /// Visits written per transaction at most. A backlog is written in batches this large, and the larger the batch,
    /// the more of its visits share a rollup row, which the database updates once for all of them. The bound keeps a
    /// batch's rollup statement (up to 14 rows a visit, hourly and daily) inside max_allowed_packet's default
    /// (16 MB in MariaDB) even when every visit has a long referrer of its own.
    /// </summary>
    [Range(1, 5_000)]
    public int BatchSize { get; set; } = 5_000;

    /// <summary>
    /// Batches an instance writes at once, each in a transaction on a connection of its own; a batch waiting on a lock
    /// then holds up none of the others. One by default: batches written side by side share their links' rollup rows,
    /// so each waits for the other's commit, and bench/visits measures two writers slower than one. Writers share rows
    /// only in the same key order, so they wait for each other rather than deadlock.
    /// </summary>
    [Range(1, 16)]
    public int Writers { get; set; } = 1;

    /// <summary>How long a stopping instance may take to write the visits it holds; what is left is counted as dropped.</summary>
    [Range(0, 300)]
    public int ShutdownSeconds { get; set; } = 10;

    /// <summary>
    /// Days raw visits are kept; older ones are deleted by the instances that write visits, while the rollups that
    /// stats read are kept for good. 0 keeps raw visits for good too.
    /// </summary>
    [Range(0, 36_500)]
    public int RetentionDays { get; set; } = 400;

    /// <summary>Where this instance runs (e.g. eu-west-1), stored with each visit it records.</summary>
    [RegularExpression("^[A-Za-z0-9._-]{0,32}$")]
    public string Region { get; set; } = "";

    /// <summary>
    /// A header in which a trusted edge names the visitor's country (CloudFront-Viewer-Country, CF-IPCountry);
    /// read only from requests that came through Network:TrustedProxies. Empty: no header is believed.
    /// </summary>
    [RegularExpression("^[A-Za-z0-9-]{0,64}$")]
    public string CountryHeader { get; set; } = "";

    /// <summary>
    /// A country .mmdb file (GeoLite2 or GeoIP2 Country or City, DB-IP, ip-location-db) in which the client's address is
    /// looked up when no trusted edge names its country; checked at start. Empty: no lookups.
    /// </summary>
    public string CountryDatabase { get; set; } = "";
}
