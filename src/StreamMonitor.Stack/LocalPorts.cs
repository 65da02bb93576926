using System.Net;
using System.Net.Sockets;

namespace StreamMonitor.Stack;

/// <summary>Free loopback ports for child services (chosen by the OS, so parallel runs never collide).</summary>
public static class LocalPorts
{
    /// <summary>A port that was free a moment ago.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
