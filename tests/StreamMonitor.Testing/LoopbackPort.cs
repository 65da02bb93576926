using System.Net;
using System.Net.Sockets;

namespace StreamMonitor.Testing;

/// <summary>Free TCP ports on the loopback interface, for processes that must be told their port up front.</summary>
public static class LoopbackPort
{
    /// <summary>A port the OS reports free now (bind to port 0, read it, release it).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
