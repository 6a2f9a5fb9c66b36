using ActorGateway.Smtp.Hooks;
using ActorGateway.Smtp.Hosting;
using ActorGateway.Smtp.Protocol;
using ActorGateway.Smtp.Session;

// Usage: ActorGateway.Smtp.Bench PORT — serves SMTP on 127.0.0.1:PORT until SIGTERM or Ctrl-C.
// Sessions on the sockets' event loop, the stand-alone host's mode (SocketEventLoop).
SocketEventLoop.UseInlineCompletions();
var port = int.Parse(args[0]);
var options = new SmtpServerOptions
{
    ServerName = "bench.local",
    Endpoints = [new SmtpEndpointOptions { Address = "127.0.0.1", Port = port }],
    MaxConnections = 2000, MaxConnectionsPerClient = 2000, MaxJunkCommands = 1000,
};
await using var host = await SmtpServerHost.StartAsync(options, new SmtpHooks(Discard.Instance, Discard.Instance, Discard.Instance));
Console.WriteLine($"listening on {host.EndPoints[0]}");
await host.WaitForShutdownAsync();

/// <summary>Accepts everything and keeps nothing, so only the protocol layer is measured.</summary>
sealed class Discard : ISmtpAuthenticator, IEnvelopeFilter, IMessageStore
{
    public static readonly Discard Instance = new();
    long _n;
    public ValueTask<bool> AuthenticateAsync(SmtpSessionContext s, string u, string p, CancellationToken ct) => ValueTask.FromResult(true);
    public ValueTask<SmtpReply> CanSendFromAsync(SmtpSessionContext s, MailFromCommand m, CancellationToken ct) => ValueTask.FromResult(SmtpReply.SenderOk);
    public ValueTask<SmtpReply> CanDeliverToAsync(SmtpSessionContext s, MailFromCommand m, RcptToCommand r, CancellationToken ct) => ValueTask.FromResult(SmtpReply.RecipientOk);
    public ValueTask<SmtpReply> SaveAsync(SmtpSessionContext s, SmtpTransaction t, MessageBody b, CancellationToken ct)
        => ValueTask.FromResult(new SmtpReply(250, "2.0.0", $"Ok: queued as {Interlocked.Increment(ref _n)}"));
}
