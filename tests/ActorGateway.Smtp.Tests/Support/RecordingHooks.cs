using System.Collections.Concurrent;
using ActorGateway.Smtp.Hooks;
using ActorGateway.Smtp.Protocol;
using ActorGateway.Smtp.Session;

namespace ActorGateway.Smtp.Tests.Support;

/// <summary>A message as the store received it.</summary>
public sealed record StoredMessage(string QueueId, SmtpTransaction Transaction, byte[] Body, string? User, TlsInfo? Tls, object? Properties = null,
    string? StoredOnThread = null);

/// <summary>
/// Test hooks: one user (alice/secret), senders at "blocked.example" refused, recipients
/// "nobody@..." refused, every message kept in memory.
/// </summary>
public sealed class RecordingHooks : ISmtpAuthenticator, IEnvelopeFilter, IMessageStore
{
    public ConcurrentQueue<StoredMessage> Messages { get; } = new();
    public Func<SmtpTransaction, SmtpReply?>? StoreOverride { get; set; }
    public TimeSpan StoreDelay { get; set; }
    public bool DiscardBodies { get; set; }
    int _count;

    public SmtpHooks Hooks => new(this, this, this);

    /// <summary>When set, every AUTH is refused with it before the credentials are read.</summary>
    public SmtpReply? AuthRefusal { get; set; }

    public ValueTask<SmtpReply?> CanAuthenticateAsync(SmtpSessionContext session, CancellationToken ct) => ValueTask.FromResult(AuthRefusal);

    public ValueTask<bool> AuthenticateAsync(SmtpSessionContext session, string user, string password, CancellationToken ct)
    {
        var ok = user == "alice" && password == "secret";
        if (ok) session.Properties = $"identified as {user}"; // as the gateway caches the tenant here
        return ValueTask.FromResult(ok);
    }

    public ValueTask<SmtpReply> CanSendFromAsync(SmtpSessionContext session, MailFromCommand mail, CancellationToken ct)
        => ValueTask.FromResult(mail.Sender.Domain == "blocked.example"
            ? new SmtpReply(550, "5.7.1", "Sender refused") : SmtpReply.SenderOk);

    public ValueTask<SmtpReply> CanDeliverToAsync(SmtpSessionContext session, MailFromCommand mail, RcptToCommand rcpt, CancellationToken ct)
        => ValueTask.FromResult(rcpt.Recipient.LocalPart == "nobody"
            ? new SmtpReply(550, "5.1.1", "Recipient refused") : SmtpReply.RecipientOk);

    public async ValueTask<SmtpReply> SaveAsync(SmtpSessionContext session, SmtpTransaction transaction, MessageBody body, CancellationToken ct)
    {
        var thread = Thread.CurrentThread.Name;
        if (StoreDelay > TimeSpan.Zero) await Task.Delay(StoreDelay, ct);
        if (StoreOverride?.Invoke(transaction) is { } reply) return reply;
        var id = $"T{Interlocked.Increment(ref _count):D6}";
        Messages.Enqueue(new StoredMessage(id, transaction, DiscardBodies ? [] : body.ToArray(), session.AuthenticatedUser, session.Tls, session.Properties, thread));
        return new SmtpReply(250, "2.0.0", $"Ok: queued as {id}");
    }
}
