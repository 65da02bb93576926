using System.Net.Sockets;

namespace StreamMonitor.Contracts;

/// <summary>Which exceptions of an HTTP call mean that the other side could not be reached or dropped the connection.</summary>
public static class HttpFailures
{
    /// <summary>
    /// True for a transport failure: <see cref="HttpRequestException"/>, and the <see cref="SocketException"/> or
    /// <see cref="IOException"/> that SocketsHttpHandler lets escape unwrapped when a peer resets a connection right
    /// after accepting it ("Transport endpoint is not connected" from reading the remote address), as a load balancer
    /// in front of a stopped server does. Caught as anything less, that reset stopped the InfluxDB writer and with it
    /// the service.
    /// </summary>
    public static bool IsTransport(Exception exception) => exception is HttpRequestException or SocketException or IOException;
}
