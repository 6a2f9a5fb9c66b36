using System.Collections.Concurrent;
using System.Net;
using ActorGateway.Smtp.Protocol;

namespace ActorGateway.Smtp.Hosting;

/// <summary>Counts open sessions overall and per client address; over a limit the client gets 421.</summary>
sealed class ConnectionLimiter(int maxTotal, int maxPerClient)
{
    readonly ConcurrentDictionary<IPAddress, int> _perClient = new();
    int _total;

    public int Open => Volatile.Read(ref _total);

    /// <summary>Null when admitted (then <see cref="Release"/> must follow), else the 421 to send.</summary>
    public SmtpReply? TryAcquire(IPAddress client)
    {
        if (Interlocked.Increment(ref _total) > maxTotal)
        {
            Interlocked.Decrement(ref _total);
            return SmtpReply.TooManyConnections;
        }
        var n = _perClient.AddOrUpdate(client, 1, (_, c) => c + 1);
        if (n > maxPerClient)
        {
            Release(client);
            return SmtpReply.TooManyConnectionsFromClient;
        }
        return null;
    }

    public void Release(IPAddress client)
    {
        Interlocked.Decrement(ref _total);
        if (_perClient.AddOrUpdate(client, 0, (_, c) => c - 1) <= 0)
            _perClient.TryRemove(new KeyValuePair<IPAddress, int>(client, 0));
    }
}
