using MySqlConnector;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Infrastructure.Data;

/// <summary>
/// Hands out open connections by what they are for. Writes, and reads that must see them (a link read back by its
/// code), go to the primary; lists, stats and the redirect's lookups may come from a read replica in rotation, which
/// trails the primary by at most Database:MaxReplicaLagSeconds, and from the primary when none is. Every per-link call
/// names its code so that routing by shard later changes no slice. Callers hold a connection for one unit of work and
/// give it back before doing anything else.
/// </summary>
internal sealed class Databases(MySqlDataSource dataSource, ControlDatabase control, ReplicaSet replicas, Outages outages)
{
    /// <summary>The primary, for a link's writes and for reads that must see them.</summary>
    public ValueTask<MySqlConnection> OpenForCodeAsync(string code, CancellationToken ct) => OpenAsync(ct);

    /// <summary>A link's stats and visits: a replica in rotation, else the primary.</summary>
    public async ValueTask<MySqlConnection> OpenForCodeStatsAsync(string code, CancellationToken ct) =>
        await OpenReplicaAsync(ct) ?? await OpenAsync(ct);

    /// <summary>Lists across links: a replica in rotation, else the primary.</summary>
    public async ValueTask<MySqlConnection> OpenForListingAsync(CancellationToken ct) => await OpenReplicaAsync(ct) ?? await OpenAsync(ct);

    /// <summary>
    /// A replica in rotation for a read that may trail the primary, or null when none is (or none answers: it leaves
    /// the rotation at once, and the next is tried). The caller then reads from the primary.
    /// </summary>
    public Task<MySqlConnection?> OpenReplicaAsync(CancellationToken ct) =>
        FromReplicaAsync<MySqlConnection>(async replica => await replica.DataSource.OpenConnectionAsync(ct), ct);

    /// <summary>
    /// A read on a replica in rotation, from opening to its result: a replica that fails it (one that went away since
    /// the last heartbeat, its pooled connections dead) leaves the rotation at once, and the next is tried. Null when
    /// no replica answers or the read finds nothing; the caller then asks the primary.
    /// </summary>
    public Task<T?> ReadFromReplicaAsync<T>(Func<MySqlConnection, Task<T?>> read, CancellationToken ct) where T : class =>
        FromReplicaAsync(async replica =>
        {
            await using var connection = await replica.DataSource.OpenConnectionAsync(ct);
            return await read(connection);
        }, ct);

    private async Task<T?> FromReplicaAsync<T>(Func<Replica, Task<T?>> attempt, CancellationToken ct) where T : class
    {
        foreach (var replica in replicas.InRotation())
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
        return null;
    }

    /// <summary>Housekeeping that writes across a shard's rows (deleting expired visits): its primary.</summary>
    public ValueTask<MySqlConnection> OpenForMaintenanceAsync(CancellationToken ct) => OpenAsync(ct);

    /// <summary>The control database's tables, which belong to no link: keys and owners, the blocklist, idempotency records, salts.</summary>
    public ValueTask<MySqlConnection> OpenControlAsync(CancellationToken ct) => OpenAsync(control.DataSource, ct);

    private ValueTask<MySqlConnection> OpenAsync(CancellationToken ct) => OpenAsync(dataSource, ct);

    private async ValueTask<MySqlConnection> OpenAsync(MySqlDataSource source, CancellationToken ct)
    {
        var connection = await source.OpenConnectionAsync(ct);
        outages.Database.Succeeded();
        return connection;
    }
}
