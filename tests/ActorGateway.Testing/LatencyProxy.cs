using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace ActorGateway.Testing;

/// <summary>
/// A receiver far away, on loopback: a TCP proxy that holds every chunk for half the round
/// trip in each direction (chunks in flight overlap, as on a real link) and delays each
/// connect by one round trip. Real MX hosts are 20-200 ms away; the kernel here cannot add
/// delay to loopback (no netem), so it is done in user space.
/// </summary>
public sealed class LatencyProxy : IAsyncDisposable
{
    readonly TcpListener _listener;
    readonly IPEndPoint _target;
    readonly TimeSpan _oneWay;
    readonly CancellationTokenSource _stop = new();
    readonly Task _accepting;
    int _connections, _active, _maxActive;

    public int Port { get; }
    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);
    /// <summary>The most connections that were open at once.</summary>
    public int MaxOpenAtOnce => Volatile.Read(ref _maxActive);

    public LatencyProxy(int targetPort, TimeSpan roundTrip)
    {
        _target = new IPEndPoint(IPAddress.Loopback, targetPort);
        _oneWay = roundTrip / 2;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(512);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            Interlocked.Increment(ref _connections);
            _ = RelayAsync(client);
        }
    }

    async Task RelayAsync(TcpClient client)
    {
        using var _ = client;
        using var server = new TcpClient();
        var open = Interlocked.Increment(ref _active);
        for (var max = Volatile.Read(ref _maxActive); open > max; max = Volatile.Read(ref _maxActive))
            if (Interlocked.CompareExchange(ref _maxActive, open, max) == max) break;
        try
        {
            await Task.Delay(_oneWay * 2, _stop.Token); // the handshake's round trip
            await server.ConnectAsync(_target, _stop.Token);
            client.NoDelay = server.NoDelay = true;
            await Task.WhenAll(PumpAsync(client.GetStream(), server), PumpAsync(server.GetStream(), client));
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
        finally { Interlocked.Decrement(ref _active); }
    }

    /// <summary>Reads chunks as they come and writes each one half a round trip later, in order.</summary>
    async Task PumpAsync(NetworkStream from, TcpClient to)
    {
        var chunks = Channel.CreateUnbounded<(long Due, byte[] Data)>();
        var writer = Task.Run(async () =>
        {
            var output = to.GetStream();
            await foreach (var (due, data) in chunks.Reader.ReadAllAsync())
            {
                var wait = TimeSpan.FromTicks(due - DateTime.UtcNow.Ticks);
                if (wait > TimeSpan.Zero) await Task.Delay(wait);
                if (data.Length == 0) { to.Client.Shutdown(SocketShutdown.Send); return; }
                await output.WriteAsync(data);
            }
        });
        try
        {
            var buffer = new byte[16384];
            int n;
            while ((n = await from.ReadAsync(buffer, _stop.Token)) > 0)
                chunks.Writer.TryWrite((DateTime.UtcNow.Ticks + _oneWay.Ticks, buffer[..n]));
            chunks.Writer.TryWrite((DateTime.UtcNow.Ticks + _oneWay.Ticks, [])); // the peer closed: so does this side, in turn
        }
        finally
        {
            chunks.Writer.TryComplete();
            try { await writer; } catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException) { }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _accepting; } catch { }
    }
}
