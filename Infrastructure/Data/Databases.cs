using MySqlConnector;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Infrastructure.Data;

/// <summary>
/// Hands out open connections by what they are for. One MySQL serves everything today; every
/// per-link call names its code so that routing by shard and role later changes no slice. Callers
/// hold a connection for one unit of work and give it back before doing anything else.
/// </summary>
internal sealed class Databases(MySqlDataSource dataSource, Outages outages)
{
    public ValueTask<MySqlConnection> OpenForCodeAsync(string code, CancellationToken ct) => OpenAsync(ct);

    public ValueTask<MySqlConnection> OpenForListingAsync(CancellationToken ct) => OpenAsync(ct);

    /// <summary>Housekeeping that writes across a shard's rows (deleting expired visits): its primary.</summary>
    public ValueTask<MySqlConnection> OpenForMaintenanceAsync(CancellationToken ct) => OpenAsync(ct);

    /// <summary>Small global tables (idempotency records) that belong to no shard.</summary>
    public ValueTask<MySqlConnection> OpenControlAsync(CancellationToken ct) => OpenAsync(ct);

    private async ValueTask<MySqlConnection> OpenAsync(CancellationToken ct)
    {
        var connection = await dataSource.OpenConnectionAsync(ct);
        outages.Database.Succeeded();
        return connection;
    }
}
