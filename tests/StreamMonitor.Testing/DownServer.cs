using System.Net;
using System.Net.Sockets;

namespace StreamMonitor.Testing;

/// <summary>
/// Stands in for a stopped server on its loopback port until disposed: it listens there and resets every connection
/// at once, so a client sees the server down. Left free instead, the port could be handed by the kernel to a server
/// another test starts meanwhile (a free port is asked for with port 0), which would then answer in its place.
/// </summary>
public sealed class DownServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Task _resetting;

    private DownServer(TcpListener listener)
    {
        _listener = listener;
        _resetting = ResetAllAsync();
    }

    /// <summary>Takes <paramref name="port"/> on 127.0.0.1; retries for a few seconds while the stopped server still releases it.</summary>
    public static async Task<DownServer> HoldAsync(int port)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            try
            {
                listener.Start();
                return new DownServer(listener);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse && DateTime.UtcNow < deadline)
            {
                listener.Dispose();
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Frees the port for the server to start again on it.</summary>
    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _resetting;
        _listener.Dispose();
    }

    private async Task ResetAllAsync()
    {
        try
        {
            while (true)
            {
                using var connection = await _listener.AcceptSocketAsync();
                // Linger 0: closing sends a reset and leaves no TIME_WAIT that would keep the server from the port.
                connection.LingerState = new LingerOption(true, 0);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }
}
