using ActorGateway.Mail.Delivery;
using ActorGateway.Mail.Events;
using ActorGateway.Mail.Tenants;
using ActorGateway.Node.Pipeline;
using ActorGateway.Node.Retention;
using Akka.Actor;

namespace ActorGateway.Node.Events;

/// <summary>
/// Where delivery events originate: turns an attempt's recorded answers and an SMTP refusal
/// into <see cref="DeliveryEvent"/>s for the tenants whose webhook wants them, and tells them
/// to the tenant's queue (<see cref="TenantEvents"/>). A tell only: neither SMTP acceptance nor
/// delivery ever waits for it. A tenant without a webhook costs one lookup.
/// </summary>
public sealed class DeliveryEvents(Func<TenantDirectory> tenants, Func<IActorRef?> region)
{
    /// <summary>No events anywhere (tests of other parts, tools).</summary>
    public static readonly DeliveryEvents None = new(() => new TenantDirectory([]), () => null);

    TenantWebhook? WebhookOf(string tenant) => tenants().All.FirstOrDefault(t => t.Id == tenant)?.Webhook;

    /// <summary>One event per recipient of a journaled attempt: delivered, deferred or bounced.</summary>
    public void Attempted(string queueId, MessageEnvelope envelope, byte[] body, AttemptRecorded recorded)
    {
        if (envelope.IsBounce || WebhookOf(envelope.Tenant) is not { } webhook || region() is not { } events) return;
        string? messageId = null;
        var parsed = false;
        for (var i = 0; i < recorded.Results.Count; i++)
        {
            var r = recorded.Results[i];
            // Waiting for a free connection says nothing about the receiver: not an event.
            if (r.NotAttempted) continue;
            var type = r.Status switch
            {
                RecipientStatus.Delivered => DeliveryEventTypes.Delivered,
                RecipientStatus.Deferred => DeliveryEventTypes.Deferred,
                _ => DeliveryEventTypes.Bounced,
            };
            if (!webhook.Wants(type)) continue;
            if (!parsed) { messageId = DeliveryRecord.MessageIdOf(body); parsed = true; }
            // Derived from what it reports, so the same answer emitted twice is one event.
            var id = $"{queueId}.{recorded.Attempt}.{i + 1}";
            events.Tell(new EmitEvent(envelope.Tenant, new DeliveryEvent(id, type, recorded.At, envelope.Tenant, queueId, messageId,
                envelope.Sender, r.Recipient, r.StatusCode, r.Diagnostic, r.RemoteMta, recorded.Attempt)));
        }
    }

    /// <summary>
    /// The client got a refusal (4xx or 5xx) at MAIL FROM or at the end of DATA: one event per
    /// recipient known then (one without a recipient at MAIL FROM), with the reply it got.
    /// </summary>
    public void Refused(Tenant tenant, string client, string? queueId, string sender, IReadOnlyList<string> recipients,
        Func<byte[]?> body, ActorGateway.Smtp.Protocol.SmtpReply reply)
    {
        if (tenant.Webhook is not { } webhook || !webhook.Wants(DeliveryEventTypes.Refused) || region() is not { } events) return;
        var messageId = body() is { } bytes ? DeliveryRecord.MessageIdOf(bytes) : null;
        var id = Guid.NewGuid().ToString("N");
        var now = DateTimeOffset.UtcNow;
        var status = reply.Status ?? (reply.Code >= 500 ? "5.0.0" : "4.0.0");
        IReadOnlyList<string?> each = recipients.Count == 0 ? [null] : recipients;
        for (var i = 0; i < each.Count; i++)
            events.Tell(new EmitEvent(tenant.Id, new DeliveryEvent(each.Count == 1 ? id : $"{id}.{i + 1}", DeliveryEventTypes.Refused, now, tenant.Id,
                queueId, messageId, sender, each[i], status, reply.ToString(), Client: client)));
    }
}
