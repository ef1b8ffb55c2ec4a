using System.Collections.Concurrent;
using Dapper;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using MySqlConnector;
using Shortlink.Infrastructure.Caching;
using Shortlink.Infrastructure.Data;
using ZiggyCreatures.Caching.Fusion;

namespace Shortlink.Infrastructure.Security;

/// <summary>A stored API key, without anything that could rebuild the key.</summary>
internal sealed record StoredKey(Guid Id, Guid OwnerId, string Name, string Role, string Prefix, DateTime? ExpiresAt,
    DateTime CreatedAt, DateTime? LastUsedAt, DateTime? RevokedAt)
{
    public const string Columns = "id, owner_id, name, role, prefix, expires_at, created_at, last_used_at, revoked_at";

    public bool IsUsableAt(DateTime now) => RevokedAt is null && (ExpiresAt is null || ExpiresAt > now);
}

/// <summary>
/// Finds keys by the hash of what a client presented, through the shared cache for at most
/// <see cref="SecurityOptions.KeyCacheSeconds"/>: a revocation forgets the key at once on this instance and, with
/// Redis, on every other through the backplane (without Redis, within that time). Unknown keys are cached too: a key
/// that does not exist now never will, since new keys are random.
/// </summary>
internal sealed class ApiKeyStore(Databases databases, IFusionCache cache, CacheKeys keys, TimeProvider clock, IOptions<ShortlinkOptions> options)
    : IDisposable
{
    /// <summary>last_used_at is written at most this often per key, never on every request.</summary>
    public static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);

    private readonly FusionCacheEntryOptions cached = cache.CreateEntryOptions(entry =>
    {
        entry.Duration = TimeSpan.FromSeconds(options.Value.Security.KeyCacheSeconds);
        entry.DistributedCacheDuration = TimeSpan.FromSeconds(options.Value.Security.KeyCacheSeconds);
        entry.JitterMaxDuration = TimeSpan.Zero;
    });

    private readonly MemoryCache recentlyValid = new(new MemoryCacheOptions { SizeLimit = 100_000 });
    private readonly ConcurrentDictionary<Guid, DateTimeOffset> lastTouched = new();

    public async Task<StoredKey?> FindAsync(byte[] keyHash, CancellationToken ct)
    {
        const string sql = $"SELECT {StoredKey.Columns} FROM api_keys WHERE key_hash = @KeyHash";
        async Task<StoredKey?> LoadAsync(CancellationToken token)
        {
            await using var connection = await databases.OpenControlAsync(token);
            return await connection.QuerySingleOrDefaultAsync<StoredKey>(
                new CommandDefinition(sql, new { KeyHash = keyHash }, cancellationToken: token));
        }
        return options.Value.Security.KeyCacheSeconds == 0
            ? await LoadAsync(ct)
            : await cache.GetOrSetAsync<StoredKey?>(keys.ApiKey(keyHash), (_, token) => LoadAsync(token), options: cached, token: ct);
    }

    /// <summary>Notes that a key authenticated, so that refusals of other keys from its address never hold it up.</summary>
    public void RememberValid(byte[] keyHash) =>
        recentlyValid.Set(Convert.ToHexString(keyHash), true, new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = TimeSpan.FromHours(1) });

    public bool WasRecentlyValid(byte[] keyHash) => recentlyValid.TryGetValue(Convert.ToHexString(keyHash), out _);

    /// <summary>Drops a key from the cache, here at once and on the other instances through the backplane.</summary>
    public ValueTask ForgetAsync(byte[] keyHash) => cache.RemoveAsync(keys.ApiKey(keyHash), token: CancellationToken.None);

    /// <summary>Records that a key was used, at most once a minute per key and instance.</summary>
    public async Task TouchAsync(StoredKey key, CancellationToken ct)
    {
        const string sql = "UPDATE api_keys SET last_used_at = @Now WHERE id = @Id";
        var now = clock.GetUtcNow();
        var due = true;
        lastTouched.AddOrUpdate(key.Id, now, (_, previous) => (due = now - previous >= TouchInterval) ? now : previous);
        if (!due)
        {
            return;
        }
        await using var connection = await databases.OpenControlAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(sql, new { Now = DatabaseTime.Stored(now), key.Id }, cancellationToken: ct));
    }

    /// <summary>Creates an owner (or uses an existing one) and a key for it; returns the stored key.</summary>
    public async Task<StoredKey> CreateAsync(string key, string name, string role, Guid? ownerId, DateTimeOffset? expiresAt,
        MySqlConnection connection, CancellationToken ct)
    {
        const string insertOwner = "INSERT INTO owners (id, name, created_at) VALUES (@Id, @Name, @Now)";
        const string insertKey = """
            INSERT INTO api_keys (id, owner_id, name, role, prefix, key_hash, expires_at, created_at)
            VALUES (@Id, @OwnerId, @Name, @Role, @Prefix, @KeyHash, @ExpiresAt, @Now)
            """;
        var now = DatabaseTime.Stored(clock.GetUtcNow());
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var owner = ownerId ?? Guid.CreateVersion7(clock.GetUtcNow());
        if (ownerId is null)
        {
            await connection.ExecuteAsync(new CommandDefinition(insertOwner, new { Id = owner, Name = name, Now = now }, transaction,
                cancellationToken: ct));
        }
        var stored = new StoredKey(Guid.CreateVersion7(clock.GetUtcNow()), owner, name, role, ApiKeyFormat.PrefixOf(key),
            DatabaseTime.Stored(expiresAt), now, null, null);
        await connection.ExecuteAsync(new CommandDefinition(insertKey, new
        {
            stored.Id,
            stored.OwnerId,
            stored.Name,
            stored.Role,
            stored.Prefix,
            KeyHash = ApiKeyFormat.Hash(key),
            stored.ExpiresAt,
            Now = now,
        }, transaction, cancellationToken: ct));
        await transaction.CommitAsync(CancellationToken.None);
        return stored;
    }

    public void Dispose() => recentlyValid.Dispose();
}
