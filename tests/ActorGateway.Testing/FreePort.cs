using System.Net;
using System.Net.Sockets;

namespace ActorGateway.Testing;

/// <summary>
/// A free TCP port on a loopback address, for programs that cannot bind port 0 themselves.
/// Ports come from below the kernel's ephemeral range: a port the kernel picked for a bind to 0
/// is free only until the next outgoing connection takes it as its local port, which happened
/// between picking a node's port and the node binding it. Each port is handed out once per run.
/// </summary>
public static class FreePort
{
    static readonly (int Low, int High)? Range = ChooseRange();
    // Each test process starts at its own place in the range, so two test projects running
    // side by side rarely try the same port (the bind check below catches the rest).
    static int _cursor = Environment.ProcessId * 7919 % 10000;

    public static int Next(string address = "127.0.0.1")
    {
        var ip = IPAddress.Parse(address);
        if (Range is not var (low, high)) return KernelPicked(ip);
        var size = high - low + 1;
        for (var tries = 0; tries < 2000; tries++)
        {
            var port = low + (int)((uint)Interlocked.Increment(ref _cursor) % (uint)size);
            if (IsFree(ip, port)) return port;
        }
        throw new InvalidOperationException($"no free port in {low}-{high} on {address}");
    }

    static int KernelPicked(IPAddress ip)
    {
        using var l = new TcpListener(ip, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    static bool IsFree(IPAddress ip, int port)
    {
        try
        {
            // TCP and UDP both: DNS servers bind the port for both.
            using var tcp = new TcpListener(ip, port);
            tcp.Start();
            using var udp = new UdpClient(new IPEndPoint(ip, port));
            return true;
        }
        catch (SocketException) { return false; }
    }

    /// <summary>The ports below the ephemeral range (Linux's default is 32768-60999), if there is room.</summary>
    static (int, int)? ChooseRange()
    {
        var low = 32768;
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
                .Split((char[])[' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries);
            low = int.Parse(parts[0]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        // Room for a test run's few thousand ports above the registered services most hosts run.
        if (low > 22000) return (20000, low - 1);
        if (low > 12000) return (10000, low - 1);
        return null;
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
