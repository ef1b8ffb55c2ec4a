using System.Diagnostics.Metrics;
using Dapper;
using Microsoft.Extensions.Options;
using MySqlConnector;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Infrastructure.Data;

/// <summary>
/// A shard's read replicas (Database:Replicas, Database:Shards:N:Replicas) and which of them are in the read rotation,
/// round robin. A replica is in while its copy of its primary's heartbeat trails the primary's own by at most
/// Database:MaxReplicaLagSeconds, as <see cref="ReplicaMonitor"/> measures every heartbeat; it starts out of rotation
/// until its first measurement. The replication threads' own figure is not used: Seconds_Behind_Master reads 0 while
/// the SQL thread is stopped.
/// </summary>
internal sealed class ReplicaSet(int shard, IEnumerable<string> connectionStrings, ILoggerFactory loggers) : IAsyncDisposable
{
    private readonly Replica[] replicas = [.. connectionStrings.Select((connectionString, index) =>
        new Replica(shard, index, DataServiceCollectionExtensions.DataSource(connectionString, DatabaseNames.Replica(shard, index), loggers)))];
    private int next = -1;

    public IReadOnlyList<Replica> All => replicas;

    /// <summary>The replicas in rotation, each once, starting with the next one round robin.</summary>
    public IEnumerable<Replica> InRotation()
    {
        if (replicas.Length == 0)
        {
            yield break;
        }
        var start = (int)((uint)Interlocked.Increment(ref next) % (uint)replicas.Length);
        for (var i = 0; i < replicas.Length; i++)
        {
            var replica = replicas[(start + i) % replicas.Length];
            if (replica.InRotation)
            {
                yield return replica;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in replicas)
        {
            await replica.DataSource.DisposeAsync();
        }
    }
}

/// <summary>One read replica: its connections, and whether it serves reads.</summary>
internal sealed class Replica(int shard, int index, MySqlDataSource dataSource)
{
    private volatile bool inRotation;

    public MySqlDataSource DataSource => dataSource;

    /// <summary>Its shard's number and its position in the shard's replicas name it in logs and metrics (never its connection string).</summary>
    public int Shard => shard;

    public int Index => index;

