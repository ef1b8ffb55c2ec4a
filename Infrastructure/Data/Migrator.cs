using Dapper;
using EvolveDb;
using EvolveDb.Dialect;
using MySqlConnector;

namespace Shortlink.Infrastructure.Data;

/// <summary>Applies the versioned SQL files embedded from Infrastructure/Data/Migrations with Evolve.</summary>
internal sealed class Migrator(MySqlDataSource dataSource, ILogger<Migrator> logger)
{
    private const string ResourcePrefix = "Migrations.";
    private const string ChangelogTable = "schema_changelog";

    private static readonly int VersionedScriptCount = typeof(Migrator).Assembly.GetManifestResourceNames()
        .Count(name => name.StartsWith(ResourcePrefix + "V", StringComparison.Ordinal));

    public async Task MigrateAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var evolve = new Evolve(connection, message => logger.LogInformation("{MigrationMessage}", message), DBMS.MySQL)
        {
            EmbeddedResourceAssemblies = [typeof(Migrator).Assembly],
            EmbeddedResourceFilters = [ResourcePrefix],
            MetadataTableName = ChangelogTable,
            IsEraseDisabled = true,
            EnableClusterMode = true,
        };
        evolve.Migrate();
        logger.LogInformation("Database migrated: {AppliedCount} migration(s) applied now", evolve.NbMigration);
    }

    public async Task<int> PendingMigrationsAsync(CancellationToken ct)
    {
        const string sql = $"""
            SELECT COUNT(*) FROM information_schema.tables
            WHERE table_schema = DATABASE() AND table_name = '{ChangelogTable}'
            """;
        const string appliedSql = $"""
            SELECT COUNT(DISTINCT version) FROM {ChangelogTable} WHERE success = 1 AND version IS NOT NULL
            """;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var hasChangelog = await connection.ExecuteScalarAsync<int>(new CommandDefinition(sql, cancellationToken: ct)) > 0;
        var applied = hasChangelog
            ? await connection.ExecuteScalarAsync<int>(new CommandDefinition(appliedSql, cancellationToken: ct))
            : 0;
        return Math.Max(0, VersionedScriptCount - applied);
    }
}
