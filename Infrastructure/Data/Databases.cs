using System.Diagnostics.Metrics;
using MySqlConnector;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Infrastructure.Data;

/// <summary>
/// Hands out open connections by what they are for, on the shard that holds the link: the bucket map gives each
/// (domain, code) its shard. Writes, and reads that must see them (a link read back by its code), go to the shard's
/// primary; lists, stats and the redirect's lookups may come from one of its read replicas in rotation, which trails
/// the primary by at most Database:MaxReplicaLagSeconds, and from the primary when none is. Lists across links ask every
/// shard. Callers hold a connection for one unit of work and give it back before doing anything else.
/// </summary>
internal sealed class Databases(ShardSet shards, BucketMap map, ControlDatabase control, Outages outages, IMeterFactory meters)
{
    private readonly Counter<long> replicaFallbacks = meters.Create(ShortlinkMetrics.MeterName).CreateCounter<long>(
        "shortlink.database.replica.fallbacks", "{read}",
        "Reads meant for a replica that went to the primary: none of the shard's replicas was in rotation, or none answered")
        .StartingAtZero("shard", [.. shards.All.Where(shard => shard.Replicas.All.Count > 0).Select(shard => shard.Label)]);

    /// <summary>Every shard, for lists and housekeeping across links.</summary>
    public IReadOnlyList<Shard> Shards => shards.All;

    /// <summary>The shard a link is read from.</summary>
    public Shard ShardFor(string domain, string code) => map.ShardFor(domain, code);

    /// <summary>
    /// The shard a link is written to. Throws <see cref="BucketMovingException"/> (503, Retry-After) while a move has
    /// frozen the link's bucket, and <see cref="BucketMapUnavailableException"/> (503) while the map may be out of date.
    /// </summary>
    public Shard ShardForWrite(string domain, string code) => map.ShardForWrite(domain, code);

    /// <summary>The buckets the shard has rows of without holding them, which lists and sums across links leave out.</summary>
    public IReadOnlyList<int> ForeignOn(Shard shard) => map.ForeignOn(shard);

    /// <summary>The primary of the link's shard, for reads that must see its writes (and the redirect's visit count).</summary>
    public ValueTask<MySqlConnection> OpenForCodeAsync(string domain, string code, CancellationToken ct) =>
        OpenAsync(map.ShardFor(domain, code).Primary, ct);

    /// <summary>The primary of the link's shard, to change the link: refused as <see cref="ShardForWrite"/> says.</summary>
    public ValueTask<MySqlConnection> OpenForCodeWriteAsync(string domain, string code, CancellationToken ct) =>
        OpenAsync(map.ShardForWrite(domain, code).Primary, ct);

    /// <summary>A link's stats and visits: a replica of its shard in rotation, else the shard's primary.</summary>
    public async ValueTask<MySqlConnection> OpenForCodeStatsAsync(string domain, string code, CancellationToken ct)
    {
        var shard = map.ShardFor(domain, code);
        return await OpenReplicaAsync(shard, ct) ?? await OpenAsync(shard.Primary, ct);
    }

    /// <summary>One shard's part of a list across links: a replica in rotation, else the shard's primary.</summary>
    public async ValueTask<MySqlConnection> OpenForListingAsync(Shard shard, CancellationToken ct) =>
        await OpenReplicaAsync(shard, ct) ?? await OpenAsync(shard.Primary, ct);

    /// <summary>
    /// A replica in rotation of the link's shard for a read that may trail the primary, or null when none is (or none
    /// answers: it leaves the rotation at once, and the next is tried). The caller then reads from the primary.
    /// </summary>
    public Task<MySqlConnection?> OpenReplicaForCodeAsync(string domain, string code, CancellationToken ct) =>
        OpenReplicaAsync(map.ShardFor(domain, code), ct);

    private Task<MySqlConnection?> OpenReplicaAsync(Shard shard, CancellationToken ct) =>
        FromReplicaAsync<MySqlConnection>(shard, async replica => await replica.DataSource.OpenConnectionAsync(ct), ct);

    /// <summary>
    /// A read on a replica in rotation of the link's shard, from opening to its result: a replica that fails it (one that
    /// went away since the last heartbeat, its pooled connections dead) leaves the rotation at once, and the next is
    /// tried. Null when no replica answers or the read finds nothing; the caller then asks the primary.
    /// </summary>
    public Task<T?> ReadFromReplicaAsync<T>(string domain, string code, Func<MySqlConnection, Task<T?>> read, CancellationToken ct) where T : class =>
        FromReplicaAsync(map.ShardFor(domain, code), async replica =>
        {
            await using var connection = await replica.DataSource.OpenConnectionAsync(ct);
            return await read(connection);
        }, ct);

    private async Task<T?> FromReplicaAsync<T>(Shard shard, Func<Replica, Task<T?>> attempt, CancellationToken ct) where T : class
    {
        foreach (var replica in shard.Replicas.InRotation())
        {
            try
            {
                return await attempt(replica);
            }
            catch (Exception exception) when (DatabaseFailures.IsUnavailable(exception) && !ct.IsCancellationRequested)
            {
                // The monitor logs it and takes it back once it answers and has caught up.
                replica.Measured(null, inRotationNow: false);
            }
        }
        if (shard.Replicas.All.Count > 0)
        {
            replicaFallbacks.Add(1, new KeyValuePair<string, object?>("shard", shard.Label));
        }
        return null;
    }

    /// <summary>A shard's primary, for writes across its links' rows: a batch of visits, the deletion of expired ones.</summary>
    public ValueTask<MySqlConnection> OpenPrimaryAsync(Shard shard, CancellationToken ct) => OpenAsync(shard.Primary, ct);

    /// <summary>The control database's tables, which belong to no link: keys and owners, the blocklist, idempotency records, salts.</summary>
    public ValueTask<MySqlConnection> OpenControlAsync(CancellationToken ct) => OpenAsync(control.DataSource, ct);

    private async ValueTask<MySqlConnection> OpenAsync(MySqlDataSource source, CancellationToken ct)
    {
        var connection = await source.OpenConnectionAsync(ct);
        outages.Database.Succeeded();
        return connection;
    }
}
