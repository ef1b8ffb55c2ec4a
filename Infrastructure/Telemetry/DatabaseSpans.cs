using System.Collections.Concurrent;
using System.Diagnostics;
using MySqlConnector;
using OpenTelemetry;
using Shortlink.Infrastructure.Data;

namespace Shortlink.Infrastructure.Telemetry;

/// <summary>
/// Names the shard and role (primary, replica, control) of the database behind each of MySqlConnector's spans, which
/// know only the connection string they ran on. The names are those of the pools in the metrics.
/// </summary>
/// <remarks>
/// The names are worked out when the tracer is built, never looked up later: a span may end while the host is being
/// disposed (a test's second instance, a shutdown), and a processor that threw then would fail the query it traces.
/// </remarks>
internal sealed class DatabaseSpans(ShardSet shards, ControlDatabase control) : BaseProcessor<Activity>
{
    public const string ShardTag = "shortlink.shard";
    public const string RoleTag = "shortlink.database.role";
    public const string PoolTag = "db.client.connection.pool.name";

    private const string ConnectionStringTag = "db.connection_string";

    private readonly Dictionary<(string Server, uint Port, string Database), DatabaseName> configured = Configured(shards, control);

    /// <summary>A handful of distinct connection strings: parsed once each.</summary>
    private readonly ConcurrentDictionary<string, DatabaseName?> byConnectionString = new(StringComparer.Ordinal);

    /// <summary>At the end: a connection's span gets its connection string only once it has opened.</summary>
    public override void OnEnd(Activity activity)
    {
        if (activity.Source.Name != "MySqlConnector" || activity.GetTagItem(ConnectionStringTag) is not string connectionString)
        {
            return;
        }
        if (byConnectionString.GetOrAdd(connectionString, Find) is not { } name)
        {
            return;
        }
        // The connection string has done its job: the pool's name says the same without the user and options.
        activity.SetTag(ConnectionStringTag, null);
        activity.SetTag(PoolTag, name.Pool);
        activity.SetTag(RoleTag, name.Role);
        if (name.Shard is { } shard)
        {
            activity.SetTag(ShardTag, shard);
        }
    }

    private DatabaseName? Find(string connectionString) =>
        configured.GetValueOrDefault(KeyOf(connectionString));

    private static (string, uint, string) KeyOf(string connectionString)
    {
        var builder = new MySqlConnectionStringBuilder(connectionString);
        return (builder.Server.ToLowerInvariant(), builder.Port, builder.Database);
    }

    private static Dictionary<(string, uint, string), DatabaseName> Configured(ShardSet shards, ControlDatabase control)
    {
        var names = new Dictionary<(string, uint, string), DatabaseName>();
        foreach (var shard in shards.All)
        {
            names.TryAdd(KeyOf(shard.Primary.ConnectionString), new DatabaseName(DatabaseNames.Primary(shard.Number), shard.Number, "primary"));
            foreach (var replica in shard.Replicas.All)
            {
                names.TryAdd(KeyOf(replica.DataSource.ConnectionString),
                    new DatabaseName(DatabaseNames.Replica(shard.Number, replica.Index), shard.Number, "replica"));
            }
        }
        // Its own database only when it is not shard 0's: then it is named after shard 0, whose pool it shares.
        names.TryAdd(KeyOf(control.DataSource.ConnectionString), new DatabaseName(DatabaseNames.Control, null, "control"));
        return names;
    }

    private sealed record DatabaseName(string Pool, int? Shard, string Role);
}
