using Dapper;
using MySqlConnector;

namespace Shortlink.Infrastructure.Data;

/// <summary>
/// Moves buckets between shards while traffic runs, and nothing a redirect needs is ever missing. The buckets of one
/// command that share a shard move together, as one unit:
/// <list type="number">
/// <item>marks them as moving to the target (lists and sums leave the target's copy out), and copies their links,
/// tags, visits, visitors and rollups there while writes go on at the source;</item>
/// <item>freezes their writes (creates, changes and deletes answer 503 with Retry-After; visits wait in the writer;
/// redirects go on from the source), waits until no instance can still be writing there, and copies again;</item>
/// <item>compares row counts and checksums of every table on both sides, and flips the map: every instance reads and
/// writes them on the target within a second, and the source's rows are left out of lists and sums;</item>
/// <item>adds the visit counts that redirects made on the source during the move to the target's, and after the grace
/// period deletes the buckets' rows from the source, unless they changed after the freeze (then it says so and keeps them).</item>
/// </list>
/// Every step is idempotent: a move that stopped half-way (its freeze ends by itself) is run again from the start.
/// </summary>
internal sealed class BucketMover(ShardSet shards, Databases databases, ILogger<BucketMover> logger)
{
    /// <summary>A freeze ends by itself after this, should the move stop before it flips the map.</summary>
    private static readonly TimeSpan FreezeLimit = TimeSpan.FromSeconds(30);

    /// <summary>Until every instance follows a change of the map, or refuses writes for want of confirming it.</summary>
    private static readonly TimeSpan Propagation = BucketMap.StaleAfter + 2 * BucketMapRefresher.Interval;

    private const int RowsPerStatement = 500;

    /// <summary>Each table of the buckets, read by joining their links; the rows are copied with these columns.</summary>
    private static readonly Table[] Tables =
    [
        new("links", "id, domain, code, owner_id, created_by_key_id, url, title, redirect_type, forward_query, valid_from, expires_at, " +
                     "max_visits, visit_count, created_at, updated_at, deleted_at, password_hash",
            "l.id = x.id", Checksum: "HEX(x.id), x.code, x.url, x.title, x.redirect_type, x.forward_query, x.valid_from, x.expires_at, " +
                                      "x.max_visits, x.updated_at, x.deleted_at, x.password_hash, HEX(x.owner_id)", Upsert: true),
        new("link_tags", "link_id, tag", "l.id = x.link_id", Checksum: "HEX(x.link_id), x.tag", Upsert: false, ReplacedWhole: true),
        new("visits", "id, link_id, owner_id, occurred_at, referrer_host, country, browser, os, device, is_bot, visitor_hash, region",
            "l.id = x.link_id", Checksum: "HEX(x.id)", Upsert: false),
        new("visit_visitors", "link_id, day, visitor_hash", "l.id = x.link_id", Checksum: "HEX(x.link_id), x.day, HEX(x.visitor_hash)", Upsert: false),
        new("visit_rollups", "link_id, is_bot, dimension, hour, value, visits", "l.id = x.link_id",
            Checksum: "HEX(x.link_id), x.is_bot, x.dimension, x.hour, x.value, x.visits", Upsert: true),
        new("visit_rollups_daily", "link_id, is_bot, dimension, day, value, visits", "l.id = x.link_id",
            Checksum: "HEX(x.link_id), x.is_bot, x.dimension, x.day, x.value, x.visits", Upsert: true),
    ];

    private sealed record Table(string Name, string Columns, string JoinsLink, string Checksum, bool Upsert, bool ReplacedWhole = false)
    {
        public string[] ColumnNames { get; } = Columns.Split(", ");
    }

    /// <summary>A table's rows of the buckets on one shard, summed up: equal on both sides when the copy is whole.</summary>
    private sealed record Summary(string Table, long Rows, ulong Checksum);

