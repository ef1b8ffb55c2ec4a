using MySqlConnector;

namespace Shortlink.Infrastructure.Data;

/// <summary>
/// Hands out open connections by what they are for. One MySQL serves everything today; every
/// per-link call names its code so that routing by shard and role later changes no slice.
/// </summary>
internal sealed class Databases(MySqlDataSource dataSource)
{
    public ValueTask<MySqlConnection> OpenForCodeAsync(string code, CancellationToken ct) =>
        dataSource.OpenConnectionAsync(ct);

    public ValueTask<MySqlConnection> OpenForListingAsync(CancellationToken ct) =>
        dataSource.OpenConnectionAsync(ct);

    /// <summary>Small global tables (idempotency records) that belong to no shard.</summary>
    public ValueTask<MySqlConnection> OpenControlAsync(CancellationToken ct) =>
        dataSource.OpenConnectionAsync(ct);
}
