using RabbitMQ.Client;

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
}