    /// <summary>Moves the buckets, those of each shard together, then, after the grace period, cleans their old shards up.</summary>
    /// <returns>Whether every bucket moved and was cleaned up.</returns>
    public async Task<bool> MoveAsync(IReadOnlyList<int> buckets, int targetNumber, TimeSpan grace, CancellationToken ct)
    {
        var target = shards.Numbered(targetNumber) ?? throw new ArgumentException($"Shard {targetNumber} is not configured (Database:Shards:{targetNumber})");
        var rows = (await ReadMapAsync(ct)).Where(row => buckets.Contains(row.Bucket)).ToList();
        if (rows.Where(row => row.MovedFrom is not null).Select(row => (BucketRow?)row).FirstOrDefault() is { } pending)
        {
            throw new InvalidOperationException(
                $"Bucket {pending.Bucket}'s last move has not cleaned shard {pending.MovedFrom} up yet: run buckets cleanup {pending.Bucket} first");
        }
        var moved = new List<(int[] Buckets, Shard Source, Dictionary<Guid, long> CopiedCounts, List<Summary> Copied)>();
        foreach (var group in rows.Where(row => row.Shard != target.Number).GroupBy(row => row.Shard))
        {
            var unit = group.Select(row => row.Bucket).Order().ToArray();
            var source = shards.Numbered(group.Key)!;
            var (counts, copied) = await MoveTogetherAsync(unit, source, target, ct);
            moved.Add((unit, source, counts, copied));
        }
        if (moved.Count == 0)
        {
            logger.LogInformation("The buckets are on shard {Shard} already", target.Number);
            return true;
        }
        await Task.Delay(Propagation, ct);
        foreach (var (unit, source, counts, _) in moved)
        {
            await AddVisitCountsMadeDuringTheMoveAsync(unit, source, target, counts, ct);
        }
        logger.LogInformation("Waiting {Grace} before deleting the moved buckets' rows from their old shards", grace);
        await Task.Delay(grace, ct);
        var clean = true;
        foreach (var (unit, source, _, copied) in moved)
        {
            clean &= await CleanUpAsync(unit, source, copied, ct);
        }
        return clean;
    }

    /// <summary>Deletes the buckets' rows from the shards a move left them on, without the check a move makes (the operator has made it).</summary>
    public async Task<bool> CleanUpAsync(IReadOnlyList<int> buckets, CancellationToken ct)
    {
        var clean = true;
        foreach (var group in (await ReadMapAsync(ct)).Where(row => buckets.Contains(row.Bucket) && row.MovedFrom is not null).GroupBy(row => row.MovedFrom!.Value))
        {
            clean &= await CleanUpAsync(group.Select(row => row.Bucket).ToArray(), shards.Numbered(group.Key)!, copied: null, ct);
        }
        return clean;
    }

    private async Task<(Dictionary<Guid, long>, List<Summary>)> MoveTogetherAsync(int[] buckets, Shard source, Shard target, CancellationToken ct)
    {
        var named = Describe(buckets);
        logger.LogInformation("Moving {Buckets} from shard {Source} to shard {Target}", named, source.Number, target.Number);
        await ChangeMapAsync("UPDATE bucket_map SET moving_to = @Target WHERE bucket IN @Buckets", new { Buckets = buckets, Target = target.Number }, ct);
        await Task.Delay(Propagation, ct);
        await CopyAsync(buckets, source, target, ct);

        await ChangeMapAsync($"UPDATE bucket_map SET writes_frozen_until = UTC_TIMESTAMP(3) + INTERVAL {FreezeLimit.TotalSeconds} SECOND WHERE bucket IN @Buckets",
            new { Buckets = buckets }, ct);
        var frozenAt = DateTime.UtcNow;
        await Task.Delay(Propagation, ct);
        var counts = await CopyAsync(buckets, source, target, ct);
        var copied = await SummariesAsync(buckets, source, ct);
        var onTarget = await SummariesAsync(buckets, target, ct);
        if (!copied.SequenceEqual(onTarget))
        {
            await ChangeMapAsync("UPDATE bucket_map SET writes_frozen_until = NULL WHERE bucket IN @Buckets", new { Buckets = buckets }, ct);
            throw new InvalidOperationException($"The copy of {named} on shard {target.Number} differs from shard {source.Number}: " +
                                                string.Join("; ", copied.Zip(onTarget).Where(pair => pair.First != pair.Second)
                                                    .Select(pair => $"{pair.First.Table}: {pair.First.Rows} rows vs {pair.Second.Rows}")) +
                                                "; writes are open again on the source, and the move can be run again");
        }
        if (DateTime.UtcNow - frozenAt > FreezeLimit - Propagation)
        {
            throw new InvalidOperationException($"The copy of {named} took longer than a freeze may last; move fewer buckets at once");
        }
        await ChangeMapAsync("""
            UPDATE bucket_map SET shard = @Target, moving_to = NULL, moved_from = @Source, writes_frozen_until = NULL WHERE bucket IN @Buckets
            """, new { Buckets = buckets, Source = source.Number, Target = target.Number }, ct);
        logger.LogInformation("{Buckets} on shard {Target} now, writes frozen for {Frozen:0.0} s: {Summaries}", named, target.Number,
            (DateTime.UtcNow - frozenAt).TotalSeconds, string.Join(", ", copied.Select(summary => $"{summary.Rows} {summary.Table}")));
        return (counts, copied);
    }

