using System.Net;
using System.Net.Sockets;

namespace ActorGateway.Testing;

/// <summary>A free TCP port on a loopback address, for programs that cannot bind port 0 themselves.</summary>
public static class FreePort
{
    public static int Next(string address = "127.0.0.1")
    {
        using var l = new TcpListener(IPAddress.Parse(address), 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Waits until something accepts TCP connections on the port.</summary>
    public static async Task WaitUntilListeningAsync(string address, int port, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Parse(address), port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < until) { await Task.Delay(50); }
        }
    }
}
