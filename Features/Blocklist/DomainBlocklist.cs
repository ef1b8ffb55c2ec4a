using System.Collections.Frozen;
using Dapper;
using Microsoft.Extensions.Options;
using MySqlConnector;
using Shortlink.Features.Links;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Features.Blocklist;

/// <summary>
/// The blocked hosts, from the configuration and from the API, held in memory: a check costs no query.
/// Every instance reads the API's entries again each second, so a domain blocked on one instance is
/// blocked on all within a second (at once on the instance that blocked it).
/// </summary>
internal sealed class DomainBlocklist(Databases databases, IOptions<ShortlinkOptions> options, Outages outages) : BackgroundService
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    private volatile FrozenSet<string> fromApi = FrozenSet<string>.Empty;

    public FrozenSet<string> FromConfiguration { get; } = options.Value.Security.BlockedDomains
        .Select(LinkHosts.CanonicalOf).OfType<string>().ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The entry that covers the URL's host (the host itself or a domain above it), or null.</summary>
    public string? Covering(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return null;
        }
        var api = fromApi;
        return LinkHosts.AndParents(LinkHosts.Canonical(uri))
            .FirstOrDefault(candidate => FromConfiguration.Contains(candidate) || api.Contains(candidate));
    }

    public async Task RefreshAsync(CancellationToken ct)
    {
        const string sql = "SELECT domain FROM blocked_domains";
        await using var connection = await databases.OpenControlAsync(ct);
        var domains = await connection.QueryAsync<string>(new CommandDefinition(sql, cancellationToken: ct));
        fromApi = domains.ToFrozenSet(StringComparer.Ordinal);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(RefreshInterval);
        do
        {
            try
            {
                await RefreshAsync(stoppingToken);
            }
            catch (Exception ex) when (DatabaseFailures.IsUnavailable(ex))
            {
                // The last list read stays in force until the database answers again.
                outages.Database.Failed(ex);
            }
            catch (MySqlException ex) when (ex.ErrorCode == MySqlErrorCode.NoSuchTable)
            {
                // Not migrated yet: readiness says so; there is nothing blocked through the API before then.
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
