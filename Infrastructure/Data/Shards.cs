using System.Diagnostics.Metrics;
using System.IO.Hashing;
using System.Text;
using Dapper;
using Microsoft.Extensions.Options;
using MySqlConnector;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Infrastructure.Data;

/// <summary>
/// The virtual buckets links are sharded by. A link's bucket is the CRC-32 (IEEE 802.3, the polynomial of zlib and of
/// SQL's CRC32()) of the UTF-8 bytes of its domain, '/', its code, modulo <see cref="Count"/>: the same number the
/// links table's generated bucket column holds, so that a shard can find a bucket's rows by index. Never
/// string.GetHashCode, which differs between processes.
/// </summary>
internal static class Buckets
{
    public const int Count = 1024;

    public static int Of(string domain, string code)
    {
        // At most 253 domain bytes, the separator and 64 characters of 4 bytes.
        Span<byte> text = stackalloc byte[Encoding.UTF8.GetMaxByteCount(domain.Length + 1 + code.Length)];
        var length = Encoding.UTF8.GetBytes(domain, text);
        text[length++] = (byte)'/';
        length += Encoding.UTF8.GetBytes(code, text[length..]);
        return (int)(Crc32.HashToUInt32(text[..length]) % Count);
    }
}

/// <summary>One shard: the primary that takes its writes, and its read replicas.</summary>
internal sealed class Shard(int number, MySqlDataSource primary, ReplicaSet replicas)
{
    /// <summary>0 for Database:ConnectionString, else its key under Database:Shards. Names it in logs, metrics and the bucket map.</summary>
    public int Number => number;

    public MySqlDataSource Primary => primary;

    public ReplicaSet Replicas => replicas;

    /// <summary>Its number as a metric's shard label.</summary>
    public string Label { get; } = number.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public override string ToString() => $"shard {number}";
}

/// <summary>
/// The configured shards: shard 0 is Database:ConnectionString with Database:Replicas, the others come from
/// Database:Shards. One shard without replicas is the single-server default, through the same code.
/// </summary>
internal sealed class ShardSet : IAsyncDisposable
{
    private readonly Dictionary<int, Shard> byNumber;

    public ShardSet(MySqlDataSource first, IOptions<ShortlinkOptions> options, ILoggerFactory loggers, IMeterFactory meters)
    {
        var database = options.Value.Database;
        All = [new Shard(0, first, new ReplicaSet(0, database.Replicas, loggers)),
            .. database.ConfiguredShards.OrderBy(shard => shard.Key).Select(shard => new Shard(shard.Key,
                DataServiceCollectionExtensions.DataSource(shard.Value.ConnectionString, DatabaseNames.Primary(shard.Key), loggers), new ReplicaSet(shard.Key, shard.Value.Replicas, loggers)))];
        byNumber = All.ToDictionary(shard => shard.Number);
        var replicas = All.SelectMany(shard => shard.Replicas.All).ToList();
        var meter = meters.Create(ShortlinkMetrics.MeterName);
        meter.CreateObservableGauge("shortlink.database.replica.in_rotation",
            () => replicas.Select(replica => new Measurement<int>(replica.InRotation ? 1 : 0, replica.Tags)), "{replica}",
            "Whether the replica serves reads (1) or has left the rotation (0)");
        meter.CreateObservableGauge("shortlink.database.replica.lag",
            // Each lag read once: the monitor and the requests may set it in between.
            () => replicas.Select(replica => (replica.Tags, Lag: replica.LagSeconds)).Where(replica => replica.Lag is not null)
                .Select(replica => new Measurement<double>(replica.Lag!.Value, replica.Tags)),
            "s", "How far the replica's copy of the primary's heartbeat trails the primary's, at the last measurement");
    }

    /// <summary>By number, shard 0 first.</summary>
    public IReadOnlyList<Shard> All { get; }

    public Shard? Numbered(int number) => byNumber.GetValueOrDefault(number);

    public async ValueTask DisposeAsync()
    {
        foreach (var shard in All)
        {
            await shard.Replicas.DisposeAsync();
            if (shard.Number != 0)
            {
                // Shard 0's primary is the container's own singleton, disposed with it.
                await shard.Primary.DisposeAsync();
            }
        }
    }
}

/// <summary>
/// The bucket map is not loaded yet (the control database has not answered since this instance started), or, for a
/// write, was last confirmed longer ago than <see cref="BucketMap.StaleAfter"/>: a bucket may have moved meanwhile.
/// </summary>
internal sealed class BucketMapUnavailableException(string message) : Exception(message);

/// <summary>A write to a bucket whose last changes are being copied to another shard: answered 503 with Retry-After.</summary>
internal sealed class BucketMovingException(int bucket, TimeSpan retryAfter) : Exception($"Bucket {bucket} is being moved between shards")
{
    public int Bucket => bucket;

