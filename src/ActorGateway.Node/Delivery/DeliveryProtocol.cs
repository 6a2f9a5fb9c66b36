using ActorGateway.Mail.Delivery;
using ActorGateway.Node.Serialization;

namespace ActorGateway.Node.Delivery;

/// <summary>
/// Deliver one message to the recipients at one domain; sent to a pool's router, which picks the
/// node. <paramref name="StartBy"/>: if no connection is free for it by then, it is answered "not
/// attempted" and never sent, so that its requester, who waits only so long, never sees a
/// delivery it gave up on happen afterwards (and sends it a second time).
/// </summary>
public sealed record DeliverRequest(string Domain, DeliveryJob Job, DateTimeOffset StartBy) : IGatewayMessage;

/// <summary>
/// A destination's answer. <paramref name="WaitedOut"/>: nothing was sent because no connection
/// was free before the request's start-by time; the message simply asks again.
/// <paramref name="PausedUntil"/>: nothing was sent because the destination is paused until then
/// after repeated failures; the message need not ask again before.
/// </summary>
public sealed record DeliverResult(string Domain, DeliveryOutcome Outcome, bool WaitedOut = false, DateTimeOffset? PausedUntil = null) : IGatewayMessage;

/// <summary>The pool's router knows no reachable node of the pool: nothing was tried, the message waits.</summary>
public sealed record PoolUnavailable(string Pool) : IGatewayMessage;

/// <summary>
/// What delivery on this node needs: where mail goes, from which address, how each destination
/// is shaped (<paramref name="Destination"/>, with overrides per domain), and how long a started
/// delivery may take before it is cut off (<paramref name="SendTimeout"/>).
/// </summary>
public sealed record DeliveryContext(NextHopResolver Resolver, System.Net.IPAddress? SourceAddress, string HeloName,
    TimeSpan ConnectTimeout, TimeSpan CommandTimeout, TimeSpan IdleTimeout, TimeSpan SendTimeout, DestinationSettings Destination,
    IReadOnlyDictionary<string, DestinationSettings> Destinations, IReadOnlyList<DestinationGroup> Groups,
    CertificateTrust? Trust = null)
{
    /// <summary>The shaping of a destination: a recipient domain or a provider group by name.</summary>
    public DestinationSettings For(string destination) =>
        Destinations.GetValueOrDefault(destination) ?? Groups.FirstOrDefault(g => g.Name == destination)?.Settings ?? Destination;
}

/// <summary>
/// How long a requester waits for a delivery: the most it may wait for a connection
/// (<paramref name="QueueWait"/>), then the most a started delivery may take (<paramref name="Send"/>),
/// and a margin for the answer's way back.
/// </summary>
public sealed record DeliveryTimeouts(TimeSpan QueueWait, TimeSpan Send)
{
    public TimeSpan Attempt => QueueWait + Send + TimeSpan.FromSeconds(5);
}

/// <summary>To a delivery agent: the state of each destination it delivers to.</summary>
public sealed record GetDestinationStates : IGatewayMessage;

/// <summary>One destination on one node: connections, limit, backlog, failures, pause.</summary>
public sealed record DestinationState(string Destination, int Active, int Limit, int Idle, int Queued, long Delivered, long Failed,
    int FailuresInARow, DateTimeOffset? PausedUntil, string? LastError) : IGatewayMessage;

public sealed record DestinationStates(string Node, string Pool, IReadOnlyList<DestinationState> Destinations) : IGatewayMessage;

/// <summary>A destination actor to its agent: nothing to do since the idle timeout.</summary>
public sealed record DestinationIdle(string Destination);

/// <summary>The agent to a destination actor it no longer routes to: stop unless work came in meanwhile.</summary>
public sealed class StopWhenIdle { public static readonly StopWhenIdle Instance = new(); }
