using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Shortlink.Features.Links;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Features.Analytics;

/// <summary>
/// One redirected visit as the pipeline carries it. The visitor's address is already reduced to its hash; the user
/// agent is classified by the writer, off the redirect's path.
/// </summary>
internal readonly record struct VisitEvent(
    Guid VisitId,
    Guid LinkId,
    Guid OwnerId,
    string Code,
    DateTime OccurredAt,
    string? ReferrerHost,
    string? UserAgent,
    string? Country,
    ulong VisitorHash,
    string Region)
{
    /// <summary>The redirect's trace, when it is traced: carried in the message headers, never in the body.</summary>
    [JsonIgnore]
    public ActivityContext Trace { get; init; }
}

/// <summary>
/// Hands each redirected visit to a bounded in-process buffer without waiting: the redirect never waits for
/// analytics. A full buffer drops the visit and counts it (shortlink_visits_dropped_total), with one log line when
/// dropping starts and one when it stops, never one per visit.
/// </summary>
internal sealed class VisitRecorder
{
    private readonly Channel<VisitEvent> buffer;
    private readonly VisitorHashes hashes;
    private readonly VisitorCountries countries;
    private readonly VisitOptions options;
    private readonly ILogger<VisitRecorder> logger;
    private readonly Counter<long> dropped;
    private readonly Lock dropGate = new();
    private long droppedInBurst;
    private DateTime burstStarted;

    public VisitRecorder(VisitorHashes hashes, VisitorCountries countries, IOptions<ShortlinkOptions> options, IMeterFactory meters,
        ILogger<VisitRecorder> logger)
    {
        this.hashes = hashes;
        this.countries = countries;
        this.options = options.Value.Visits;
        this.logger = logger;
        buffer = Channel.CreateBounded<VisitEvent>(new BoundedChannelOptions(this.options.BufferCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var meter = meters.Create(ShortlinkMetrics.MeterName);
        meter.CreateObservableGauge("shortlink.visits.buffered", () => buffer.Reader.Count, "{visit}",
            "Visits held between the redirect and the writer");
        dropped = meter.CreateCounter<long>("shortlink.visits.dropped", "{visit}",
            "Redirected visits that were not recorded: the buffer was full, the instance stopped before writing them, or the database refused their batch");
        foreach (var reason in (string[])["buffer-full", "shutdown", "write-failed"])
        {
            dropped.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }
    }

    public ChannelReader<VisitEvent> Reader => buffer.Reader;

    /// <summary>
    /// What a visit keeps of its user agent: enough to classify any real one, and a bound on the buffer's memory that
    /// a client sending 32 KB headers cannot push (the visitor hash still takes the whole header).
    /// </summary>
    public const int MaxUserAgentLength = 512;

    /// <summary>Records a redirect answered with a 3xx to a GET; HEAD requests and refusals never become visits.</summary>
    public void Record(HttpContext context, LinkRow link, DateTime now)
    {
        if (!options.Enabled)
        {
            return;
        }
        var request = context.Request;
        var userAgent = request.Headers.UserAgent.ToString();
        var visit = new VisitEvent(
            LinkIds.Next(now),
            link.Id,
            link.OwnerId,
            link.Code,
            now,
            ReferrerHosts.Of(request.Headers.Referer.ToString()),
            userAgent.Length == 0 ? null : userAgent.Length <= MaxUserAgentLength ? userAgent : userAgent[..MaxUserAgentLength],
            countries.Of(context),
            hashes.Hash(context.Connection.RemoteIpAddress, userAgent, now),
            options.Region)
        {
            Trace = Activity.Current?.Context ?? default,
        };
        var written = buffer.Writer.TryWrite(visit);
        if (Activity.Current is { IsAllDataRequested: true } redirect)
        {
            redirect.AddEvent(new ActivityEvent(written ? "visit buffered" : "visit dropped"));
        }
        if (!written)
        {
            Dropped(1, "buffer-full");
        }
        else if (Volatile.Read(ref droppedInBurst) > 0)
        {
            EndBurst();
        }
    }

    /// <summary>Stops taking visits: those that arrive from now on are dropped and counted.</summary>
    public void Complete() => buffer.Writer.TryComplete();

    public void Dropped(long count, string reason)
    {
        dropped.Add(count, new KeyValuePair<string, object?>("reason", reason));
        lock (dropGate)
        {
            if (droppedInBurst == 0)
            {
                burstStarted = DateTime.UtcNow;
                logger.LogWarning("Visits are being dropped ({Reason}); each one is counted in shortlink_visits_dropped_total", reason);
            }
            droppedInBurst += count;
        }
    }

    private void EndBurst()
    {
        lock (dropGate)
        {
            if (droppedInBurst == 0)
            {
                return;
            }
            logger.LogInformation("Visits are recorded again; {Dropped} were dropped over {Seconds:0.0} s", droppedInBurst,
                (DateTime.UtcNow - burstStarted).TotalSeconds);
            droppedInBurst = 0;
        }
    }
}

/// <summary>The host a visitor came from, from the Referer header: only the host, lower case, never the path or query.</summary>
internal static class ReferrerHosts
{
    public static string? Of(string referrer)
    {
        var start = referrer.IndexOf("://", StringComparison.Ordinal);
        if (start <= 0)
        {
            return null;
        }
        var rest = referrer.AsSpan(start + 3);
        var end = rest.IndexOfAny("/?#");
        var authority = end < 0 ? rest : rest[..end];
        authority = authority[(authority.LastIndexOf('@') + 1)..];
        var host = authority.StartsWith("[") ? authority[..(authority.IndexOf(']') + 1)]
            : authority.IndexOf(':') is var colon and >= 0 ? authority[..colon] : authority;
        host = host.TrimEnd('.');
        if (host.IsEmpty || host.Length > 253)
        {
            return null;
        }
        foreach (var c in host)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '[' or ']' or ':'))
            {
                return null;
            }
        }
        return host.ToString().ToLowerInvariant();
    }
}
