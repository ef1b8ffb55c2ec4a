using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Shortlink.Tests.Support;

/// <summary>A fixture's visit queues on the shared RabbitMQ, read and removed the way an operator would.</summary>
internal static class TestQueues
{
    public static async Task<IConnection> ConnectAsync(string connectionString) =>
        await new ConnectionFactory { Uri = new Uri(connectionString) }.CreateConnectionAsync();

    /// <summary>Deletes the queue, its dead-letter queue and their exchanges: quorum queues are not free to keep.</summary>
    public static async Task DeleteAsync(string connectionString, string name)
    {
        await using var connection = await ConnectAsync(connectionString);
        await using var channel = await connection.CreateChannelAsync();
        foreach (var queue in new[] { name, name + ".dead" })
        {
            await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
            await channel.ExchangeDeleteAsync(queue, ifUnused: false);
        }
    }

    /// <summary>How many messages wait in a queue (ready, not those a consumer holds).</summary>
    public static async Task<uint> CountAsync(string connectionString, string queue)
    {
        await using var connection = await ConnectAsync(connectionString);
        await using var channel = await connection.CreateChannelAsync();
        return await channel.MessageCountAsync(queue);
    }

    /// <summary>
    /// Publishes as another producer would, once the fixture's service consumes the queue, and waits for RabbitMQ's
    /// confirm. The service declares its queue when it connects, in the background after it starts: a message sent
    /// before that goes to an exchange that does not exist yet and is lost without a word.
    /// </summary>
    public static async Task PublishAsync(string connectionString, string queue, BasicProperties properties, ReadOnlyMemory<byte> body)
    {
        await using var connection = await ConnectAsync(connectionString);
        await Eventually.TrueAsync(async () => await ConsumersAsync(connection, queue) > 0, TimeSpan.FromSeconds(60));
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(
            publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await channel.BasicPublishAsync(queue, queue, mandatory: true, properties, body);
    }

    private static async Task<uint> ConsumersAsync(IConnection connection, string queue)
    {
        // Asking about a queue that does not exist closes the channel, so each question has one of its own.
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            return await channel.ConsumerCountAsync(queue);
        }
        catch (OperationInterruptedException)
        {
            return 0;
        }
    }
}
