using ActorGateway.Mail.Events;

namespace ActorGateway.Node.Events;

/// <summary>
/// <c>gateway.webhooks</c>: how long one POST may take, the back-off after failures, and how
/// often each node wakes the event queues of the tenants with a webhook (after a restart or a
/// failover nothing else would start them).
/// </summary>
public sealed record WebhookSettings(TimeSpan Timeout, WebhookBackoff Backoff, TimeSpan WakeInterval)
{
    public static readonly WebhookSettings Default = new(TimeSpan.FromSeconds(10), WebhookBackoff.Default, TimeSpan.FromSeconds(30));
}
