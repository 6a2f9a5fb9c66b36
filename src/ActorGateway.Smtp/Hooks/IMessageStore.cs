using ActorGateway.Smtp.Protocol;
using ActorGateway.Smtp.Session;

namespace ActorGateway.Smtp.Hooks;

/// <summary>
/// Store this message and tell me the reply. A positive reply promises the message is
/// durably stored; anything else is passed to the client as the final DATA/BDAT reply.
/// </summary>
public interface IMessageStore
{
    ValueTask<SmtpReply> SaveAsync(SmtpSessionContext session, SmtpTransaction transaction, MessageBody body, CancellationToken ct);
}
