namespace Shortlink.Infrastructure.Data;

/// <summary>
/// One shard's part of a keyset page over ids, newest first. The shard was asked for up to limit + 1 rows below the
/// cursor; <paramref name="Owned"/> are those of them it holds by the bucket map (a bucket being moved has rows on two
/// shards, and only one of them counts), and <paramref name="MoreBelow"/> is the id of the last row it returned when it
/// returned limit + 1 of them, so that more may follow below that id, else null.
/// </summary>
internal sealed record ShardPage<T>(IReadOnlyList<T> Owned, Guid? MoreBelow);

/// <summary>
/// Merges shards' parts into one page of a list across shards by descending id. Ids are unique across shards
/// (UUIDv7, drawn without coordination), so the cursor needs nothing but the last id: each shard is asked for rows
/// below it, at most limit + 1 each, whatever the number of shards.
/// </summary>
internal static class ShardedPages
{
    /// <summary>
    /// The page and the id to continue below, or null when every shard has given all it has. Only rows at or above the
    /// highest id below which some shard has more are certain to be in order, so the page takes its rows from those.
    /// Without rows left out by the bucket map they always number more than limit; with them, a page may be short,
    /// and its cursor still continues exactly where it stopped.
    /// </summary>
    public static (List<T> Page, Guid? Next) Merge<T>(IReadOnlyList<ShardPage<T>> parts, int limit, Func<T, Guid> id)
    {
        var seenDownTo = parts.Select(part => part.MoreBelow).Max();
        var candidates = parts.SelectMany(part => part.Owned)
            .Where(row => seenDownTo is not { } bound || id(row).CompareTo(bound) >= 0)
            .OrderByDescending(id)
            .ToList();
        if (candidates.Count > limit)
        {
            candidates.RemoveRange(limit, candidates.Count - limit);
            return (candidates, id(candidates[^1]));
        }
        return (candidates, seenDownTo);
    }
}