    public TimeSpan RetryAfter => retryAfter;
}

/// <summary>One bucket's row of the control database's bucket_map.</summary>
/// <param name="FrozenForMilliseconds">How much longer the bucket's writes are refused, by the control database's clock, when they are.</param>
internal readonly record struct BucketRow(int Bucket, int Shard, int? MovingTo, int? MovedFrom, long? FrozenForMilliseconds);

/// <summary>
/// Which shard holds each bucket, as this instance last read it from the control database's bucket_map, which is
/// authoritative: <see cref="BucketMapRefresher"/> reads it again within a second of any change. A map that names a
/// shard this instance has no configuration for is refused (logged) and the previous one kept: configure a new shard on
/// every instance before moving buckets to it. Reads follow the map as it is; writes also need it confirmed within
/// <see cref="StaleAfter"/>, and refuse a bucket whose writes a move has frozen (<see cref="BucketMover"/>).
/// </summary>
internal sealed class BucketMap
{
    /// <summary>
    /// How long a map not confirmed by the control database still routes writes. A move waits this long (and a poll)
    /// after each change before it relies on every instance following it, so that an instance cut off from the control
    /// database stops writing instead of writing to a bucket's old shard.
    /// </summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(2);

    /// <summary>What a refused write is told to wait: a move's freeze lasts <see cref="StaleAfter"/>, two polls and the second copy.</summary>
    private static readonly TimeSpan FrozenRetryAfter = TimeSpan.FromSeconds(2);

    private readonly ShardSet shards;
    private volatile Snapshot? current;
    private long confirmedAt;

    public BucketMap(ShardSet shards, IMeterFactory meters)
    {
        this.shards = shards;
        var meter = meters.Create(ShortlinkMetrics.MeterName);
        meter.CreateObservableGauge<long>("shortlink.database.bucket_map.version", () => current is { } map ? [new Measurement<long>(map.Version)] : [],
            "{version}", "The version of the bucket map this instance routes by: every instance shows the same within a second of a change");
        meter.CreateObservableGauge<int>("shortlink.database.shard.buckets",
            () => current is { } map
                ? shards.All.Select(shard => new Measurement<int>(map.ShardOf.Count(owner => owner == shard.Number),
                    new KeyValuePair<string, object?>("shard", shard.Number.ToString(System.Globalization.CultureInfo.InvariantCulture))))
                : [],
            "{bucket}", "How many of the buckets the shard holds, by this instance's bucket map");
    }

    /// <param name="FrozenUntil">Per bucket, the Environment.TickCount64 until which its writes are refused; 0 when they are not.</param>
    /// <param name="Foreign">Per shard number, the buckets it has rows of without holding them: a move's copy, or what a move left for the clean-up.</param>
    internal sealed record Snapshot(long Version, int[] ShardOf, long[] FrozenUntil, IReadOnlyDictionary<int, int[]> Foreign);

    public bool IsLoaded => current is not null;

    public long? Version => current?.Version;

    private Snapshot Current => current ?? throw new BucketMapUnavailableException("The bucket map has not been read from the control database yet");

    /// <summary>The shard to read a link from.</summary>
    public Shard ShardFor(string domain, string code) => ShardOf(Buckets.Of(domain, code));

    public Shard ShardOf(int bucket) => shards.Numbered(Current.ShardOf[bucket])!;

    /// <summary>The shard to write a link to: refused while the map is stale or a move has frozen the link's bucket.</summary>
    public Shard ShardForWrite(string domain, string code)
    {
        var map = Current;
        var now = Environment.TickCount64;
        if (now - Volatile.Read(ref confirmedAt) > StaleAfter.TotalMilliseconds)
        {
            throw new BucketMapUnavailableException($"The bucket map was last confirmed by the control database more than {StaleAfter.TotalSeconds} s ago");
        }
        var bucket = Buckets.Of(domain, code);
        if (map.FrozenUntil[bucket] > now)
        {
            throw new BucketMovingException(bucket, FrozenRetryAfter);
        }
        return shards.Numbered(map.ShardOf[bucket])!;
    }

    /// <summary>The buckets the shard has rows of that it does not hold: lists and sums across links leave them out.</summary>
    public IReadOnlyList<int> ForeignOn(Shard shard) => Current.Foreign.GetValueOrDefault(shard.Number) ?? [];

    /// <summary>The control database answered that the map is still at this instance's version.</summary>
    public void Confirmed() => Volatile.Write(ref confirmedAt, Environment.TickCount64);

