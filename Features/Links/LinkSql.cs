using Dapper;
using MySqlConnector;

namespace Shortlink.Features.Links;

/// <summary>SQL that several link slices run: the lookup by code, tags, and inserting links.</summary>
internal static class LinkSql
{
    public const string Columns = """
        id, domain, code, url, title, redirect_type, forward_query, valid_from, expires_at, max_visits,
        visit_count, created_at, updated_at
        """;

    private const string SelectByCode = $"""
        SELECT {Columns}
        FROM links
        WHERE domain = @Domain AND code = @Code AND deleted_at IS NULL
        """;

    public static async Task<LinkRow?> FindAsync(MySqlConnection connection, string domain, string code, CancellationToken ct) =>
        await connection.QuerySingleOrDefaultAsync<LinkRow>(
            new CommandDefinition(SelectByCode, new { Domain = domain, Code = code }, cancellationToken: ct));

    public static async Task<LinkRow?> FindForUpdateAsync(MySqlConnection connection, MySqlTransaction transaction,
        string domain, string code, CancellationToken ct) =>
        await connection.QuerySingleOrDefaultAsync<LinkRow>(
            new CommandDefinition(SelectByCode + " FOR UPDATE", new { Domain = domain, Code = code }, transaction, cancellationToken: ct));

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
        await InsertTagsAsync(connection, transaction, linkId, tags, ct);
    }

    /// <summary>
    /// Inserts links one statement each inside one transaction: a duplicate key rolls back only its
    /// own statement, so a taken slug fails its item alone and a generated code that collides is
    /// drawn again. Returns the stored link per draft, or null where its custom slug was taken.
    /// </summary>
    public static async Task<IReadOnlyList<LinkRow?>> InsertAsync(MySqlConnection connection, IReadOnlyList<LinkDraft> drafts,
        CancellationToken ct)
    {
        const string insert = """
            INSERT INTO links (id, domain, code, url, title, redirect_type, forward_query, valid_from, expires_at,
                               max_visits, visit_count, created_at, updated_at)
            VALUES (@Id, @Domain, @Code, @Url, @Title, @RedirectType, @ForwardQuery, @ValidFrom, @ExpiresAt,
                    @MaxVisits, 0, @CreatedAt, @UpdatedAt)
            """;
        const int attemptsForGeneratedCodes = 5;
        var stored = new LinkRow?[drafts.Count];
        await using var transaction = await connection.BeginTransactionAsync(ct);
        for (var i = 0; i < drafts.Count; i++)
        {
            var row = drafts[i].Row;
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await connection.ExecuteAsync(new CommandDefinition(insert, row, transaction, cancellationToken: ct));
                    await InsertTagsAsync(connection, transaction, row.Id, drafts[i].Tags, ct);
                    stored[i] = row;
                    break;
                }
                catch (MySqlException ex) when (ex.ErrorCode == MySqlErrorCode.DuplicateKeyEntry)
                {
                    if (drafts[i].IsCustomSlug)
                    {
                        break;
                    }
                    if (attempt == attemptsForGeneratedCodes)
                    {
                        throw;
                    }
                    row = row with { Code = LinkRules.NewCode() };
                }
            }
        }
        await transaction.CommitAsync(ct);
        return stored;
    }

    private static async Task InsertTagsAsync(MySqlConnection connection, MySqlTransaction transaction, Guid linkId,
        IReadOnlyList<string> tags, CancellationToken ct)
    {
        const string sql = "INSERT INTO link_tags (link_id, tag) VALUES (@LinkId, @Tag)";
        if (tags.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                sql, tags.Select(tag => new { LinkId = linkId, Tag = tag }), transaction, cancellationToken: ct));
        }
    }
}

/// <summary>A link about to be inserted; a custom slug is never replaced, a generated code may be.</summary>
internal sealed record LinkDraft(LinkRow Row, IReadOnlyList<string> Tags, bool IsCustomSlug);
