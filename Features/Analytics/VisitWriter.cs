using System.Buffers.Binary;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Data;
using Dapper;
using Microsoft.Extensions.Options;
using MySqlConnector;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Features.Analytics;

/// <summary>
/// The embedded transport: with no RabbitMQ configured, the instance that records visits writes them itself,
/// through the same batch writer the workers use. A batch the database refuses for good is dropped and counted.
/// </summary>
internal sealed class VisitWriter(VisitRecorder recorder, VisitBatchWriter writer, IOptions<ShortlinkOptions> options, ILogger<VisitWriter> logger)
    : VisitBufferReader(recorder, options.Value.Visits, logger)
{
    protected override bool Runs { get; } = options.Value is { Visits.Enabled: true, QueuesVisits: false, ServesApi: true };

    protected override int Concurrency { get; } = options.Value.Visits.Writers;

    protected override async Task HandleAsync(List<VisitEvent> batch, CancellationToken ct)
    {
        if (!await writer.TryWriteAsync(batch, ct))
        {
            // Kept, it would stop the writer, and the host with it.
            Recorder.Dropped(batch.Count, "write-failed");
        }
    }
}

/// <summary>
/// Writes a batch of visits, in one transaction per shard its links live on: the raw visits, the visitors new on their
/// day, and the hourly rollups the stats read. A visit already stored (the same visitId, as after a redelivery) is
/// skipped inside that transaction, so the raw row and its rollup increments are written together or not at all, and
/// nothing is counted twice. While a shard is away its part of the batch is retried with backoff until it is written or
/// the caller gives up; the parts already written stay written.
/// </summary>
internal sealed class VisitBatchWriter
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private const int VisitorLookupChunk = 25;

    private readonly UserAgents userAgents;
    private readonly Databases databases;
    private readonly ShortDomain domain;
    private readonly Outages outages;
    private readonly ILogger<VisitBatchWriter> logger;
    private readonly TimeProvider clock;
    private readonly Counter<long> recorded;
    private readonly Histogram<double> lag;

    public VisitBatchWriter(UserAgents userAgents, Databases databases, ShortDomain domain, Outages outages, TimeProvider clock, IMeterFactory meters,
        ILogger<VisitBatchWriter> logger)
    {
        this.userAgents = userAgents;
        this.databases = databases;
        this.domain = domain;
        this.outages = outages;
        this.clock = clock;
        this.logger = logger;
        var meter = meters.Create(ShortlinkMetrics.MeterName);
        recorded = meter.CreateCounter<long>("shortlink.visits.recorded", "{visit}", "Visits written to the database with their rollups").StartingAtZero();
        lag = meter.CreateHistogram<double>("shortlink.visits.lag", "s", "From the redirect to the commit that counted the visit",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600] });
    }

    /// <returns>False when the database refuses the batch for good (logged); true once it is written.</returns>
    public async Task<bool> TryWriteAsync(IReadOnlyList<VisitEvent> batch, CancellationToken ct)
    {
        if (batch.Count == 0)
        {
            return true;
        }
        var backoff = TimeSpan.FromMilliseconds(100);
        var unwritten = batch.ToList();
        while (true)
        {
            try
            {
                // Routed again on every attempt: a bucket may have moved, or been frozen for its move, since the last. The
                // visits' links are all of this deployment's domain.
                foreach (var shard in unwritten.GroupBy(visit => databases.ShardForWrite(domain.Name, visit.Code)).ToList())
                {
                    var written = await WriteAsync(shard.Key, shard.ToList(), ct);
                    var done = shard.Select(visit => visit.VisitId).ToHashSet();
                    unwritten.RemoveAll(visit => done.Contains(visit.VisitId));
                    recorded.Add(written.Count);
                    var now = clock.GetUtcNow().UtcDateTime;
                    foreach (var visit in written)
                    {
                        lag.Record(Math.Max(0, (now - visit.OccurredAt).TotalSeconds));
                    }
                }
                return true;
            }
            catch (MySqlException exception) when (exception.ErrorCode is MySqlErrorCode.DuplicateKeyEntry or MySqlErrorCode.LockDeadlock
                                                   or MySqlErrorCode.LockWaitTimeout && !ct.IsCancellationRequested)
            {
                // Another writer stored one of these visits or visitors a moment ago: the next attempt sees it and skips it.
            }
            catch (BucketMovingException)
            {
                // A link's bucket is being moved to another shard: its visits wait for the move's last seconds, with the rest of the batch.
            }
            catch (Exception exception) when (DatabaseFailures.IsUnavailable(exception) && !ct.IsCancellationRequested)
            {
                // Logged once for the whole service by Outages; the caller holds the visits meanwhile.
                outages.Database.Failed(exception);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                logger.LogError(exception, "The database refused a batch of {Visits} visits", batch.Count);
                return false;
            }
            // Real time, not the service's clock: this paces retries, it reads no date.
            await Task.Delay(backoff, ct);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    /// <returns>The visits that were new (the rest had been written before).</returns>
    private async Task<List<VisitEvent>> WriteAsync(Shard shard, List<VisitEvent> batch, CancellationToken ct)
    {
        using var activity = StartWriting(shard, batch);
        await using var connection = await databases.OpenPrimaryAsync(shard, ct);
        // Read committed: no gap locks, so writers side by side (Visits:Writers, several workers) wait for each other only
        // over rows both write. Under repeatable read, looking up a new visitor locked the gap it falls in, which the newest
        // links' visitors share, and every other writer's new visitors waited for this batch's commit. Nothing here needs
        // the stronger level: a visit or visitor another writer stores meanwhile fails this batch's insert as a duplicate,
        // and the batch is written again, skipping it.
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);
        var ids = new SqlRows();
        var stored = (await connection.QueryAsync<Guid>(new CommandDefinition(
            $"SELECT id FROM visits WHERE id IN ({ids.List(batch.Select(visit => visit.VisitId))})", ids, transaction,
            cancellationToken: ct))).ToHashSet();
        // A message delivered again can share a batch with its first delivery: each visit once.
        var fresh = batch.Where(visit => !stored.Contains(visit.VisitId)).DistinctBy(visit => visit.VisitId).OrderBy(visit => visit.OccurredAt).ToList();
        if (fresh.Count == 0)
        {
            return fresh;
        }
        var classes = fresh.Select(visit => userAgents.Classify(visit.UserAgent)).ToList();
        await InsertVisitsAsync(connection, transaction, fresh, classes, ct);
        var newVisitors = await InsertNewVisitorsAsync(connection, transaction, fresh, ct);
        await AddToRollupsAsync(connection, transaction, VisitRollups.Of(fresh, classes, newVisitors), ct);
        await transaction.CommitAsync(ct);
        activity?.SetTag("shortlink.visits.written", fresh.Count);
        return fresh;
    }

    /// <summary>
    /// A span for one shard's part of a batch: under the worker's "visits process" span, or on its own when the instance
    /// writes its visits itself, then linked to the redirects that made them (as many as a span keeps links).
    /// </summary>
    private static Activity? StartWriting(Shard shard, List<VisitEvent> batch)
    {
        if (!ShortlinkActivities.Source.HasListeners())
        {
            return null;
        }
        var links = batch.Where(visit => visit.Trace != default).Select(visit => visit.Trace).Distinct().Take(MaxLinks)
            .Select(trace => new ActivityLink(trace));
        var activity = ShortlinkActivities.Source.StartActivity("visits write", ActivityKind.Internal, parentContext: default, links: links);
        activity?.SetTag(DatabaseSpans.ShardTag, shard.Number);
        activity?.SetTag("shortlink.visits.batch", batch.Count);
        return activity;
    }

    /// <summary>OpenTelemetry's default limit of links per span.</summary>
    private const int MaxLinks = 128;

    private static async Task InsertVisitsAsync(MySqlConnection connection, MySqlTransaction transaction, List<VisitEvent> visits,
        List<UserAgentClass> classes, CancellationToken ct)
    {
        var rows = visits.Select((visit, i) => (Visit: visit, Agent: classes[i])).ToList();
        var parameters = new SqlRows();
        var tuples = parameters.Tuples(rows,
            row => row.Visit.VisitId, row => row.Visit.LinkId, row => row.Visit.OwnerId, row => row.Visit.OccurredAt,
            row => row.Visit.ReferrerHost, row => row.Visit.Country, row => row.Agent.Browser, row => row.Agent.Os, row => row.Agent.Device,
            row => row.Agent.IsBot, row => VisitorKey(row.Visit.VisitorHash), row => row.Visit.Region);
        await connection.ExecuteAsync(new CommandDefinition($"""
            INSERT INTO visits (id, link_id, owner_id, occurred_at, referrer_host, country, browser, os, device, is_bot, visitor_hash, region)
            VALUES {tuples}
            """, parameters, transaction, cancellationToken: ct));
    }

    /// <summary>Stores the batch's visitors that are new for their link and day; returns the visits that brought them.</summary>
    private static async Task<HashSet<Guid>> InsertNewVisitorsAsync(MySqlConnection connection, MySqlTransaction transaction,
        List<VisitEvent> visits, CancellationToken ct)
    {
        // The first visit of each (link, day, visitor) in the batch, in time order.
        var firsts = new Dictionary<VisitorDay, Guid>();
        foreach (var visit in visits)
        {
            firsts.TryAdd(new VisitorDay(visit.LinkId, DateOnly.FromDateTime(visit.OccurredAt), visit.VisitorHash), visit.VisitId);
        }
        var days = firsts.Keys.ToList();
        days.Sort(VisitorDay.InKeyOrder);
        var known = new HashSet<VisitorDay>();
        // A few tuples at a time: MariaDB's range optimizer takes time quadratic in the tuples of one IN list (1,000 of them
        // spent over a second in "statistics", bench/visits' whole batch), while chunks of 25 cost a fraction of a millisecond each.
        // By the primary key, which locks only these rows: on a small table the optimizer took the day's index and locked
        // every visitor of the day, so that two writers blocked and deadlocked each other over rows neither wanted.
        foreach (var chunk in days.Chunk(VisitorLookupChunk))
        {
            var parameters = new SqlRows();
            var tuples = parameters.Tuples(chunk, VisitorDay.Columns);
            foreach (var row in await connection.QueryAsync<(Guid LinkId, DateTime Day, byte[] Visitor)>(new CommandDefinition(
                         $"SELECT link_id, day, visitor_hash FROM visit_visitors FORCE INDEX (PRIMARY) WHERE (link_id, day, visitor_hash) IN ({tuples}) FOR UPDATE",
                         parameters, transaction, cancellationToken: ct)))
            {
                known.Add(new VisitorDay(row.LinkId, DateOnly.FromDateTime(row.Day), BinaryPrimitives.ReadUInt64BigEndian(row.Visitor)));
            }
        }
        var fresh = days.Where(day => !known.Contains(day)).ToList();
        if (fresh.Count > 0)
        {
            var insert = new SqlRows();
            var values = insert.Tuples(fresh, VisitorDay.Columns);
            await connection.ExecuteAsync(new CommandDefinition(
                $"INSERT INTO visit_visitors (link_id, day, visitor_hash) VALUES {values}", insert, transaction, cancellationToken: ct));
        }
        return fresh.Select(day => firsts[day]).ToHashSet();
    }

    /// <summary>Adds the batch to the hourly rollups and to their daily sums, which long stats ranges read.</summary>
    private static async Task AddToRollupsAsync(MySqlConnection connection, MySqlTransaction transaction, List<VisitRollup> rollups,
        CancellationToken ct)
    {
        Func<VisitRollup, object?>[] columns =
        [
            rollup => rollup.LinkId, rollup => rollup.IsBot, rollup => rollup.Dimension, rollup => rollup.Hour, rollup => rollup.Value,
            rollup => rollup.Visits,
        ];
        var parameters = new SqlRows();
        var hourly = parameters.Tuples(rollups, columns);
        var daily = parameters.Tuples(VisitRollups.Daily(rollups), columns);
        await connection.ExecuteAsync(new CommandDefinition($"""
            INSERT INTO visit_rollups (link_id, is_bot, dimension, hour, value, visits) VALUES {hourly}
            ON DUPLICATE KEY UPDATE visits = visits + VALUES(visits);
            INSERT INTO visit_rollups_daily (link_id, is_bot, dimension, day, value, visits) VALUES {daily}
            ON DUPLICATE KEY UPDATE visits = visits + VALUES(visits)
            """, parameters, transaction, cancellationToken: ct));
    }

    /// <summary>A visitor on a link's UTC day: counted in the "visitors" rollup once.</summary>
    private readonly record struct VisitorDay(Guid LinkId, DateOnly Day, ulong Visitor)
    {
        /// <summary>The table's key order (Guid order is the order of its big-endian bytes, as Binary16 stores them).</summary>
        public static int InKeyOrder(VisitorDay x, VisitorDay y) =>
            x.LinkId != y.LinkId ? x.LinkId.CompareTo(y.LinkId) : x.Day != y.Day ? x.Day.CompareTo(y.Day) : x.Visitor.CompareTo(y.Visitor);

        public static readonly Func<VisitorDay, object?>[] Columns =
            [day => day.LinkId, day => day.Day.ToDateTime(TimeOnly.MinValue), day => VisitorKey(day.Visitor)];
    }

    private static byte[] VisitorKey(ulong hash)
    {
        var key = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(key, hash);
        return key;
    }
}

