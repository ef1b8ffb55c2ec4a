using System.Collections.Concurrent;
using Dapper;
using Shortlink.Infrastructure.Caching;
using Shortlink.Infrastructure.Data;
using StackExchange.Redis;

namespace Shortlink.Features.Links;

/// <summary>
/// Counts visits to links with a visit limit, exactly under any concurrency, in one atomic operation per visit:
/// <list type="bullet">
/// <item>with Redis, a Lua script that checks and increments the link's counter, raised first to the stored count
/// (a floor: the database's count only grows). Counts reach the link's row in the background, every second and at
/// shutdown, as GREATEST(stored, counted), and at start every counter in Redis is written back the same way, so a
/// crash loses nothing Redis kept;</item>
/// <item>without Redis, or while Redis fails, the database's conditional UPDATE, as before the cache existed.</item>
/// </list>
/// An instance reads the stored count once per link before it first counts it in Redis, and again after any Redis
/// failure: visits that the database counted meanwhile are then included, and a Redis that lost its data starts
/// again from the stored count. What the README says about the guarantee follows from this.
/// </summary>
internal sealed class VisitCounters(RedisConnection redis, CacheKeys keys, Databases databases, ILogger<VisitCounters> logger)
    : BackgroundService
{
    // KEYS[1] the counter; ARGV[1] the limit, ARGV[2] the stored count as a floor ('' when not read), ARGV[3] 1 to
    // look only. Returns the count after this visit; -1 when the limit was already reached; -2 when the counter does
    // not exist (never counted here, or Redis lost it) and no floor came with the call.
    private const string CountScript = """
        local count = redis.call('GET', KEYS[1])
        if not count then
          if ARGV[2] == '' then
            return -2
          end
          count = tonumber(ARGV[2])
          redis.call('SET', KEYS[1], count)
        else
          count = tonumber(count)
          if ARGV[2] ~= '' and count < tonumber(ARGV[2]) then
            count = tonumber(ARGV[2])
            redis.call('SET', KEYS[1], count)
          end
        end
        if count >= tonumber(ARGV[1]) then
          return -1
        end
        if ARGV[3] == '1' then
          return count
        end
        return redis.call('INCR', KEYS[1])
        """;
    private const long LimitReached = -1;
    private const long NoCounter = -2;

    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(1);

    /// <summary>Counts taken in Redis and not yet written to the links' rows, by (domain, code).</summary>
    private readonly ConcurrentDictionary<(string Domain, string Code), long> unwritten = new();

    /// <summary>Links whose stored count this instance has read since Redis last failed it.</summary>
    private readonly ConcurrentDictionary<Guid, bool> floored = new();

    /// <summary>True when the visit may go on; HEAD only looks and never uses a visit.</summary>
    public async ValueTask<bool> TryUseAsync(LinkRow link, bool onlyLook, CancellationToken ct)
    {
        if (redis.Multiplexer is { IsConnected: true } multiplexer)
        {
            try
            {
                return await TryUseInRedisAsync(multiplexer.GetDatabase(), link, onlyLook, ct);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                logger.LogDebug(ex, "Counting a visit in Redis failed; the database counts it");
            }
        }
        // Counted in the database: when Redis is back, each link's stored count is read again before Redis counts it.
        floored.Clear();
        return await TryUseInDatabaseAsync(link, onlyLook, ct);
    }

    private async Task<bool> TryUseInRedisAsync(IDatabase database, LinkRow link, bool onlyLook, CancellationToken ct)
    {
        RedisKey[] counter = [keys.VisitCounter(link.Domain, link.Code)];
        async Task<long> CountAsync(RedisValue floor) =>
            (long)await database.ScriptEvaluateAsync(CountScript, counter, [link.MaxVisits!.Value, floor, onlyLook ? 1 : 0]);
        var result = await CountAsync(floored.ContainsKey(link.Id) ? RedisValue.EmptyString : await StoredCountAsync(link, ct));
        if (result == NoCounter)
        {
            result = await CountAsync(await StoredCountAsync(link, ct));
        }
        floored.TryAdd(link.Id, true);
        if (result == LimitReached)
        {
            return false;
        }
        if (!onlyLook)
        {
            unwritten.AddOrUpdate((link.Domain, link.Code), result, (_, known) => Math.Max(known, result));
        }
        return true;
    }

    private async Task<long> StoredCountAsync(LinkRow link, CancellationToken ct)
    {
        const string sql = "SELECT visit_count FROM links WHERE id = @Id";
        await using var connection = await databases.OpenForCodeAsync(link.Domain, link.Code, ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(sql, new { link.Id }, cancellationToken: ct));
    }

    /// <summary>One conditional update, so concurrent visitors can never go past the limit; HEAD reads the stored count.</summary>
    private async Task<bool> TryUseInDatabaseAsync(LinkRow link, bool onlyLook, CancellationToken ct)
    {
        const string use = """
            UPDATE links SET visit_count = visit_count + 1
            WHERE id = @Id AND deleted_at IS NULL AND visit_count < max_visits
            """;
        const string look = "SELECT COUNT(*) FROM links WHERE id = @Id AND deleted_at IS NULL AND visit_count < max_visits";
        await using var connection = await databases.OpenForCodeAsync(link.Domain, link.Code, ct);
        return onlyLook
            ? await connection.ExecuteScalarAsync<long>(new CommandDefinition(look, new { link.Id }, cancellationToken: ct)) == 1
            : await connection.ExecuteAsync(new CommandDefinition(use, new { link.Id }, cancellationToken: ct)) == 1;
    }

    /// <summary>Forgets a deleted link's counter, so that Redis keeps no counters of links that are gone.</summary>
    public async ValueTask ForgetAsync(string domain, string code)
    {
        if (redis.Multiplexer is { IsConnected: true } multiplexer)
        {
            await multiplexer.GetDatabase().KeyDeleteAsync(keys.VisitCounter(domain, code), StackExchange.Redis.CommandFlags.FireAndForget);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (redis.Multiplexer is null)
        {
            return;
        }
        await WriteBackEveryCounterAsync(stoppingToken);
        using var timer = new PeriodicTimer(FlushInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await WriteUnwrittenAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync writes what is left.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await WriteUnwrittenAsync(cancellationToken);
    }

    /// <summary>At start: every counter Redis holds is written to its row, so counts a crashed instance never wrote are kept.</summary>
    private async Task WriteBackEveryCounterAsync(CancellationToken ct)
    {
        try
        {
            var multiplexer = redis.Multiplexer!;
            if (!multiplexer.IsConnected)
            {
                return;
            }
            var database = multiplexer.GetDatabase();
            foreach (var server in multiplexer.GetServers().Where(server => server.IsConnected && !server.IsReplica))
            {
                await foreach (var key in server.KeysAsync(pattern: keys.VisitCounterPattern).WithCancellation(ct))
                {
                    if (keys.ParseVisitCounter(key!) is { } link && (long?)await database.StringGetAsync(key) is { } count)
                    {
                        unwritten.AddOrUpdate(link, count, (_, known) => Math.Max(known, count));
                    }
                }
            }
            await WriteUnwrittenAsync(ct);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException || DatabaseFailures.IsUnavailable(ex))
        {
            logger.LogWarning("Visit counters in Redis could not be written back at start ({Reason}); they are written as the links are visited",
                ex.Message);
        }
    }

    private async Task WriteUnwrittenAsync(CancellationToken ct)
    {
        const string sql = """
            UPDATE links SET visit_count = GREATEST(visit_count, @Count)
            WHERE domain = @Domain AND code = @Code
            """;
        foreach (var (link, count) in unwritten.ToArray())
        {
            try
            {
                await using var connection = await databases.OpenForCodeAsync(link.Domain, link.Code, ct);
                await connection.ExecuteAsync(new CommandDefinition(sql, new { link.Domain, link.Code, Count = count }, cancellationToken: ct));
                // Removed only if no newer count came meanwhile; a newer one is written next time.
                unwritten.TryRemove(new KeyValuePair<(string, string), long>(link, count));
            }
            catch (Exception ex) when (DatabaseFailures.IsUnavailable(ex))
            {
                // The database's outage is logged by the requests that meet it; the counts wait for the next round.
                return;
            }
        }
    }
}
