using System.Net;
using System.Net.Sockets;

namespace Shortlink.Tests.Support;

internal static class Ports
{
    /// <summary>A loopback port free at this moment, for a server the test is about to start.</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>True when something accepts connections on the loopback port.</summary>
    public static bool IsListening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The lowest port the kernel hands out to outgoing connections (Linux: ip_local_port_range).</summary>
    public static int EphemeralLow { get; } =
        File.Exists("/proc/sys/net/ipv4/ip_local_port_range")
        && int.TryParse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split('\t', ' ')[0], out var low)
            ? low
            : 32_768;

    /// <summary>
    /// Consecutive loopback ports free at this moment, below the kernel's ephemeral range, where no outgoing connection of
    /// the suite's takes one: for servers a test stops and starts again on the same ports.
    /// </summary>
    public static int FreeConsecutive(int count)
    {
        while (true)
        {
            var first = Random.Shared.Next(10_000, EphemeralLow - count);
            if (Enumerable.Range(first, count).All(IsFree))
            {
                return first;
            }
        }
    }

    /// <summary>True when a server could bind the loopback port now: nothing listens on it and no connection holds it.</summary>
    public static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
