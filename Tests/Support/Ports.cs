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
}
