using MySqlConnector;
using Shortlink.Infrastructure.Data;

namespace Shortlink.Features.Links;

/// <summary>
/// What became of one draft: stored (as it was stored), its slug taken, given way to concurrent writes, or refused while
/// its bucket is being moved between shards (<paramref name="Moving"/>).
/// </summary>
internal readonly record struct InsertedLink(LinkRow? Stored, bool Contended, BucketMovingException? Moving = null);

/// <summary>
/// Inserts drafts on the shards their codes route to: one transaction, with multi-row statements, per shard, the shards
/// side by side. A generated code that is already taken is drawn again, and the new code goes to its own shard in the
/// next round, so that a code always lives where its bucket says.
/// </summary>
internal static class LinkInserts
{
    /// <summary>With 62^7 codes a second collision in a row is already unheard of; five means something else is wrong.</summary>
    private const int AttemptsForGeneratedCodes = 5;

    public static async Task<InsertedLink[]> InsertAsync(Databases databases, IReadOnlyList<LinkDraft> drafts, CancellationToken ct)
    {
        var results = new InsertedLink[drafts.Count];
        var current = drafts.ToArray();
        var pending = Enumerable.Range(0, drafts.Count).ToList();
        for (var attempt = 1; pending.Count > 0; attempt++)
        {
            var shardOf = new Dictionary<int, Shard>();
            foreach (var i in pending)
            {
                try
                {
                    shardOf[i] = databases.ShardForWrite(current[i].Row.Domain, current[i].Row.Code);
                }
                catch (BucketMovingException moving)
                {
                    results[i] = new InsertedLink(null, Contended: false, moving);
                }
            }
            var byShard = shardOf.GroupBy(item => item.Value, item => item.Key).Select(group => group.ToList()).ToList();
            var stored = await Task.WhenAll(byShard.Select(group => InsertOnShardAsync(databases, group.ConvertAll(i => current[i]), ct)));
            pending = [];
            foreach (var (group, rows) in byShard.Zip(stored))
            {
                for (var d = 0; d < group.Count; d++)
                {
                    var i = group[d];
                    if (rows is null || rows[d] is not null || current[i].IsCustomSlug)
                    {
                        results[i] = new InsertedLink(rows?[d], Contended: rows is null);
                    }
                    else if (attempt == AttemptsForGeneratedCodes)
                    {
                        throw new InvalidOperationException($"{AttemptsForGeneratedCodes} generated codes in a row were taken already");
                    }
                    else
                    {
                        current[i] = current[i] with { Row = current[i].Row with { Code = LinkRules.NewCode() } };
                        pending.Add(i);
                    }
                }
            }
        }
        return results;
    }

    /// <summary>The drafts as stored, or null when concurrent writes kept deadlocking with these and they gave way.</summary>
    private static async Task<IReadOnlyList<LinkRow?>?> InsertOnShardAsync(Databases databases, List<LinkDraft> drafts, CancellationToken ct)
    {
        await using var connection = await databases.OpenForCodeAsync(drafts[0].Row.Domain, drafts[0].Row.Code, ct);
        try
        {
            return await LinkSql.InsertAsync(connection, drafts, ct);
        }
        catch (MySqlException ex) when (LinkSql.IsContention(ex))
        {
            return null;
        }
    }
}
