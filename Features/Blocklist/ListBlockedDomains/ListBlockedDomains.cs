using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Blocklist;

internal static class ListBlockedDomains
{
    internal sealed record Page(IReadOnlyList<BlockedDomain> Items);

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/", Handle)
            .WithName("ListBlockedDomains")
            .WithSummary("The blocked hosts (admin)")
            .WithDescription("Entries from the configuration and from the API; each covers its host and every name below it.")
            .WithExamples(response: new
            {
                items = new object[]
                {
                    new { domain = "evil.example", source = BlockedDomain.FromApi, createdAt = "2026-11-25T09:30:00.000+00:00" },
                    new { domain = "198.51.100.7", source = BlockedDomain.FromConfiguration, createdAt = (string?)null },
                },
            })
            .Requires(ApiPolicies.Admin);

    public static async Task<Ok<Page>> Handle(DomainBlocklist blocklist, Databases databases, CancellationToken ct)
    {
        const string sql = "SELECT domain, created_at FROM blocked_domains ORDER BY domain";
        await using var connection = await databases.OpenControlAsync(ct);
        var added = await connection.QueryAsync<(string Domain, DateTime CreatedAt)>(new CommandDefinition(sql, cancellationToken: ct));
        var items = blocklist.FromConfiguration.Order(StringComparer.Ordinal)
            .Select(domain => new BlockedDomain(domain, BlockedDomain.FromConfiguration, null))
            .Concat(added.Select(row => new BlockedDomain(row.Domain, BlockedDomain.FromApi, DatabaseTime.Utc(row.CreatedAt))))
            .ToList();
        return TypedResults.Ok(new Page(items));
    }
}
