using Dapper;
using MySqlConnector;
using Shortlink.Infrastructure.Security;

namespace Shortlink.Features.Links;

/// <summary>SQL that several link slices run: the lookup by code, tags, and inserting links.</summary>
internal static class LinkSql
{
    public const string Columns = """
        id, domain, code, owner_id, url, title, redirect_type, forward_query, valid_from, expires_at, max_visits,
        visit_count, created_at, updated_at, password_hash
        """;

    private const string SelectByCode = $"""
        SELECT {Columns}
        FROM links
        WHERE domain = @Domain AND code = @Code AND deleted_at IS NULL
        """;

    // A link of another owner is as absent as one that does not exist: nobody learns that a code is taken.
    private const string SelectVisibleByCode = SelectByCode + " AND (@AllOwners OR owner_id = @OwnerId)";

    /// <summary>The link behind a code, whoever owns it: for the redirect.</summary>
    public static async Task<LinkRow?> FindAsync(MySqlConnection connection, string domain, string code, CancellationToken ct) =>
        await connection.QuerySingleOrDefaultAsync<LinkRow>(
            new CommandDefinition(SelectByCode, new { Domain = domain, Code = code }, cancellationToken: ct));

    /// <summary>The link behind a code if the caller may see it: admins see every owner's, others their owner's.</summary>
    public static async Task<LinkRow?> FindVisibleAsync(MySqlConnection connection, string domain, string code, ApiCaller caller,
        CancellationToken ct) =>
        await connection.QuerySingleOrDefaultAsync<LinkRow>(new CommandDefinition(SelectVisibleByCode,
            new { Domain = domain, Code = code, AllOwners = caller.SeesAllOwners, caller.OwnerId }, cancellationToken: ct));

    public static async Task<LinkRow?> FindVisibleForUpdateAsync(MySqlConnection connection, MySqlTransaction transaction,
        string domain, string code, ApiCaller caller, CancellationToken ct) =>
        await connection.QuerySingleOrDefaultAsync<LinkRow>(new CommandDefinition(SelectVisibleByCode + " FOR UPDATE",
            new { Domain = domain, Code = code, AllOwners = caller.SeesAllOwners, caller.OwnerId }, transaction, cancellationToken: ct));

    public static async Task<IReadOnlyList<string>> TagsOfAsync(MySqlConnection connection, Guid linkId, CancellationToken ct,
        MySqlTransaction? transaction = null)
    {
        const string sql = "SELECT tag FROM link_tags WHERE link_id = @LinkId ORDER BY tag";
        var tags = await connection.QueryAsync<string>(new CommandDefinition(sql, new { LinkId = linkId }, transaction, cancellationToken: ct));
        return tags.AsList();
    }

    public static async Task<ILookup<Guid, string>> TagsOfAsync(MySqlConnection connection, IReadOnlyCollection<Guid> linkIds, CancellationToken ct)
    {
        const string sql = "SELECT link_id, tag FROM link_tags WHERE link_id IN @LinkIds ORDER BY tag";
        if (linkIds.Count == 0)
        {
            return Array.Empty<(Guid, string)>().ToLookup(t => t.Item1, t => t.Item2);
        }
        var rows = await connection.QueryAsync<(Guid LinkId, string Tag)>(
            new CommandDefinition(sql, new { LinkIds = linkIds }, cancellationToken: ct));
        return rows.ToLookup(row => row.LinkId, row => row.Tag);
    }

    public static async Task ReplaceTagsAsync(MySqlConnection connection, MySqlTransaction transaction, Guid linkId,
        IReadOnlyList<string> tags, CancellationToken ct)
    {
        const string delete = "DELETE FROM link_tags WHERE link_id = @LinkId";
        await connection.ExecuteAsync(new CommandDefinition(delete, new { LinkId = linkId }, transaction, cancellationToken: ct));
        await InsertTagsAsync(connection, transaction, tags.Select(tag => (linkId, tag)).ToList(), ct);
    }

    private const string InsertColumns = """
        INSERT INTO links (id, domain, code, owner_id, created_by_key_id, url, title, redirect_type, forward_query,
                           valid_from, expires_at, max_visits, visit_count, created_at, updated_at, password_hash)
        VALUES
        """;

    private const int RowsPerStatement = 250;
    private const int TransactionAttempts = 4;