    /// <summary>The map read from the control database: applied when it is whole and names only configured shards.</summary>
    /// <returns>Null when applied, else why not.</returns>
    public string? Apply(long version, IReadOnlyList<BucketRow> rows)
    {
        var now = Environment.TickCount64;
        var shardOf = new int[Buckets.Count];
        var frozenUntil = new long[Buckets.Count];
        var foreign = new Dictionary<int, List<int>>();
        Array.Fill(shardOf, -1);
        foreach (var row in rows)
        {
            if (row.Bucket is < 0 or >= Buckets.Count)
            {
                return $"bucket {row.Bucket} is outside 0..{Buckets.Count - 1}";
            }
            foreach (var shard in new[] { row.Shard, row.MovingTo, row.MovedFrom }.OfType<int>())
            {
                if (shards.Numbered(shard) is null)
                {
                    return $"bucket {row.Bucket} names shard {shard}, which this instance's Database:Shards does not configure";
                }
            }
            shardOf[row.Bucket] = row.Shard;
            frozenUntil[row.Bucket] = row.FrozenForMilliseconds is > 0 and var frozen ? now + frozen : 0;
            foreach (var shard in new[] { row.MovingTo, row.MovedFrom }.OfType<int>())
            {
                (foreign.TryGetValue(shard, out var buckets) ? buckets : foreign[shard] = []).Add(row.Bucket);
            }
        }
        if (Array.IndexOf(shardOf, -1) is var missing and >= 0)
        {
            return $"bucket {missing} has no shard";
        }
        current = new Snapshot(version, shardOf, frozenUntil, foreign.ToDictionary(pair => pair.Key, pair => pair.Value.ToArray()));
        Confirmed();
        return null;
    }
}

/// <summary>
/// Reads the bucket map from the control database before the instance serves (a start-up that cannot read it goes on,
/// and requests that need it answer 503 until it can), then polls its version every <see cref="Interval"/> and reads
/// the map again when it changed. Failures are logged once per change of state; an unreachable database, by Outages.
/// </summary>
internal sealed class BucketMapRefresher(Databases databases, BucketMap map, Outages outages, ILogger<BucketMapRefresher> logger) : BackgroundService
{
    /// <summary>How often each instance looks for a change: every instance follows one within a second.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    private string? failing;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await RefreshAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RefreshAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public async Task RefreshAsync(CancellationToken ct)
    {
        string? failure;
        try
        {
            await using var connection = await databases.OpenControlAsync(ct);
            var version = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
                "SELECT version FROM bucket_map_version WHERE id = 1", cancellationToken: ct));
            if (version is null)
            {
                failure = "bucket_map_version has no row";
            }
            else if (version == map.Version)
            {
                map.Confirmed();
                failure = null;
            }
            else
            {
                var rows = await BucketMapSql.ReadAsync(connection, ct);
                failure = map.Apply(version.Value, rows);
                if (failure is null)
                {
                    logger.LogInformation("Bucket map version {BucketMapVersion} read", version);
                }
            }
        }
        catch (Exception exception) when (DatabaseFailures.IsUnavailable(exception) && !ct.IsCancellationRequested)
        {
            // Logged once for the whole service by Outages.
            outages.Database.Failed(exception);
            return;
        }
        catch (MySqlException exception) when (exception.ErrorCode is MySqlErrorCode.NoSuchTable && !ct.IsCancellationRequested)
        {
            failure = $"{exception.Message}; run the migrate command";
        }
        if (failure is not null && failure != failing)
        {
            logger.LogError("The bucket map cannot be read from the control database ({Reason}); {Consequence}", failure,
                map.IsLoaded ? $"version {map.Version} stays in use" : "requests that need a shard answer 503");
        }
        else if (failure is null && failing is not null)
        {
            logger.LogInformation("The bucket map is read from the control database again (version {BucketMapVersion})", map.Version);
        }
        failing = failure;
    }
}

internal static class BucketMapSql
{
    /// <summary>The whole map, with each freeze's remaining time by the control database's own clock, so that no two clocks are compared.</summary>
    public static async Task<List<BucketRow>> ReadAsync(MySqlConnection control, CancellationToken ct, MySqlTransaction? transaction = null) =>
        (await control.QueryAsync<(int Bucket, int Shard, int? MovingTo, int? MovedFrom, long? FrozenForMilliseconds)>(
            new CommandDefinition(Read, transaction: transaction, cancellationToken: ct)))
        .Select(row => new BucketRow(row.Bucket, row.Shard, row.MovingTo, row.MovedFrom, row.FrozenForMilliseconds))
        .ToList();

    private const string Read = """
        SELECT bucket, shard, moving_to AS MovingTo, moved_from AS MovedFrom,
               CASE WHEN writes_frozen_until > UTC_TIMESTAMP(3) THEN TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3), writes_frozen_until) DIV 1000 END
                   AS FrozenForMilliseconds
        FROM bucket_map
        """;

    /// <summary>Every change of the map bumps its version, which every instance polls.</summary>
    public const string Bump = "UPDATE bucket_map_version SET version = version + 1 WHERE id = 1";
}
