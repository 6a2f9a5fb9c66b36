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

    /// <summary>
    /// Null when admitted (then <see cref="Release"/> must follow), else the 421 to send. At the
    /// total limit, <paramref name="makeRoom"/> may close another session instead: the new client
    /// is then admitted at once and the count stays above the limit until that session is gone.
    /// </summary>
    public SmtpReply? TryAcquire(IPAddress client, Func<bool>? makeRoom = null)
    {
        if (_perClient.AddOrUpdate(client, 1, (_, c) => c + 1) > maxPerClient)
        {
            ReleaseClient(client);
            return SmtpReply.TooManyConnectionsFromClient;
        }
        if (Interlocked.Increment(ref _total) > maxTotal && !(makeRoom?.Invoke() ?? false))
        {
            Interlocked.Decrement(ref _total);
            ReleaseClient(client);
            return SmtpReply.TooManyConnections;
        }
        return null;
    }

    public void Release(IPAddress client)
    {
        Interlocked.Decrement(ref _total);
        ReleaseClient(client);
    }

    void ReleaseClient(IPAddress client)
    {
        if (_perClient.AddOrUpdate(client, 0, (_, c) => c - 1) <= 0)
            _perClient.TryRemove(new KeyValuePair<IPAddress, int>(client, 0));
    }
}
