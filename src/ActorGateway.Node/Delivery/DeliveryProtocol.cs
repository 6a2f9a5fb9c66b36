using ActorGateway.Mail.Delivery;

namespace ActorGateway.Node.Delivery;

/// <summary>Deliver one message to the recipients at one domain (local to a node).</summary>
public sealed record DeliverRequest(string Domain, DeliveryJob Job);

public sealed record DeliverResult(string Domain, DeliveryOutcome Outcome);

/// <summary>What delivery on this node needs: where mail goes and from which address.</summary>
public sealed record DeliveryContext(NextHopResolver Resolver, System.Net.IPAddress? SourceAddress, string HeloName,
    TimeSpan ConnectTimeout, TimeSpan CommandTimeout, TimeSpan IdleTimeout);
