using Dapper;
using MySqlConnector;

namespace Shortlink.Tests.Support;

/// <summary>
/// A link's "total" rollup rows of this hour and the next, held in an open transaction as a slow writer would hold
/// them: a batch with a visit of that link waits for them, a batch without one need not. Rolled back on dispose.
/// </summary>
internal sealed class HeldRollups : IAsyncDisposable
{
    private readonly string connectionString;
    private readonly MySqlConnection connection;
    private readonly MySqlTransaction transaction;

    private HeldRollups(string connectionString, MySqlConnection connection, MySqlTransaction transaction) =>
        (this.connectionString, this.connection, this.transaction) = (connectionString, connection, transaction);

    public static async Task<HeldRollups> HoldAsync(string connectionString, Guid linkId)
    {
        var connection = new MySqlConnection(connectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        var now = DateTime.UtcNow;
        var hour = new DateTime(now.Year, now.Month, now.Day, now.Hour, 0, 0, DateTimeKind.Utc);
        await connection.ExecuteAsync("""
            INSERT INTO visit_rollups (link_id, is_bot, dimension, hour, value, visits)
            VALUES (@linkId, 0, 'total', @hour, '', 0), (@linkId, 0, 'total', @next, '', 0)
            ON DUPLICATE KEY UPDATE visits = visits
            """, new { linkId, hour, next = hour.AddHours(1) }, transaction);
        return new HeldRollups(connectionString, connection, transaction);
    }

    /// <summary>Until a connection to this database is in the rollup statement, which only waiting on these rows keeps it in.</summary>
    public Task WaitUntilAWriterWaitsAsync() => Eventually.TrueAsync(async () =>
    {
        await using var observer = new MySqlConnection(connectionString);
        return await observer.ExecuteScalarAsync<long>("""
            SELECT COUNT(*) FROM information_schema.PROCESSLIST
            WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND INFO LIKE 'INSERT INTO visit_rollups %'
            """) > 0;
    });

    public async ValueTask DisposeAsync()
    {
        await transaction.RollbackAsync();
        await transaction.DisposeAsync();
        await connection.DisposeAsync();
    }
}
