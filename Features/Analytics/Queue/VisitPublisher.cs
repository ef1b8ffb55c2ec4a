using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Features.Analytics.Queue;

/// <summary>
/// Publishes the buffered visits to RabbitMQ: each batch as several messages in flight at once, persistent, on a
/// channel with publisher confirms, and taken out of the buffer for good only when RabbitMQ has confirmed every one.
/// While RabbitMQ is away the batch is retried on a new connection with backoff, and new visits wait in the buffer
/// (the redirect never waits). A batch published twice after a lost confirm is harmless: workers count by visitId.
/// </summary>
internal sealed class VisitPublisher : VisitBufferReader
{
    private const string Part = "publisher";
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Gathering = TimeSpan.FromMilliseconds(50);

    private readonly VisitQueue queue;
    private readonly int visitsPerMessage;
    private readonly Counter<long> published;
    private readonly Counter<long> confirmed;
    private IConnection? connection;
    private IChannel? channel;

    public VisitPublisher(VisitRecorder recorder, VisitQueue queue, IOptions<ShortlinkOptions> options, IMeterFactory meters,
        ILogger<VisitPublisher> logger) : base(recorder, options.Value.Visits, logger)
    {
        this.queue = queue;
        visitsPerMessage = options.Value.RabbitMq.VisitsPerMessage;
        Runs = options.Value is { Visits.Enabled: true, QueuesVisits: true, ServesApi: true };
        var meter = meters.Create(ShortlinkMetrics.MeterName);
        published = meter.CreateCounter<long>("shortlink.visits.published", "{visit}",
            "Visits sent to RabbitMQ, again each time a batch is sent again after a failure").StartingAtZero();
        confirmed = meter.CreateCounter<long>("shortlink.visits.confirmed", "{visit}",
            "Visits RabbitMQ confirmed it holds: from here on they survive this instance").StartingAtZero();
    }

    protected override bool Runs { get; }

    /// <summary>
    /// Fewer visits than a message holds wait 50 ms for more. Sent the moment they arrive, a steady 5,000 visits/s went
    /// out as messages of about 18 (bench/visits), and RabbitMQ and the workers paid per message and per transaction for
    /// batches a tenth of their size: the lag p99 grew to 10 s.
    /// </summary>
    protected override Task GatherAsync(CancellationToken ct) =>
        Recorder.Reader.Count < visitsPerMessage ? Task.Delay(Gathering, ct) : Task.CompletedTask;

    protected override async Task HandleAsync(List<VisitEvent> batch, CancellationToken ct)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                var open = await ChannelAsync(ct);
                await PublishAsync(open, batch, ct);
                queue.Connected(Part);
                confirmed.Add(batch.Count);
                return;
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                queue.Disconnected(Part, exception);
                await CloseAsync();
            }
            // Real time: this paces reconnecting, it reads no date.
            await Task.Delay(backoff, ct);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    /// <summary>All of the batch's messages go out before the first confirm is awaited: one round trip per batch, not per message.</summary>
    private async Task PublishAsync(IChannel open, List<VisitEvent> batch, CancellationToken ct)
    {
        var confirms = new List<Task>((batch.Count + visitsPerMessage - 1) / visitsPerMessage);
        for (var start = 0; start < batch.Count; start += visitsPerMessage)
        {
            var visits = batch.GetRange(start, Math.Min(visitsPerMessage, batch.Count - start));
            using var activity = ShortlinkActivities.Source.StartActivity("visits publish", ActivityKind.Producer,
                visits.Find(visit => visit.Trace != default).Trace);
            activity?.SetTag("messaging.system", "rabbitmq");
            activity?.SetTag("messaging.destination.name", queue.Name);
            activity?.SetTag("messaging.batch.message_count", visits.Count);
            var trace = activity?.Context ?? visits.Find(visit => visit.Trace != default).Trace;
            confirms.Add(open.BasicPublishAsync(queue.Name, queue.Name, mandatory: true, VisitMessages.Properties(trace),
                VisitMessages.Encode(visits), ct).AsTask());
            published.Add(visits.Count);
        }
        await Task.WhenAll(confirms);
    }

    private async Task<IChannel> ChannelAsync(CancellationToken ct)
    {
        if (channel is { IsOpen: true })
        {
            return channel;
        }
        await CloseAsync();
        connection = await queue.Factory!.CreateConnectionAsync(ct);
        await queue.DeclareAsync(connection, ct);
        channel = await connection.CreateChannelAsync(new CreateChannelOptions(
            publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), ct);
        return channel;
    }

    private async Task CloseAsync()
    {
        var (oldChannel, oldConnection) = (channel, connection);
        (channel, connection) = (null, null);
        foreach (var disposable in new IAsyncDisposable?[] { oldChannel, oldConnection })
        {
            try
            {
                if (disposable is not null)
                {
                    await disposable.DisposeAsync();
                }
            }
            catch (Exception)
            {
                // It is being thrown away because it failed; closing it may fail the same way.
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await CloseAsync();
    }
}
