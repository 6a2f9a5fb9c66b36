using ActorGateway.Mail.Bounce;
using Akka.Actor;
using MimeKit;

namespace ActorGateway.Node.Pipeline;

/// <summary>An NDR to queue: about which message, for which failed recipients, and why (the text's explanation).</summary>
public sealed record NdrRequest(string QueueId, string Tenant, BouncedMessage Original, IReadOnlyList<FailedRecipient> Failed, string Reason);

/// <summary>
/// Mail the gateway writes itself: NDRs (a recipient failed, the message expired or was
/// bounced by the operator, a virus was found) and notices to operations (blacklist listings).
/// Each is queued through this node's intake as a message of its own, stored before it counts
/// as sent, and delivered through the good pool like any other.
/// </summary>
public sealed class GatewayMail(Func<IActorRef> intake, string reportingMta)
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>An RFC 3464 report from the null sender to the original sender. Null when it is stored, else why not.</summary>
    public Task<string?> QueueNdrAsync(NdrRequest request)
    {
        var ndr = NdrBuilder.Build(request.Original, request.Failed, reportingMta, request.Reason);
        return QueueAsync(request.QueueId, MessageEnvelope.BounceTo(request.Tenant, request.Original.Sender), NdrBuilder.ToBytes(ndr));
    }

    /// <summary>A plain-text notice from <paramref name="from"/> (tenant "gateway"), with a new queue id. Null when it is stored, else why not.</summary>
    public Task<string?> QueueNoticeAsync(string queueId, string from, string to, string subject, string text)
    {
        var message = new MimeMessage { Subject = subject, Date = DateTimeOffset.UtcNow };
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        message.Body = new TextPart("plain") { Text = text };
        var envelope = new MessageEnvelope("gateway", from, [new QueuedRecipient(to, 0, null)], null, false, false, DateTimeOffset.UtcNow, "local", IsBounce: false);
        return QueueAsync(queueId, envelope, NdrBuilder.ToBytes(message));
    }

    /// <summary>A message the gateway wrote (e.g. a TLS report) from <paramref name="from"/> to <paramref name="to"/> (tenant "gateway"). Null when it is stored, else why not.</summary>
    public Task<string?> QueueMessageAsync(string queueId, string from, string to, MimeMessage message)
    {
        var envelope = new MessageEnvelope("gateway", from, [new QueuedRecipient(to, 0, null)], null, false, false, DateTimeOffset.UtcNow, "local", IsBounce: false);
        return QueueAsync(queueId, envelope, NdrBuilder.ToBytes(message));
    }

    async Task<string?> QueueAsync(string queueId, MessageEnvelope envelope, byte[] bytes)
    {
        try
        {
            var reply = await intake().Ask<object>(new AcceptMessage(queueId, envelope, bytes), Timeout);
            return reply is MessageStored ? null : reply is MessageNotStored n ? n.Reason : reply.ToString();
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            return e.Message;
        }
    }
}