    public KeyValuePair<string, object?>[] Tags { get; } =
        [new("shard", shard.ToString(System.Globalization.CultureInfo.InvariantCulture)), new("replica", index.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    public bool InRotation => inRotation;

    public double? LagSeconds { get; private set; }

    /// <returns>Whether it was in rotation before.</returns>
    public bool Measured(double? lagSeconds, bool inRotationNow)
    {
        LagSeconds = lagSeconds;
        var was = inRotation;
        inRotation = inRotationNow;
        return was;
    }
}

/// <summary>
/// For each shard with replicas, every Database:HeartbeatMilliseconds: reads the shard primary's latest heartbeat and each
/// of its replicas' copy of it, puts each replica in or out of the read rotation by how far its copy trails, then writes
/// the next heartbeat on the primary (every instance does; the row holds the latest). The lag is measured in whole
/// heartbeats, hence an interval of at most half of Database:MaxReplicaLagSeconds. Both times are the primary's clock,
/// so no two machines' clocks are compared. A replica that does not answer within the interval leaves the rotation; one
/// that catches up comes back by itself. Changes are logged once each. Shards without replicas write no heartbeat.
/// </summary>
internal sealed class ReplicaMonitor(ShardSet shards, IOptions<ShortlinkOptions> options, ILogger<ReplicaMonitor> logger) : BackgroundService
{
    private readonly DatabaseOptions settings = options.Value.Database;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(shards.All.Where(shard => shard.Replicas.All.Count > 0).Select(shard => MonitorAsync(shard, stoppingToken)));

    private async Task MonitorAsync(Shard shard, CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromMilliseconds(settings.HeartbeatMilliseconds);
        using var timer = new PeriodicTimer(interval);
        try
        {
            do
            {
                // Against the latest beat before this one is written: a replica that has caught up has that very beat,
                // lag 0, where a beat written a moment ago would have it look one interval behind.
                var beat = await LatestBeatAsync(shard.Primary, stoppingToken);
                await Task.WhenAll(shard.Replicas.All.Select(replica => MeasureAsync(replica, beat, interval, stoppingToken)));
                await WriteBeatAsync(shard.Primary, stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <returns>The primary's latest heartbeat, or null while the primary does not answer or has none yet (the replicas then stay as they are).</returns>
    private static Task<DateTime?> LatestBeatAsync(MySqlDataSource primary, CancellationToken ct) =>
        OnPrimaryAsync(primary, connection => connection.QuerySingleOrDefaultAsync<DateTime?>(new CommandDefinition(
            "SELECT beat FROM replication_heartbeat WHERE id = 1", cancellationToken: ct)), ct);

    private static async Task WriteBeatAsync(MySqlDataSource primary, CancellationToken ct) => await
        OnPrimaryAsync(primary, async connection =>
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO replication_heartbeat (id, beat) VALUES (1, UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE beat = VALUES(beat)",
                cancellationToken: ct));
            return null;
        }, ct);

    private static async Task<DateTime?> OnPrimaryAsync(MySqlDataSource primary, Func<MySqlConnection, Task<DateTime?>> work, CancellationToken ct)
    {
        try
        {
            await using var connection = await primary.OpenConnectionAsync(ct);
            return await work(connection);
        }
        catch (Exception exception) when (DatabaseFailures.IsUnavailable(exception) || exception is MySqlException { ErrorCode: MySqlErrorCode.NoSuchTable })
        {
            // The primary's outage is logged where requests meet it; a table not migrated yet has no heartbeat to give.
            return null;
        }
    }

    private async Task MeasureAsync(Replica replica, DateTime? beat, TimeSpan interval, CancellationToken ct)
    {
        if (beat is null)
        {
            return;
        }
        double? lag = null;
        string? failure = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(interval);
            await using var connection = await replica.DataSource.OpenConnectionAsync(timeout.Token);
            var copy = await connection.QuerySingleOrDefaultAsync<DateTime?>(new CommandDefinition(
                "SELECT beat FROM replication_heartbeat WHERE id = 1", cancellationToken: timeout.Token));
            lag = copy is null ? null : Math.Max(0, (beat.Value - copy.Value).TotalSeconds);
            failure = copy is null ? "no heartbeat replicated yet" : null;
        }
        catch (Exception exception) when (!ct.IsCancellationRequested && (exception is OperationCanceledException || DatabaseFailures.IsUnavailable(exception)
                                                                           || exception is MySqlException { ErrorCode: MySqlErrorCode.NoSuchTable }))
        {
            failure = exception is OperationCanceledException ? $"no answer within {interval.TotalMilliseconds:0} ms" : exception.Message;
        }
        var inRotation = lag is { } seconds && seconds <= settings.MaxReplicaLagSeconds;
        var was = replica.Measured(lag, inRotation);
        if (failure is not null && lag is null)
        {
            // Its pooled connections died with it, and would each fail a read once it is back.
            await using var pooled = replica.DataSource.CreateConnection();
            await MySqlConnection.ClearPoolAsync(pooled, ct);
        }
        if (was && !inRotation)
        {
            logger.LogWarning("Replica {Replica} of shard {Shard} left the read rotation ({Reason}); its reads go to the others or to the primary",
                replica.Index, replica.Shard, failure ?? $"{lag:0.000} s behind the primary, more than {settings.MaxReplicaLagSeconds} s");
        }
        else if (!was && inRotation)
        {
            logger.LogInformation("Replica {Replica} of shard {Shard} is in the read rotation ({Lag:0.000} s behind the primary)",
                replica.Index, replica.Shard, lag);
        }
    }
}