    private static string Describe(int[] buckets) => buckets.Length == 1 ? $"bucket {buckets[0]}" : $"{buckets.Length} buckets ({buckets[0]}…{buckets[^1]})";

    /// <summary>Copies every table's rows of the bucket, streamed from the source in statements of many rows.</summary>
    /// <returns>The visit count of each link as copied.</returns>
    private async Task<Dictionary<Guid, long>> CopyAsync(int[] buckets, Shard source, Shard target, CancellationToken ct)
    {
        var counts = new Dictionary<Guid, long>();
        foreach (var table in Tables)
        {
            await using var from = await databases.OpenPrimaryAsync(source, ct);
            await using var to = await databases.OpenPrimaryAsync(target, ct);
            await using var transaction = await to.BeginTransactionAsync(ct);
            if (table.ReplacedWhole)
            {
                // Rows deleted at the source since the last copy go too.
                await to.ExecuteAsync(new CommandDefinition($"DELETE x FROM {table.Name} x JOIN links l ON {table.JoinsLink} WHERE l.bucket IN @Buckets",
                    new { Buckets = buckets }, transaction, cancellationToken: ct));
            }
            await using var reader = await from.ExecuteReaderAsync(new CommandDefinition(
                $"SELECT {string.Join(", ", table.ColumnNames.Select(column => $"x.{column}"))} FROM {table.Name} x JOIN links l ON {table.JoinsLink} WHERE l.bucket IN @Buckets",
                new { Buckets = buckets }, cancellationToken: ct));
            var rows = new List<object[]>(RowsPerStatement);
            while (await reader.ReadAsync(ct))
            {
                var row = new object[reader.FieldCount];
                reader.GetValues(row);
                if (table.Name == "links")
                {
                    counts[reader.GetGuid(0)] = reader.GetInt64(table.ColumnNames.AsSpan().IndexOf("visit_count"));
                }
                rows.Add(row);
                if (rows.Count == RowsPerStatement)
                {
                    await InsertAsync(to, transaction, table, rows, ct);
                    rows.Clear();
                }
            }
            await InsertAsync(to, transaction, table, rows, ct);
            await transaction.CommitAsync(ct);
        }
        return counts;
    }

    private static async Task InsertAsync(MySqlConnection connection, MySqlTransaction transaction, Table table, List<object[]> rows, CancellationToken ct)
    {
        if (rows.Count == 0)
        {
            return;
        }
        var parameters = new DynamicParameters();
        var values = rows.Select((row, r) => "(" + string.Join(", ", row.Select((value, c) =>
        {
            parameters.Add($"p{r}_{c}", value is DBNull ? null : value);
            return $"@p{r}_{c}";
        })) + ")");
        // A row copied before is brought up to date; visits and visitors never change, so one copied before is the same.
        var sql = table.Upsert
            ? $"INSERT INTO {table.Name} ({table.Columns}) VALUES {string.Join(", ", values)} ON DUPLICATE KEY UPDATE " +
              string.Join(", ", table.ColumnNames.Select(column => $"{column} = VALUES({column})"))
            : $"INSERT IGNORE INTO {table.Name} ({table.Columns}) VALUES {string.Join(", ", values)}";
        await connection.ExecuteAsync(new CommandDefinition(sql, parameters, transaction, cancellationToken: ct));
    }

    /// <summary>Rows and a checksum (XOR of each row's CRC-32) of every table's rows of the bucket on the shard.</summary>
    private async Task<List<Summary>> SummariesAsync(int[] buckets, Shard shard, CancellationToken ct)
    {
        await using var connection = await databases.OpenPrimaryAsync(shard, ct);
        var summaries = new List<Summary>();
        foreach (var table in Tables)
        {
            var (rows, checksum) = await connection.QuerySingleAsync<(long, ulong)>(new CommandDefinition(
                $"SELECT COUNT(*), CAST(BIT_XOR(CRC32(CONCAT_WS('|', {table.Checksum}))) AS UNSIGNED) FROM {table.Name} x JOIN links l ON {table.JoinsLink} WHERE l.bucket IN @Buckets",
                new { Buckets = buckets }, cancellationToken: ct));
            summaries.Add(new Summary(table.Name, rows, checksum));
        }
        return summaries;
    }

