using ActorGateway.Mail.Delivery;
using ActorGateway.Node.Serialization;

namespace ActorGateway.Node.Delivery;

/// <summary>Deliver one message to the recipients at one domain; sent to a pool's router, which picks the node.</summary>
public sealed record DeliverRequest(string Domain, DeliveryJob Job) : IGatewayMessage;

public sealed record DeliverResult(string Domain, DeliveryOutcome Outcome) : IGatewayMessage;

/// <summary>The pool's router knows no reachable node of the pool: nothing was tried, the message waits.</summary>
public sealed record PoolUnavailable(string Pool) : IGatewayMessage;

/// <summary>What delivery on this node needs: where mail goes and from which address.</summary>
public sealed record DeliveryContext(NextHopResolver Resolver, System.Net.IPAddress? SourceAddress, string HeloName,
    TimeSpan ConnectTimeout, TimeSpan CommandTimeout, TimeSpan IdleTimeout);

/// <summary>A destination actor to its agent: nothing to do since the idle timeout.</summary>
public sealed record DestinationIdle(string Domain);

/// <summary>The agent to a destination actor it no longer routes to: stop unless work came in meanwhile.</summary>
public sealed class StopWhenIdle { public static readonly StopWhenIdle Instance = new(); }
