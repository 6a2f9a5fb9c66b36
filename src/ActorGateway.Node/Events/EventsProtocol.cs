using ActorGateway.Mail.Events;
using ActorGateway.Node.Serialization;

namespace ActorGateway.Node.Events;

/// <summary>Every command to a tenant's event queue names the tenant (the sharding key).</summary>
public interface ITenantEventsCommand : IGatewayMessage { string Tenant { get; } }

/// <summary>Queue this event for the tenant's webhook (answered with nothing: the sender never waits).</summary>
public sealed record EmitEvent(string Tenant, DeliveryEvent Event) : ITenantEventsCommand;

/// <summary>Start sending what is pending (after a restart or failover), unless already at it.</summary>
public sealed record WakeTenantEvents(string Tenant) : ITenantEventsCommand;

// ---- events (the journal of one tenant's queue) ----
public sealed record EventQueued(DeliveryEvent Event) : IGatewayMessage;
/// <summary>The receiver answered 2xx.</summary>
public sealed record EventSent(string Id) : IGatewayMessage;
/// <summary>Given up: too old after a failure, or the tenant has no webhook any more.</summary>
public sealed record EventDropped(string Id, string Reason) : IGatewayMessage;

/// <summary>Snapshot: the events still pending, in order (the journal before it is deleted).</summary>
public sealed record PendingEvents(IReadOnlyList<DeliveryEvent> Events) : IGatewayMessage;