    /// <summary>
    /// Inserts links of one shard in one transaction, many rows per statement. A duplicate key rolls back only the
    /// statement that met it; that group is then inserted row by row, so that a taken code fails its own item alone.
    /// Returns the stored link per draft, or null where its code was taken: a slug's item fails, a generated code is
    /// drawn again by <see cref="LinkInserts"/>, which takes the new code to its own shard.
    /// </summary>
    /// <remarks>
    /// Rows go in in the order of their codes, so concurrent inserts of overlapping codes mostly queue
    /// behind each other's locks instead of deadlocking. When InnoDB still picks this transaction as a
    /// deadlock victim, or a lock wait times out, the whole transaction runs again a few times after a
    /// random pause; then the failure is the caller's (<see cref="IsContention"/>).
    /// </remarks>
    public static async Task<IReadOnlyList<LinkRow?>> InsertAsync(MySqlConnection connection, IReadOnlyList<LinkDraft> drafts,
        CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await InsertInOneTransactionAsync(connection, drafts, ct);
            }
            catch (MySqlException ex) when (IsContention(ex) && attempt < TransactionAttempts)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(10, 60) * attempt), ct);
            }
        }
    }

    /// <summary>A deadlock or a lock wait timeout: nothing was written, and the same request may succeed when sent again.</summary>
    public static bool IsContention(MySqlException exception) =>
        exception.ErrorCode is MySqlErrorCode.LockDeadlock or MySqlErrorCode.LockWaitTimeout;

    private static async Task<IReadOnlyList<LinkRow?>> InsertInOneTransactionAsync(MySqlConnection connection,
        IReadOnlyList<LinkDraft> drafts, CancellationToken ct)
    {
        var stored = new LinkRow?[drafts.Count];
        var inCodeOrder = Enumerable.Range(0, drafts.Count).OrderBy(i => drafts[i].Row.Code, StringComparer.Ordinal).ToArray();
        await using var transaction = await connection.BeginTransactionAsync(ct);
        for (var offset = 0; offset < inCodeOrder.Length; offset += RowsPerStatement)
        {
            var positions = inCodeOrder.Skip(offset).Take(RowsPerStatement).ToList();
            var group = positions.ConvertAll(position => drafts[position]);
            try
            {
                await InsertRowsAsync(connection, transaction, group, ct);
                await InsertTagsAsync(connection, transaction, TagsOf(group), ct);
                foreach (var position in positions)
                {
                    stored[position] = drafts[position].Row;
                }
            }
            catch (MySqlException ex) when (ex.ErrorCode == MySqlErrorCode.DuplicateKeyEntry)
            {
                foreach (var position in positions)
                {
                    stored[position] = await InsertOneAsync(connection, transaction, drafts[position], ct);
                }
            }
        }
        // Once the rows are in, the commit is not given up because the client went away: what happens
        // next (an idempotent response being kept) relies on knowing whether it happened.
        await transaction.CommitAsync(CancellationToken.None);
        return stored;
    }

    private static async Task<LinkRow?> InsertOneAsync(MySqlConnection connection, MySqlTransaction transaction, LinkDraft draft,
        CancellationToken ct)
    {
        try
        {
            await InsertRowsAsync(connection, transaction, [draft], ct);
            await InsertTagsAsync(connection, transaction, TagsOf([draft]), ct);
            return draft.Row;
        }
        catch (MySqlException ex) when (ex.ErrorCode == MySqlErrorCode.DuplicateKeyEntry)
        {
            return null;
        }
    }

    private static async Task InsertRowsAsync(MySqlConnection connection, MySqlTransaction transaction, List<LinkDraft> drafts,
        CancellationToken ct)
    {
        var parameters = new DynamicParameters();
        var values = new string[drafts.Count];
        for (var i = 0; i < drafts.Count; i++)
        {
            var row = drafts[i].Row;
            values[i] = $"(@Id{i}, @Domain{i}, @Code{i}, @OwnerId{i}, @CreatedByKeyId{i}, @Url{i}, @Title{i}, @RedirectType{i}, " +
                        $"@ForwardQuery{i}, @ValidFrom{i}, @ExpiresAt{i}, @MaxVisits{i}, 0, @CreatedAt{i}, @UpdatedAt{i}, @PasswordHash{i})";
            parameters.Add($"Id{i}", row.Id);
            parameters.Add($"Domain{i}", row.Domain);
            parameters.Add($"Code{i}", row.Code);
            parameters.Add($"OwnerId{i}", row.OwnerId);
            parameters.Add($"CreatedByKeyId{i}", drafts[i].CreatedByKeyId);
            parameters.Add($"Url{i}", row.Url);
            parameters.Add($"Title{i}", row.Title);
            parameters.Add($"RedirectType{i}", row.RedirectType);
            parameters.Add($"ForwardQuery{i}", row.ForwardQuery);
            parameters.Add($"ValidFrom{i}", row.ValidFrom);
            parameters.Add($"ExpiresAt{i}", row.ExpiresAt);
            parameters.Add($"MaxVisits{i}", row.MaxVisits);
            parameters.Add($"CreatedAt{i}", row.CreatedAt);
            parameters.Add($"UpdatedAt{i}", row.UpdatedAt);
            parameters.Add($"PasswordHash{i}", row.PasswordHash);
        }
        await connection.ExecuteAsync(new CommandDefinition(
            InsertColumns + string.Join(",\n", values), parameters, transaction, cancellationToken: ct));
    }

    private static List<(Guid LinkId, string Tag)> TagsOf(IEnumerable<LinkDraft> drafts) =>
        drafts.SelectMany(draft => draft.Tags.Select(tag => (draft.Row.Id, tag))).ToList();

    private static async Task InsertTagsAsync(MySqlConnection connection, MySqlTransaction transaction,
        IReadOnlyList<(Guid LinkId, string Tag)> tags, CancellationToken ct)
    {
        const string insert = "INSERT INTO link_tags (link_id, tag) VALUES ";
        if (tags.Count == 0)
        {
            return;
        }
        var parameters = new DynamicParameters();
        var values = new string[tags.Count];
        for (var i = 0; i < tags.Count; i++)
        {
            values[i] = $"(@LinkId{i}, @Tag{i})";
            parameters.Add($"LinkId{i}", tags[i].LinkId);
            parameters.Add($"Tag{i}", tags[i].Tag);
        }
        await connection.ExecuteAsync(new CommandDefinition(insert + string.Join(", ", values), parameters, transaction,
            cancellationToken: ct));
    }
}

/// <summary>A link about to be inserted, and the key that made it; a custom slug is never replaced, a generated code may be.</summary>
internal sealed record LinkDraft(LinkRow Row, IReadOnlyList<string> Tags, bool IsCustomSlug, Guid CreatedByKeyId);
