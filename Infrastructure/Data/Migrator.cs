using Dapper;
using EvolveDb;
using EvolveDb.Dialect;
using MySqlConnector;

namespace Shortlink.Infrastructure.Data;

/// <summary>
/// Applies the versioned SQL files embedded from Infrastructure/Data/Migrations with Evolve, to each shard's primary and,
/// when it is another database, to the control database. Each gets the whole schema and uses its part of it: one
/// migration history for every database, and a database can take any role.
/// </summary>
internal sealed class Migrator(ShardSet shards, ControlDatabase control, ILogger<Migrator> logger)
{
    private const string ResourcePrefix = "Migrations.";
    private const string ChangelogTable = "schema_changelog";

    /// <summary>Versions of the embedded V&lt;version&gt;__&lt;name&gt;.sql scripts, as Evolve records them (1_1 becomes 1.1).</summary>
    private static readonly string[] EmbeddedVersions = typeof(Migrator).Assembly.GetManifestResourceNames()
        .Where(name => name.StartsWith(ResourcePrefix + "V", StringComparison.Ordinal) && name.Contains("__", StringComparison.Ordinal))
        .Select(name => name[(ResourcePrefix.Length + 1)..name.IndexOf("__", StringComparison.Ordinal)].Replace('_', '.'))
        .ToArray();

    private IEnumerable<MySqlDataSource> DataSources =>
        shards.All.Select(shard => shard.Primary).Append(control.DataSource).Distinct();

    public async Task MigrateAsync(CancellationToken ct)
    {
        foreach (var dataSource in DataSources)
        {
            await MigrateAsync(dataSource, ct);
        }
    }

    private async Task MigrateAsync(MySqlDataSource dataSource, CancellationToken ct)
    {
        // On a connection outside the pool: pooled sessions are not reset between uses (see WithRequiredSettings),
        // and whatever Evolve leaves in its session (its lock, settings) must not reach a request.
        await using var connection = new MySqlConnection(
            new MySqlConnectionStringBuilder(dataSource.ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(ct);
        var evolve = new Evolve(connection, message => logger.LogInformation("{MigrationMessage}", message), DBMS.MySQL)
        {
            EmbeddedResourceAssemblies = [typeof(Migrator).Assembly],
            EmbeddedResourceFilters = [ResourcePrefix],
            MetadataTableName = ChangelogTable,
            IsEraseDisabled = true,
            EnableClusterMode = true,
        };
        evolve.Migrate();
        logger.LogInformation("Database {Database} migrated: {AppliedCount} migration(s) applied now", connection.Database, evolve.NbMigration);
    }

    /// <summary>
    /// The embedded versions a database has not applied successfully, each with the database's name when there are two.
    /// Compared by version, not by count: the changelog also holds Evolve's own marker rows, which are no migration.
    /// </summary>
    public async Task<IReadOnlyList<string>> PendingMigrationsAsync(CancellationToken ct)
    {
        var sources = DataSources.ToList();
        List<string> pending = [];
        foreach (var dataSource in sources)
        {
            var missing = await PendingMigrationsAsync(dataSource, ct);
            pending.AddRange(sources.Count == 1 ? missing
                : missing.Select(version => $"{new MySqlConnectionStringBuilder(dataSource.ConnectionString).Database} {version}"));
        }
        return pending;
    }

    private static async Task<IReadOnlyList<string>> PendingMigrationsAsync(MySqlDataSource dataSource, CancellationToken ct)
    {
        const string hasChangelog = $"""
            SELECT COUNT(*) FROM information_schema.tables
            WHERE table_schema = DATABASE() AND table_name = '{ChangelogTable}'
            """;
        const string applied = $"SELECT version FROM {ChangelogTable} WHERE success = 1 AND version IS NOT NULL";
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        if (await connection.ExecuteScalarAsync<int>(new CommandDefinition(hasChangelog, cancellationToken: ct)) == 0)
        {
            return EmbeddedVersions;
        }
        var appliedVersions = await connection.QueryAsync<string>(new CommandDefinition(applied, cancellationToken: ct));
        return EmbeddedVersions.Except(appliedVersions, StringComparer.Ordinal).ToList();
    }
}
