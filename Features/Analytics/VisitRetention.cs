using Dapper;
using Microsoft.Extensions.Options;
using MySqlConnector;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Features.Analytics;

/// <summary>
/// Deletes raw visits older than Visits:RetentionDays, and the visitor records of those days, on every shard, at start
/// and then every hour, on the instances that write visits. Each statement deletes at most <see cref="BatchSize"/> rows in the order of
/// the occurred_at index and commits on its own, so that no delete holds many locks, or a long undo log, while the
/// writers insert. The rollups are never touched: stats read only them, so a link's stats outlive its raw visits.
/// </summary>
internal sealed class VisitRetention(Databases databases, TimeProvider clock, Outages outages, IOptions<ShortlinkOptions> options,
    ILogger<VisitRetention> logger) : BackgroundService
{
    public const int BatchSize = 1_000;
    private static readonly TimeSpan Every = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.Visits.RetentionDays == 0 || !options.Value.WritesVisits)
        {
            return;
        }
        try
        {
            while (true)
            {
                foreach (var shard in databases.Shards)
                {
                    await DeleteExpiredAsync(shard, stoppingToken);
                }
                await Task.Delay(Every, clock, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task DeleteExpiredAsync(Shard shard, CancellationToken ct)
    {
        var cutoff = clock.GetUtcNow().UtcDateTime - TimeSpan.FromDays(options.Value.Visits.RetentionDays);
        // Both orders follow an index (occurred_at, or day, each ending in the primary key), so every batch starts
        // at the oldest row without sorting, and the order is the same on a replica replaying the statement.
        const string visits = "DELETE FROM visits WHERE occurred_at < @Cutoff ORDER BY occurred_at, id LIMIT @Batch";
        const string visitors = "DELETE FROM visit_visitors WHERE day < @Cutoff ORDER BY day, link_id, visitor_hash LIMIT @Batch";
        try
        {
            var deleted = await DeleteInBatchesAsync(shard, visits, cutoff, ct);
            await DeleteInBatchesAsync(shard, visitors, cutoff.Date, ct);
            if (deleted > 0)
            {
                logger.LogInformation("Deleted {Visits} raw visits from before {Cutoff:yyyy-MM-dd HH:mm} UTC on shard {Shard} (Visits:RetentionDays)",
                    deleted, cutoff, shard.Number);
            }
        }
        catch (Exception exception) when (DatabaseFailures.IsUnavailable(exception) && !ct.IsCancellationRequested)
        {
            // Logged once for the whole service by Outages; the next round takes up what is left.
            outages.Database.Failed(exception);
        }
        catch (MySqlException exception) when (exception.ErrorCode is MySqlErrorCode.LockDeadlock or MySqlErrorCode.LockWaitTimeout)
        {
            // Another instance is deleting the same rows; what either leaves, the next round takes.
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // Housekeeping that fails must not stop the service that redirects and writes visits.
            logger.LogError(exception, "Deleting expired visits failed; the next round, in an hour, tries again");
        }
    }

    private async Task<long> DeleteInBatchesAsync(Shard shard, string sql, DateTime cutoff, CancellationToken ct)
    {
        long total = 0;
        int deleted;
        do
        {
            await using var connection = await databases.OpenPrimaryAsync(shard, ct);
            deleted = await connection.ExecuteAsync(new CommandDefinition(sql, new { Cutoff = cutoff, Batch = BatchSize }, cancellationToken: ct));
            total += deleted;
        }
        while (deleted == BatchSize);
        return total;
    }
}
