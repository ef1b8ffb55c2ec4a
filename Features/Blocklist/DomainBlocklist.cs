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

    private volatile FrozenSet<string> fromApi = Array.Empty<string>().ToFrozenSet(StringComparer.Ordinal);

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

    /// <summary>
    /// Whether an entry covers a host already in canonical form (as the link cache keeps it): the redirect's check,
    /// on every visit, so it walks the parent domains as slices of the one string and allocates nothing.
    /// </summary>
    public bool Covers(string canonicalHost, bool isAddress)
    {
        var api = fromApi;
        if (api.Count == 0 && FromConfiguration.Count == 0)
        {
            return false;
        }
        var configured = FromConfiguration.GetAlternateLookup<ReadOnlySpan<char>>();
        var listed = api.GetAlternateLookup<ReadOnlySpan<char>>();
        var candidate = canonicalHost.AsSpan();
        while (true)
        {
            if (configured.Contains(candidate) || listed.Contains(candidate))
            {
                return true;
            }
            var dot = candidate.IndexOf('.');
            if (isAddress || dot < 0)
            {
                return false;
            }
            candidate = candidate[(dot + 1)..];
        }
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
