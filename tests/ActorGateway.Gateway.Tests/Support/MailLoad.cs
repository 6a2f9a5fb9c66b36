using System.Collections.Concurrent;
using MailKit.Net.Smtp;

namespace ActorGateway.Gateway.Tests.Support;

/// <summary>
/// Clients that send without pause into SMTP servers until stopped, each message with its own
/// Message-ID, and record every answer: the test then knows which ids got a 250 and must
/// arrive, and what the others were told.
/// </summary>
public sealed class MailLoad : IAsyncDisposable
{
    public sealed record Sent(string MessageId, string Reply, DateTime At);

    readonly ConcurrentQueue<Sent> _sent = new();
    readonly CancellationTokenSource _stop = new();
    readonly Task[] _clients;

    MailLoad(IReadOnlyList<(string Host, int Port)> servers, int clients, string prefix, string body)
    {
        _clients = servers.SelectMany((server, s) => Enumerable.Range(0, clients).Select(c =>
            Task.Run(() => ClientAsync(server.Host, server.Port, servers.Count == 1 ? $"{prefix}-{c}" : $"{prefix}-{s}-{c}", body)))).ToArray();
    }

    /// <param name="body">The text of every message (its size decides how much each one stores).</param>
    public static MailLoad Start(int port, int clients, string prefix, string body = "Your order has shipped.") =>
        new([("127.0.0.1", port)], clients, prefix, body);

    /// <summary>Load into several servers (the nodes of a cluster): <paramref name="clients"/> into each.</summary>
    public static MailLoad Start(IReadOnlyList<(string Host, int Port)> servers, int clients, string prefix, string body = "Your order has shipped.") =>
        new(servers, clients, prefix, body);

    public IReadOnlyList<Sent> Results => _sent.ToArray();
    public IReadOnlyList<string> Accepted => _sent.Where(s => s.Reply == "250").Select(s => s.MessageId).ToArray();
    public IReadOnlyList<Sent> Refused => _sent.Where(s => s.Reply != "250").ToArray();
    /// <summary>How many answers arrived after <paramref name="since"/> that match.</summary>
    public int Count(Func<Sent, bool> where, DateTime since) => _sent.Count(s => s.At >= since && where(s));

    async Task ClientAsync(string host, int port, string name, string body)
    {
        using var client = new SmtpClient { Timeout = 60_000 };
        for (var i = 0; !_stop.IsCancellationRequested; i++)
        {
            try
            {
                if (!client.IsConnected) await client.ConnectAsync(host, port, MailKit.Security.SecureSocketOptions.None, _stop.Token);
            }
            catch (OperationCanceledException) { return; }
            catch (Exception e)
            {
                _sent.Enqueue(new Sent("", $"connect: {e.Message}", DateTime.UtcNow));
                await Task.Delay(200);
                continue;
            }
            var id = $"{name}-{i}@test";
            var reply = await client.TrySendAsync(ClusterMail.Message(id, "alice@sender.example", $"load{i}@rcpt.example", body));
            _sent.Enqueue(new Sent(id, reply, DateTime.UtcNow));
        }
    }

    /// <summary>Stops the clients; each finishes the message it is sending.</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_clients);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested) await StopAsync();
        _stop.Dispose();
    }
}
