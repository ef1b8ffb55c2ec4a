using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Features.Analytics.Queue;

/// <summary>
/// The worker: takes visit messages from the quorum queue with manual acknowledgements and RabbitMQ:Prefetch
/// messages in hand, writes what has arrived as one batch (one transaction, up to Visits:BatchSize visits), up to
/// Visits:Writers batches at once, and acknowledges each message only after its batch's commit. A crash before the acknowledgement redelivers the messages, and the batch
/// writer skips the visits already stored, so nothing is counted twice. A message that is no visits message is
/// dead-lettered at once; one whose batch the database refuses is returned, and dead-lettered on its
/// RabbitMQ:DeliveryLimit-th delivery. When the service stops, the batch in hand gets Visits:ShutdownSeconds to be
/// written; the messages not yet written go back to the queue.
/// </summary>
internal sealed class VisitConsumer : BackgroundService
{
    private const string Part = "consumer";
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly VisitQueue queue;
    private readonly VisitBatchWriter writer;
    private readonly ShortlinkOptions options;
    private readonly ILogger<VisitConsumer> logger;
    private readonly Counter<long> consumed;
    private readonly Counter<long> deadLettered;

    public VisitConsumer(VisitQueue queue, VisitBatchWriter writer, IOptions<ShortlinkOptions> options, IMeterFactory meters,
        ILogger<VisitConsumer> logger)
    {
        this.queue = queue;
        this.writer = writer;
        this.options = options.Value;
        this.logger = logger;
        var meter = meters.Create(ShortlinkMetrics.MeterName);
        consumed = meter.CreateCounter<long>("shortlink.visits.consumed", "{visit}",
            "Visits taken from RabbitMQ and acknowledged after their batch was written").StartingAtZero();
        deadLettered = meter.CreateCounter<long>("shortlink.visits.dead_lettered", "{message}",
            "Visit messages sent to the dead-letter queue: not a visits message, or refused by the database on every delivery").StartingAtZero();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.QueuesVisits || options.Role == ServiceRole.Api)
        {
            return;
        }
        // The batch in hand may outlive the stop request by the shutdown time, no longer.
        using var writing = new CancellationTokenSource();
        await using var stopping = stoppingToken.Register(() => writing.CancelAfter(TimeSpan.FromSeconds(options.Visits.ShutdownSeconds)));
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ConsumeAsync(() => backoff = TimeSpan.FromMilliseconds(100), stoppingToken, writing.Token);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                queue.Disconnected(Part, exception);
            }
            try
            {
                // Real time: this paces reconnecting, it reads no date.
                await Task.Delay(backoff, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    private async Task ConsumeAsync(Action connected, CancellationToken stoppingToken, CancellationToken writingToken)
    {
        await using var connection = await queue.Factory!.CreateConnectionAsync(stoppingToken);
        await queue.DeclareAsync(connection, stoppingToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: stoppingToken);
        await channel.BasicQosAsync(0, (ushort)Math.Min(options.RabbitMq.Prefetch, ushort.MaxValue), false, stoppingToken);

        var deliveries = Channel.CreateUnbounded<Delivery>(new UnboundedChannelOptions { SingleReader = true });
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            // The body is RabbitMQ's buffer, valid only during this call: decoded here, not kept.
            deliveries.Writer.TryWrite(new Delivery(delivery.DeliveryTag, VisitMessages.TryDecode(delivery.BasicProperties, delivery.Body.Span),
                VisitMessages.DeliveriesBefore(delivery.BasicProperties), VisitMessages.TraceOf(delivery.BasicProperties)));
            return Task.CompletedTask;
        };
        channel.ChannelShutdownAsync += (_, reason) =>
        {
            deliveries.Writer.TryComplete(new IOException($"The RabbitMQ channel closed: {reason.ReplyText}"));
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(queue.Name, autoAck: false, consumer, stoppingToken);
        queue.Connected(Part);
        connected();

        using var settler = new Settler(channel);
        var writing = new List<Task>(options.Visits.Writers);
        try
        {
            while (await deliveries.Reader.WaitToReadAsync(stoppingToken))
            {
                var batch = new List<Delivery>();
                var visits = 0;
                while (visits < options.Visits.BatchSize && deliveries.Reader.TryRead(out var delivery))
                {
                    batch.Add(delivery);
                    visits += delivery.Visits?.Count ?? 0;
                }
                writing.Add(HandleAsync(settler, batch, writingToken));
                if (writing.Count == options.Visits.Writers)
                {
                    var done = await Task.WhenAny(writing);
                    writing.Remove(done);
                    await done;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the messages in hand but not written go back to the queue when the channel closes.
        }
        finally
        {
            // The batches in hand finish (or fail with the channel) before it closes; what they did not acknowledge is redelivered.
            try
            {
                await Task.WhenAll(writing);
            }
            catch (Exception exception) when (exception is OperationCanceledException || !channel.IsOpen)
            {
            }
        }
    }

    private async Task HandleAsync(Settler settler, List<Delivery> batch, CancellationToken ct)
    {
        foreach (var poison in batch.Where(delivery => delivery.Visits is null))
        {
            await DeadLetterAsync(settler, poison, "not a visits message", ct);
        }
        var messages = batch.Where(delivery => delivery.Visits is not null).ToList();
        if (messages.Count == 0)
        {
            return;
        }
        using var activity = StartProcessing(messages);
        if (await writer.TryWriteAsync([.. messages.SelectMany(message => message.Visits!)], ct))
        {
            await settler.AckAsync(messages, ct);
            consumed.Add(messages.Sum(message => message.Visits!.Count));
            return;
        }
        // One of them is refused: each alone, so that the others are written and only the refused one is retried.
        foreach (var message in messages)
        {
            if (await writer.TryWriteAsync(message.Visits!, ct))
            {
                await settler.AckAsync([message], ct);
                consumed.Add(message.Visits!.Count);
            }
            else if (message.DeliveriesBefore + 1 >= queue.DeliveryLimit)
            {
                await DeadLetterAsync(settler, message, $"refused by the database on {queue.DeliveryLimit} deliveries", ct);
            }
            else
            {
                await settler.RequeueAsync(message, ct);
            }
        }
    }

    private async Task DeadLetterAsync(Settler settler, Delivery delivery, string reason, CancellationToken ct)
    {
        await settler.RejectAsync(delivery, ct);
        deadLettered.Add(1);
        logger.LogError("A visits message was sent to {DeadLetterQueue}: {Reason}", queue.DeadLetterName, reason);
    }

    /// <summary>
    /// Settles deliveries on the channel for batches written side by side: one at a time on the channel, and each
    /// message by its own tag, since acknowledging "up to this tag" would also settle another batch's messages
    /// before that batch is written.
    /// </summary>
    private sealed class Settler(IChannel channel) : IDisposable
    {
        private readonly SemaphoreSlim gate = new(1, 1);

        public void Dispose() => gate.Dispose();

        public Task AckAsync(IEnumerable<Delivery> deliveries, CancellationToken ct) => SettleAsync(async () =>
        {
            foreach (var delivery in deliveries)
            {
                await channel.BasicAckAsync(delivery.Tag, multiple: false, ct);
            }
        }, ct);

        public Task RequeueAsync(Delivery delivery, CancellationToken ct) =>
            SettleAsync(async () => await channel.BasicNackAsync(delivery.Tag, multiple: false, requeue: true, ct), ct);

        public Task RejectAsync(Delivery delivery, CancellationToken ct) =>
            SettleAsync(async () => await channel.BasicRejectAsync(delivery.Tag, requeue: false, ct), ct);

        private async Task SettleAsync(Func<Task> settle, CancellationToken ct)
        {
            await gate.WaitAsync(ct);
            try
            {
                await settle();
            }
            finally
            {
                gate.Release();
            }
        }
    }

    /// <summary>A span for the batch, child of the first message's trace and linked to the others'.</summary>
    private static Activity? StartProcessing(List<Delivery> messages)
    {
        var traced = messages.Where(message => message.Trace != default).Select(message => message.Trace).ToList();
        var activity = ShortlinkActivities.Source.StartActivity("visits process", ActivityKind.Consumer,
            traced.FirstOrDefault(), links: traced.Skip(1).Select(trace => new ActivityLink(trace)));
        activity?.SetTag("messaging.system", "rabbitmq");
        activity?.SetTag("messaging.batch.message_count", messages.Count);
        return activity;
    }

    private readonly record struct Delivery(ulong Tag, List<VisitEvent>? Visits, long DeliveriesBefore, ActivityContext Trace);
}
