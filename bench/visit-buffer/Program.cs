// Bytes per buffered visit: fills the visit recorder's own buffer (a Channel of VisitEvent, Visits:BufferCapacity) through
// VisitRecorder.Record, as the redirect does, and reads the managed heap after a full, compacting collection before and
// after. Two kinds of visit: "minimal" carries no user agent or referrer (as wrk sends), so only the event itself and the
// buffer's storage count; "typical" carries a user agent string of its own, as every new visitor's request has, and a
// referrer. Also the bytes Record itself allocates per visit, measured past the buffer's last growth (the channel keeps
// its visits in an array that doubles), and the bytes a visit takes in a RabbitMQ message. Prints one JSON line.
// Usage: dotnet VisitBuffer.dll [CAPACITY]
using System.Diagnostics.Metrics;
using System.Net;
using System.Runtime;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Shortlink.Features.Analytics;
using Shortlink.Features.Links;
using Shortlink.Infrastructure;

var capacity = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : new VisitOptions().BufferCapacity;
const string UserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

var (minimal, minimalRecord) = Measure(typical: false);
var (typical, typicalRecord) = Measure(typical: true);
Console.WriteLine(JsonSerializer.Serialize(new
{
    capacity,
    eventStructBytes = Unsafe.SizeOf<VisitEvent>(),
    minimalBytesPerEvent = minimal / capacity,
    typicalBytesPerEvent = typical / capacity,
    typicalUserAgentChars = UserAgent.Length,
    minimalMegabytes = minimal / 1_048_576.0,
    typicalMegabytes = typical / 1_048_576.0,
    minimalRecordAllocatedBytes = minimalRecord,
    typicalRecordAllocatedBytes = typicalRecord,
    messageBytesPerVisit = MessageBytesPerVisit(typical: false),
    typicalMessageBytesPerVisit = MessageBytesPerVisit(typical: true),
}));

// The body of one full RabbitMQ message (RabbitMq:VisitsPerMessage visits), per visit.
double MessageBytesPerVisit(bool typical)
{
    var visitsPerMessage = new RabbitMqOptions().VisitsPerMessage;
    var visits = Enumerable.Range(0, visitsPerMessage).Select(i => new VisitEvent(Guid.CreateVersion7(), Guid.CreateVersion7(),
        Guid.CreateVersion7(), "AbCdEf1", DateTime.UtcNow, typical ? "www.example.org" : null,
        typical ? string.Concat(UserAgent.AsSpan(0, UserAgent.Length - 6), i.ToString("D6")) : null, typical ? "DE" : null,
        (ulong)Random.Shared.NextInt64(), "")).ToList();
    return Shortlink.Features.Analytics.Queue.VisitMessages.Encode(visits).Length / (double)visitsPerMessage;
}

(long Bytes, double RecordAllocated) Measure(bool typical)
{
    var options = Options.Create(new ShortlinkOptions { Visits = { Enabled = true, BufferCapacity = capacity } });
    using var meters = new MeterFactory();
    // The database and outages serve only the salts' sharing, which this never starts: each day gets a salt of its own.
    var hashes = new VisitorHashes(null!, null!, options, TimeProvider.System, NullLogger<VisitorHashes>.Instance);
    var link = new LinkRow(Guid.CreateVersion7(), "short.example", "AbCdEf1", Guid.CreateVersion7(), "https://example.com/target", null, 302,
        false, null, null, null, 0, DateTime.UtcNow, DateTime.UtcNow);
    var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
    context.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.7");
    var before = HeapAfterFullCollection();
    // No country file configured: lookups answer unknown at once, as on a deployment without one.
    using var countries = new VisitorCountries(options, NullLogger<VisitorCountries>.Instance);
    var recorder = new VisitRecorder(hashes, countries, options, meters, NullLogger<VisitRecorder>.Instance);
    // From just past the last doubling of the buffer's array to the end, Record's allocations are its own.
    var quietFrom = (int)Math.Min(capacity - 1, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity) / 2 + 1);
    long allocatedAtQuietFrom = 0, userAgentBytes = 0;
    for (var i = 0; i < capacity; i++)
    {
        if (i == quietFrom)
        {
            allocatedAtQuietFrom = GC.GetAllocatedBytesForCurrentThread();
        }
        if (typical)
        {
            // Kestrel makes a string of each request's header values: one user agent string per visitor.
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            context.Request.Headers.UserAgent = string.Concat(UserAgent.AsSpan(0, UserAgent.Length - 6), (i % 1_000_000).ToString("D6"));
            userAgentBytes += i >= quietFrom ? GC.GetAllocatedBytesForCurrentThread() - allocatedBefore : 0;
            context.Request.Headers.Referer = "https://www.example.org/some/page?q=1";
        }
        recorder.Record(context, link, DateTime.UtcNow);
    }
    // The user agent strings stand for Kestrel's; they are not Record's.
    var recordAllocated = (GC.GetAllocatedBytesForCurrentThread() - allocatedAtQuietFrom - userAgentBytes) / (double)(capacity - quietFrom);
    if (recorder.Reader.Count != capacity)
    {
        throw new InvalidOperationException($"the buffer holds {recorder.Reader.Count} visits, not {capacity}");
    }
    var bytes = HeapAfterFullCollection() - before;
    GC.KeepAlive(recorder);
    return (bytes, recordAllocated);
}

static long HeapAfterFullCollection()
{
    GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
    GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    GC.WaitForPendingFinalizers();
    GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    return GC.GetTotalMemory(forceFullCollection: false);
}

internal sealed class MeterFactory : IMeterFactory
{
    private readonly List<Meter> meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options);
        meters.Add(meter);
        return meter;
    }

    public void Dispose() => meters.ForEach(meter => meter.Dispose());
}
