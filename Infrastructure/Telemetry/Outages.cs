namespace Shortlink.Infrastructure.Telemetry;

/// <summary>
/// Logs a dependency's trouble once per change of state rather than once per refused request: the first
/// failure after a quiet spell is a Warning, the first success after it an Information line with the count.
/// </summary>
internal sealed class Outage(string dependency, string troubled, string recovered, string meanwhile, TimeProvider clock, ILogger logger)
{
    private static readonly TimeSpan RecoveryDelay = TimeSpan.FromSeconds(1);
    private readonly Lock gate = new();
    private volatile bool active;
    private long failures;
    private DateTimeOffset startedAt;
    private DateTimeOffset lastFailureAt;

    public void Failed(Exception? cause = null, string? reason = null)
    {
        var now = clock.GetUtcNow();
        lock (gate)
        {
            lastFailureAt = now;
            if (active)
            {
                failures++;
                return;
            }
            active = true;
            startedAt = now;
            failures = 1;
        }
        logger.LogWarning("{Dependency:l} {State:l} ({Reason:l}); {Meanwhile:l}",
            dependency, troubled, reason ?? cause?.Message ?? "unknown", meanwhile);
    }

    /// <summary>Cheap when all is well: one volatile read.</summary>
    public void Succeeded()
    {
        if (!active)
        {
            return;
        }
        var now = clock.GetUtcNow();
        long refused;
        TimeSpan lasted;
        lock (gate)
        {
            // A success in the middle of a burst of failures (another pooled connection) is no recovery yet.
            if (!active || now - lastFailureAt < RecoveryDelay)
            {
                return;
            }
            active = false;
            refused = failures;
            lasted = now - startedAt;
        }
        logger.LogInformation("{Dependency:l} {State:l} after {Duration:0.0} s and {RefusedCount} refused request(s)",
            dependency, recovered, lasted.TotalSeconds, refused);
    }
}

/// <summary>The dependencies whose outages are logged by state.</summary>
internal sealed class Outages(TimeProvider clock, ILogger<Outages> logger)
{
    /// <summary>Sent with every 503: long enough for a pool to drain or a restarted database to accept connections.</summary>
    public const string RetryAfterSeconds = "2";

    private const string Refusing = "requests that need it get 503 with Retry-After until it recovers";

    public Outage Database { get; } = new("The database", "is unavailable", "is available again", Refusing, clock, logger);

    public Outage ApiQueue { get; } = new("The API request queue", "is full", "has room again", Refusing, clock, logger);

    public Outage RabbitMq { get; } = new("RabbitMQ", "is unavailable", "is available again",
        "redirects go on, and visits wait in the buffer, which drops and counts what does not fit", clock, logger);
}
