using System.Collections.Concurrent;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Features.Analytics.Queue;

/// <summary>
/// Where visits travel between the instances that redirect and the workers that write them: a durable direct
/// exchange and a quorum queue of the same name (RabbitMQ:VisitsQueue), persistent messages, and a dead-letter
/// exchange and queue ("NAME.dead") for messages delivered RabbitMQ:DeliveryLimit times without being written.
/// Quorum, because RabbitMQ 3.10's classic queues have no delivery limit and do not replicate.
/// </summary>
internal sealed class VisitQueue
{
    private readonly RabbitMqOptions options;
    private readonly Outages outages;
    private readonly ILogger<VisitQueue> logger;
    private readonly ConcurrentDictionary<string, bool> connected = new();

    public VisitQueue(IOptions<ShortlinkOptions> options, Outages outages, ILogger<VisitQueue> logger)
    {
        this.logger = logger;
        this.options = options.Value.RabbitMq;
        this.outages = outages;
        Name = this.options.VisitsQueue;
        DeadLetterName = Name + ".dead";
        if (options.Value.QueuesVisits)
        {
            Factory = new ConnectionFactory
            {
                Uri = new Uri(this.options.ConnectionString),
                // Reconnecting is ours, in one loop per publisher and consumer: the client's own recovery does not
                // cover the first connection, and two mechanisms would disagree about unconfirmed messages.
                AutomaticRecoveryEnabled = false,
                TopologyRecoveryEnabled = false,
                RequestedHeartbeat = TimeSpan.FromSeconds(10),
                ClientProvidedName = $"shortlink {Environment.MachineName} ({options.Value.Role})",
            };
        }
    }

    public string Name { get; }

    public string DeadLetterName { get; }

    public int DeliveryLimit => options.DeliveryLimit;

    /// <summary>Null when no RabbitMQ is configured.</summary>
    public ConnectionFactory? Factory { get; }

    public Outage Outage => outages.RabbitMq;

    /// <summary>
    /// Declares the exchanges and queues; idempotent, so every connection does it and none depends on setup order. A
    /// queue that exists with other arguments (RabbitMQ:DeliveryLimit changed since it was created) is used as it is:
    /// RabbitMQ cannot change a queue's arguments, and visits must not wait for a migration.
    /// </summary>
    public async Task DeclareAsync(IConnection connection, CancellationToken ct)
    {
        await using (var channel = await connection.CreateChannelAsync(cancellationToken: ct))
        {
            await channel.ExchangeDeclareAsync(DeadLetterName, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: ct);
            await channel.QueueDeclareAsync(DeadLetterName, durable: true, exclusive: false, autoDelete: false,
                new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, cancellationToken: ct);
            await channel.QueueBindAsync(DeadLetterName, DeadLetterName, "", cancellationToken: ct);
            await channel.ExchangeDeclareAsync(Name, ExchangeType.Direct, durable: true, autoDelete: false, cancellationToken: ct);
            try
            {
                await channel.QueueDeclareAsync(Name, durable: true, exclusive: false, autoDelete: false, new Dictionary<string, object?>
                {
                    ["x-queue-type"] = "quorum",
                    ["x-delivery-limit"] = options.DeliveryLimit,
                    ["x-dead-letter-exchange"] = DeadLetterName,
                }, cancellationToken: ct);
                await channel.QueueBindAsync(Name, Name, Name, cancellationToken: ct);
                return;
            }
            catch (OperationInterruptedException exception) when (exception.ShutdownReason?.ReplyCode == Constants.PreconditionFailed)
            {
                logger.LogWarning("The queue {Queue:l} exists with other arguments than this configuration's and is used as it is ({Reason:l}); "
                    + "to apply RabbitMQ:DeliveryLimit, drain and delete the queue (a delivery-limit policy can only lower it)", Name,
                    exception.ShutdownReason.ReplyText);
            }
        }
        // The refusal closed that channel.
        await using var existing = await connection.CreateChannelAsync(cancellationToken: ct);
        await existing.QueueDeclarePassiveAsync(Name, ct);
        await existing.QueueBindAsync(Name, Name, Name, cancellationToken: ct);
    }

    /// <summary>Marks a part (publisher, consumer) of this instance as connected or not, for /health/ready and the log.</summary>
    public void Connected(string part)
    {
        connected[part] = true;
        if (connected.Values.All(up => up))
        {
            outages.RabbitMq.Succeeded();
        }
    }

    public void Disconnected(string part, Exception cause)
    {
        connected[part] = false;
        outages.RabbitMq.Failed(cause);
    }

    /// <summary>True when every part that has tried to connect is connected.</summary>
    public bool IsConnected => connected.Values.All(up => up);
}

/// <summary>RabbitMQ down is "degraded", never "unhealthy": redirects go on, and the buffer holds the visits meanwhile.</summary>
internal sealed class VisitQueueHealthCheck(VisitQueue queue, VisitRecorder recorder) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(queue.Factory is null ? HealthCheckResult.Healthy("No RabbitMQ is configured; visits are written in process.")
            : queue.IsConnected ? HealthCheckResult.Healthy()
            : HealthCheckResult.Degraded($"RabbitMQ is unavailable; {recorder.Reader.Count} visits wait in the buffer."));
}