/// <summary>One increment of the hourly rollups.</summary>
internal readonly record struct VisitRollup(Guid LinkId, bool IsBot, string Dimension, DateTime Hour, string Value, long Visits)
{
    /// <summary>The rollup tables' key order (Guid order is the order of its big-endian bytes, as Binary16 stores them).</summary>
    public static int InKeyOrder(VisitRollup x, VisitRollup y)
    {
        var order = x.LinkId.CompareTo(y.LinkId);
        order = order != 0 ? order : x.IsBot.CompareTo(y.IsBot);
        order = order != 0 ? order : string.CompareOrdinal(x.Dimension, y.Dimension);
        order = order != 0 ? order : x.Hour.CompareTo(y.Hour);
        return order != 0 ? order : string.CompareOrdinal(x.Value, y.Value);
    }
}

/// <summary>How a batch of visits adds up in the rollups: per link, bot or not, dimension, UTC hour and value.</summary>
internal static class VisitRollups
{
    public const string Total = "total";
    public const string Visitors = "visitors";
    public const string Referrer = "referrer";
    public const string Country = "country";
    public const string Browser = "browser";
    public const string Os = "os";
    public const string Device = "device";

    /// <remarks>
    /// In the tables' key order, as the visitors are: writers whose batches share rows (several workers) then lock them in
    /// the same order and wait for each other, where in the order of their visits they deadlocked and wrote again.
    /// </remarks>
    public static List<VisitRollup> Of(IReadOnlyList<VisitEvent> visits, IReadOnlyList<UserAgentClass> classes, IReadOnlySet<Guid> newVisitors)
    {
        var counts = new Dictionary<(Guid, bool, string, DateTime, string), long>();
        void Add(VisitEvent visit, bool isBot, string dimension, string? value)
        {
            var hour = new DateTime(visit.OccurredAt.Year, visit.OccurredAt.Month, visit.OccurredAt.Day, visit.OccurredAt.Hour, 0, 0, DateTimeKind.Utc);
            var key = (visit.LinkId, isBot, dimension, hour, value ?? "");
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        for (var i = 0; i < visits.Count; i++)
        {
            var (visit, agent) = (visits[i], classes[i]);
            Add(visit, agent.IsBot, Total, "");
            if (newVisitors.Contains(visit.VisitId))
            {
                Add(visit, agent.IsBot, Visitors, "");
            }
            Add(visit, agent.IsBot, Referrer, visit.ReferrerHost);
            Add(visit, agent.IsBot, Country, visit.Country);
            Add(visit, agent.IsBot, Browser, agent.Browser);
            Add(visit, agent.IsBot, Os, agent.Os);
            Add(visit, agent.IsBot, Device, agent.Device);
        }
        List<VisitRollup> rollups = [.. counts.Select(pair => new VisitRollup(pair.Key.Item1, pair.Key.Item2, pair.Key.Item3, pair.Key.Item4, pair.Key.Item5, pair.Value))];
        rollups.Sort(VisitRollup.InKeyOrder);
        return rollups;
    }

    /// <summary>Hourly rollups added up per UTC day (the day's midnight in Hour).</summary>
    public static List<VisitRollup> Daily(IEnumerable<VisitRollup> hourly)
    {
        List<VisitRollup> days = [.. hourly.GroupBy(rollup => rollup with { Hour = rollup.Hour.Date, Visits = 0 })
            .Select(day => day.Key with { Visits = day.Sum(rollup => rollup.Visits) })];
        days.Sort(VisitRollup.InKeyOrder);
        return days;
    }
}
