using ActorGateway.Smtp.Protocol;
using ActorGateway.Smtp.Session;

namespace ActorGateway.Smtp.Hooks;

/// <summary>May this sender send, may this recipient receive. The reply is sent as it is.</summary>
public interface IEnvelopeFilter
{
    ValueTask<SmtpReply> CanSendFromAsync(SmtpSessionContext session, MailFromCommand mail, CancellationToken ct);
    ValueTask<SmtpReply> CanDeliverToAsync(SmtpSessionContext session, MailFromCommand mail, RcptToCommand rcpt, CancellationToken ct);
}