    /// <summary>
    /// Redirects of links with a visit limit count on the link's row, and are never refused, so those made on the source
    /// between the last copy and the moment every instance followed the flip are added to the target's count.
    /// </summary>
    private async Task AddVisitCountsMadeDuringTheMoveAsync(int[] buckets, Shard source, Shard target, Dictionary<Guid, long> copied, CancellationToken ct)
    {
        await using var from = await databases.OpenPrimaryAsync(source, ct);
        var now = await from.QueryAsync<(Guid Id, long Count)>(new CommandDefinition(
            "SELECT id, visit_count FROM links WHERE bucket IN @Buckets", new { Buckets = buckets }, cancellationToken: ct));
        var added = now.Select(link => (link.Id, Added: link.Count - copied.GetValueOrDefault(link.Id, link.Count))).Where(link => link.Added > 0).ToList();
        await using var to = await databases.OpenPrimaryAsync(target, ct);
        foreach (var (id, count) in added)
        {
            await to.ExecuteAsync(new CommandDefinition("UPDATE links SET visit_count = visit_count + @Count WHERE id = @Id", new { Id = id, Count = count },
                cancellationToken: ct));
        }
        if (added.Count > 0)
        {
            logger.LogInformation("{Buckets}: added {Visits} visits counted on shard {Source} during the move to shard {Target}'s counts", Describe(buckets),
                added.Sum(link => link.Added), source.Number, target.Number);
        }
    }

    /// <summary>
    /// Deletes the bucket's rows from the shard it left, children first, a batch at a time; then the map forgets the move.
    /// With what was copied at hand, the source is first checked to be unchanged since: a write that reached it after the
    /// freeze would otherwise be lost with it.
    /// </summary>
    private async Task<bool> CleanUpAsync(int[] buckets, Shard source, List<Summary>? copied, CancellationToken ct)
    {
        if (copied is not null && !(await SummariesAsync(buckets, source, ct)).SequenceEqual(copied))
        {
            logger.LogError("The rows of {Buckets} on shard {Source} changed after the move's freeze, so they are kept: compare them with the new shard's " +
                            "and run buckets cleanup once nothing is missing there", Describe(buckets), source.Number);
            return false;
        }
        List<Guid> links;
        await using (var connection = await databases.OpenPrimaryAsync(source, ct))
        {
            links = (await connection.QueryAsync<Guid>(new CommandDefinition("SELECT id FROM links WHERE bucket IN @Buckets", new { Buckets = buckets },
                cancellationToken: ct))).AsList();
        }
        foreach (var chunk in links.Chunk(100))
        {
            foreach (var table in Enumerable.Reverse(Tables))
            {
                var key = table.Name == "links" ? "id" : "link_id";
                int deleted;
                do
                {
                    await using var connection = await databases.OpenPrimaryAsync(source, ct);
                    deleted = await connection.ExecuteAsync(new CommandDefinition($"DELETE FROM {table.Name} WHERE {key} IN @Links LIMIT 5000",
                        new { Links = chunk }, cancellationToken: ct));
                }
                while (deleted == 5000);
            }
        }
        await ChangeMapAsync("UPDATE bucket_map SET moved_from = NULL WHERE bucket IN @Buckets", new { Buckets = buckets }, ct);
        logger.LogInformation("The {Links} links of {Buckets} and their rows are deleted from shard {Source}", links.Count, Describe(buckets), source.Number);
        return true;
    }

    private async Task<List<BucketRow>> ReadMapAsync(CancellationToken ct)
    {
        await using var control = await databases.OpenControlAsync(ct);
        return await BucketMapSql.ReadAsync(control, ct);
    }

    /// <summary>One change of the control database's map, and the version every instance polls, together.</summary>
    private async Task ChangeMapAsync(string change, object parameters, CancellationToken ct)
    {
        await using var control = await databases.OpenControlAsync(ct);
        await using var transaction = await control.BeginTransactionAsync(ct);
        await control.ExecuteAsync(new CommandDefinition(change, parameters, transaction, cancellationToken: ct));
        await control.ExecuteAsync(new CommandDefinition(BucketMapSql.Bump, transaction: transaction, cancellationToken: ct));
        await transaction.CommitAsync(ct);
    }
}
